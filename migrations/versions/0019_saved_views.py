"""Operators' saved views of the ticket list (保存した表示).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "operator_saved_views",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("operator_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("filters", sa.JSON(), nullable=False),
        sa.Column("search", sa.String(length=200), nullable=True),
        sa.Column("sort", sa.String(length=40), nullable=True),
        sa.Column("sort_desc", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["operator_id"],
            ["operators.id"],
            name=op.f("fk_operator_saved_views_operator_id_operators"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operator_saved_views")),
        sa.UniqueConstraint("operator_id", "name", name="uq_operator_saved_views_name"),
    )


def downgrade() -> None:
    op.drop_table("operator_saved_views")
