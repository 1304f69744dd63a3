"""Sessions are purged 30 days after they began (backoffice/sessions.py): an index on created_at lets the
purge find them without reading every session, which at national scale is millions of rows.

Built concurrently on PostgreSQL, so that an upgrade does not hold up logins; an interrupted build
leaves an invalid index, which the next upgrade drops and builds again.

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-08
"""

from alembic import op

from backoffice.migration_helpers import create_index_concurrently

revision = "0034"
down_revision = "0033"
branch_labels = None
depends_on = None

TABLES = ("portal_sessions", "operator_sessions")


def upgrade() -> None:
    for table in TABLES:
        create_index_concurrently(op.f(f"ix_{table}_created_at"), table, ["created_at"])


def downgrade() -> None:
    for table in TABLES:
        op.drop_index(op.f(f"ix_{table}_created_at"), table_name=table)
