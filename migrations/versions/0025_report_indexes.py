"""レポート at national scale: the tickets answered and resolved in a period, and the replies sent in
one, each found by a partial index (backoffice.reports.figures). Built CONCURRENTLY on PostgreSQL,
so a live desk keeps working while a million tickets are indexed.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

INDEXES = (
    ("ix_inquiries_first_response_at", "inquiries", ["first_response_at"], "first_response_at IS NOT NULL"),
    ("ix_inquiries_resolved_at", "inquiries", ["resolved_at"], "resolved_at IS NOT NULL"),
    (
        "ix_inquiry_events_public_reply_created_at",
        "inquiry_events",
        ["created_at", "operator_id"],
        "kind = 'public_reply'",
    ),
)


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for name, table, columns, where in INDEXES:
        if postgresql:
            with op.get_context().autocommit_block():
                op.create_index(
                    name,
                    table,
                    columns,
                    postgresql_where=sa.text(where),
                    postgresql_concurrently=True,
                )
        else:
            op.create_index(name, table, columns, sqlite_where=sa.text(where))


def downgrade() -> None:
    for name, table, _columns, _where in reversed(INDEXES):
        op.drop_index(name, table_name=table)
