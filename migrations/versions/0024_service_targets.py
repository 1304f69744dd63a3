"""Service targets: a first-response target per 中カテゴリー beside the resolution one, and on each
ticket its targets' due moments, the business minutes taken and whether in time, the minutes paused,
whether a target was missed and when the running one falls due (backoffice.inquiries.targets).

Tickets from before this revision have no targets until `flask tickets measure` fills them from
their history.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op


revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

MISSED_SQL = "target_missed = true"


def upgrade() -> None:
    with op.batch_alter_table("inquiry_categories") as batch:
        batch.add_column(
            sa.Column(
                "first_response_business_days", sa.Integer(), server_default="1", nullable=False
            )
        )
    with op.batch_alter_table("inquiries") as batch:
        batch.add_column(sa.Column("first_response_due_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("resolution_due_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("first_response_minutes", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("resolution_minutes", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("first_response_met", sa.Boolean(), nullable=True))
        batch.add_column(sa.Column("resolution_met", sa.Boolean(), nullable=True))
        batch.add_column(
            sa.Column("waited_minutes", sa.Integer(), server_default="0", nullable=False)
        )
        batch.add_column(
            sa.Column("target_missed", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch.add_column(sa.Column("next_target_at", sa.DateTime(), nullable=True))
    # Both start empty (no ticket has a target yet), so they are built at once.
    op.create_index(
        "ix_inquiries_next_target_at",
        "inquiries",
        ["next_target_at"],
        postgresql_where=sa.text("next_target_at IS NOT NULL"),
        sqlite_where=sa.text("next_target_at IS NOT NULL"),
    )
    op.create_index(
        "ix_inquiries_target_missed_created_at_id",
        "inquiries",
        ["created_at", "id"],
        postgresql_where=sa.text(MISSED_SQL),
        sqlite_where=sa.text(MISSED_SQL),
    )


def downgrade() -> None:
    op.drop_index("ix_inquiries_target_missed_created_at_id", table_name="inquiries")
    op.drop_index("ix_inquiries_next_target_at", table_name="inquiries")
    with op.batch_alter_table("inquiries") as batch:
        for column in (
            "next_target_at",
            "target_missed",
            "waited_minutes",
            "resolution_met",
            "first_response_met",
            "resolution_minutes",
            "first_response_minutes",
            "resolution_due_at",
            "first_response_due_at",
        ):
            batch.drop_column(column)
    with op.batch_alter_table("inquiry_categories") as batch:
        batch.drop_column("first_response_business_days")
