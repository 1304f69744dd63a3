"""The organizations' list is newest first: an index on (created_at, id) serves its pages, near and far
(id first, admin/large_list.py), instead of sorting 200,000 rows for each.

Built concurrently on PostgreSQL, so that an upgrade does not hold up registrations; an interrupted
build leaves an invalid index, which the next upgrade drops and builds again.

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op

revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None

NAME = "ix_organizations_created_at"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        op.create_index(NAME, "organizations", ["created_at", "id"])
        return
    with op.get_context().autocommit_block():  # CREATE INDEX CONCURRENTLY: outside a transaction
        state = op.get_bind().execute(
            sa.text(
                "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                "WHERE c.relname = :name"
            ),
            {"name": NAME},
        ).scalar()
        if state is True:
            return
        if state is False:
            op.drop_index(NAME, table_name="organizations", postgresql_concurrently=True)
        op.create_index(NAME, "organizations", ["created_at", "id"], postgresql_concurrently=True)


def downgrade() -> None:
    op.drop_index(NAME, table_name="organizations")
