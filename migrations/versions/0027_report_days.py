"""The reports' daily summary (backoffice.reports.summary), kept in the same transaction as every
change to a ticket. Filled from the tickets by `flask reports rebuild`, run once after this upgrade
(docs/reports.md); until then レポート shows no figures over past days.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "report_days",
        sa.Column("fact", sa.String(length=20), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.Column("intake", sa.String(length=10), nullable=False),
        sa.Column("assignee_id", sa.Integer(), nullable=False),
        sa.Column("tenths", sa.Integer(), nullable=False),
        sa.Column("met", sa.SmallInteger(), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "fact",
            "day",
            "category_id",
            "intake",
            "assignee_id",
            "tenths",
            "met",
            name=op.f("pk_report_days"),
        ),
    )


def downgrade() -> None:
    op.drop_table("report_days")
