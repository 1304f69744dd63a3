"""レポート at national scale: the tickets received, answered and resolved in a period, and the
replies sent in one, each found by an index that carries what the figures read, so PostgreSQL
answers from the index alone (backoffice.reports.figures). Built CONCURRENTLY on PostgreSQL,
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

COMMON = ["category_id", "status", "merged_into_id"]
# (name, table, columns, partial condition or None, columns carried for index-only scans)
INDEXES = (
    ("ix_inquiries_report_received", "inquiries", ["created_at"], None, [*COMMON, "intake"]),
    (
        "ix_inquiries_first_response_at",
        "inquiries",
        ["first_response_at"],
        "first_response_at IS NOT NULL",
        [*COMMON, "assignee_id", "first_response_minutes", "first_response_met"],
    ),
    (
        "ix_inquiries_resolved_at",
        "inquiries",
        ["resolved_at"],
        "resolved_at IS NOT NULL",
        [*COMMON, "assignee_id", "resolution_minutes", "resolution_met"],
    ),
    (
        "ix_inquiry_events_public_reply_created_at",
        "inquiry_events",
        ["created_at", "operator_id"],
        "kind = 'public_reply'",
        ["inquiry_id"],
    ),
)


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for name, table, columns, where, carried in INDEXES:
        condition = sa.text(where) if where else None
        if postgresql:
            with op.get_context().autocommit_block():
                op.create_index(
                    name,
                    table,
                    columns,
                    postgresql_where=condition,
                    postgresql_include=carried,
                    postgresql_concurrently=True,
                )
        else:
            op.create_index(name, table, columns, sqlite_where=condition)


def downgrade() -> None:
    for name, table, _columns, _where, _carried in reversed(INDEXES):
        op.drop_index(name, table_name=table)
