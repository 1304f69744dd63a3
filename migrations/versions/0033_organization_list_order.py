"""The organizations' list is newest first: an index on (created_at, id) serves its pages, near and far
(id first, admin/large_list.py), instead of sorting 200,000 rows for each.

Built concurrently on PostgreSQL, so that an upgrade does not hold up registrations; an interrupted
build leaves an invalid index, which the next upgrade drops and builds again.

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-08
"""

from alembic import op

from backoffice.migration_helpers import create_index_concurrently

revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None

NAME = "ix_organizations_created_at"


def upgrade() -> None:
    create_index_concurrently(NAME, "organizations", ["created_at", "id"])


def downgrade() -> None:
    op.drop_index(NAME, table_name="organizations")
