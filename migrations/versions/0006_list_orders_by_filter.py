"""Filtered ticket lists read their page straight off an index: status, category, and both, each
followed by the list's order (created_at, id).

Without them PostgreSQL walked the whole (created_at, id) index for a category with few tickets
(~1 s at a million tickets) and filtered two thirds of the newest tickets away for 完了.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("inquiries") as batch_op:
        batch_op.drop_index("ix_inquiries_category_id_status_created_at")
        batch_op.drop_index("ix_inquiries_status_created_at")
        batch_op.create_index("ix_inquiries_status_created_at_id", ["status", "created_at", "id"])
        batch_op.create_index(
            "ix_inquiries_category_id_created_at_id", ["category_id", "created_at", "id"]
        )
        batch_op.create_index(
            "ix_inquiries_category_id_status_created_at_id",
            ["category_id", "status", "created_at", "id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("inquiries") as batch_op:
        batch_op.drop_index("ix_inquiries_category_id_status_created_at_id")
        batch_op.drop_index("ix_inquiries_category_id_created_at_id")
        batch_op.drop_index("ix_inquiries_status_created_at_id")
        batch_op.create_index("ix_inquiries_status_created_at", ["status", "created_at"])
        batch_op.create_index(
            "ix_inquiries_category_id_status_created_at", ["category_id", "status", "created_at"]
        )
