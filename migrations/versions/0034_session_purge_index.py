"""Sessions are purged 30 days after they began (backoffice/sessions.py): an index on created_at lets the
purge find them without reading every session, which at national scale is millions of rows.

Built concurrently on PostgreSQL, so that an upgrade does not hold up logins; an interrupted build
leaves an invalid index, which the next upgrade drops and builds again.

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op

revision = "0034"
down_revision = "0033"
branch_labels = None
depends_on = None

TABLES = ("portal_sessions", "operator_sessions")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        for table in TABLES:
            op.create_index(op.f(f"ix_{table}_created_at"), table, ["created_at"])
        return
    with op.get_context().autocommit_block():  # CREATE INDEX CONCURRENTLY: outside a transaction
        for table in TABLES:
            name = op.f(f"ix_{table}_created_at")
            state = op.get_bind().execute(
                sa.text(
                    "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                    "WHERE c.relname = :name"
                ),
                {"name": name},
            ).scalar()
            if state is True:
                continue
            if state is False:
                op.drop_index(name, table_name=table, postgresql_concurrently=True)
            op.create_index(name, table, ["created_at"], postgresql_concurrently=True)


def downgrade() -> None:
    for table in TABLES:
        op.drop_index(op.f(f"ix_{table}_created_at"), table_name=table)
