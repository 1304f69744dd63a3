"""Ticket list and dashboard at national scale: composite and partial indexes, per-status counters, and
(on PostgreSQL) a trigram index for the search box.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

OPEN = "status IN ('new', 'in_progress', 'on_hold')"
STATUSES = ("new", "in_progress", "answered", "on_hold", "resolved", "closed", "rejected", "spam")
# Must stay the same expression as backoffice.inquiries.search.searchable_text().
SEARCHABLE = (
    "(' ' || requester_name || ' ' || requester_kana || ' ' || "
    "coalesce(organization_name, '') || ' ' || email)"
)


def _partial(name: str, column: str, where: str) -> None:
    op.create_index(
        name, "inquiries", [column], postgresql_where=sa.text(where), sqlite_where=sa.text(where)
    )


def upgrade() -> None:
    with op.batch_alter_table("inquiries") as batch_op:
        batch_op.drop_index("ix_inquiries_created_at")
        batch_op.drop_index("ix_inquiries_status")
        batch_op.drop_index("ix_inquiries_category_id")
        batch_op.create_index("ix_inquiries_created_at_id", ["created_at", "id"])
        batch_op.create_index("ix_inquiries_status_created_at", ["status", "created_at"])
        batch_op.create_index(
            "ix_inquiries_category_id_status_created_at", ["category_id", "status", "created_at"]
        )
    _partial("ix_inquiries_open_category_id", "category_id", OPEN)
    _partial("ix_inquiries_open_due_on", "due_on", OPEN)
    _partial("ix_inquiries_unanswered_created_at", "created_at", f"first_response_at IS NULL AND {OPEN}")

    counts = op.create_table(
        "inquiry_status_counts",
        sa.Column(
            "status",
            sa.Enum(*STATUSES, name="inquiry_status", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("status", name=op.f("pk_inquiry_status_counts")),
    )
    op.bulk_insert(counts, [{"status": s, "count": 0} for s in STATUSES])
    op.execute(
        "UPDATE inquiry_status_counts SET count = "
        "(SELECT count(*) FROM inquiries WHERE inquiries.status = inquiry_status_counts.status)"
    )

    if op.get_bind().dialect.name == "postgresql":
        # pg_trgm is a trusted extension: the database owner may create it.
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute(f"CREATE INDEX ix_inquiries_search ON inquiries USING gin ({SEARCHABLE} gin_trgm_ops)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_inquiries_search")
    op.drop_table("inquiry_status_counts")
    op.drop_index("ix_inquiries_unanswered_created_at", table_name="inquiries")
    op.drop_index("ix_inquiries_open_due_on", table_name="inquiries")
    op.drop_index("ix_inquiries_open_category_id", table_name="inquiries")
    with op.batch_alter_table("inquiries") as batch_op:
        batch_op.drop_index("ix_inquiries_category_id_status_created_at")
        batch_op.drop_index("ix_inquiries_status_created_at")
        batch_op.drop_index("ix_inquiries_created_at_id")
        batch_op.create_index("ix_inquiries_category_id", ["category_id"])
        batch_op.create_index("ix_inquiries_status", ["status"])
        batch_op.create_index("ix_inquiries_created_at", ["created_at"])
