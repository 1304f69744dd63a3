"""Operators' alerts: each operator's choices and watched 中カテゴリー, and every alert made (mailed at
once within 受付時間, else kept for the next opening; one digest a day).

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "operator_alert_settings",
        sa.Column("operator_id", sa.Integer(), nullable=False),
        sa.Column("assigned", sa.Boolean(), nullable=False),
        sa.Column("answers", sa.Boolean(), nullable=False),
        sa.Column("digest", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["operator_id"], ["operators.id"], name=op.f("fk_operator_alert_settings_operator_id_operators"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("operator_id", name=op.f("pk_operator_alert_settings")),
    )
    op.create_table(
        "operator_watched_categories",
        sa.Column("operator_id", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["operator_id"], ["operators.id"], name=op.f("fk_operator_watched_categories_operator_id_operators"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["category_id"], ["inquiry_categories.id"], name=op.f("fk_operator_watched_categories_category_id_inquiry_categories"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("operator_id", "category_id", name=op.f("pk_operator_watched_categories")),
    )
    op.create_index(
        op.f("ix_operator_watched_categories_category_id"), "operator_watched_categories", ["category_id"]
    )
    op.create_table(
        "operator_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("operator_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("new_ticket", "assigned", "answer", "digest", name="operator_alert_kind", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column("inquiry_id", sa.Integer(), nullable=True),
        sa.Column("digest_on", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("mailed_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["operator_id"], ["operators.id"], name=op.f("fk_operator_alerts_operator_id_operators"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["inquiry_id"], ["inquiries.id"], name=op.f("fk_operator_alerts_inquiry_id_inquiries"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operator_alerts")),
        sa.UniqueConstraint("operator_id", "digest_on", name="uq_operator_alerts_digest"),
    )
    op.create_index(op.f("ix_operator_alerts_inquiry_id"), "operator_alerts", ["inquiry_id"])
    op.create_index(
        "ix_operator_alerts_waiting",
        "operator_alerts",
        ["operator_id", "id"],
        postgresql_where=sa.text("mailed_at IS NULL"),
        sqlite_where=sa.text("mailed_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_table("operator_alerts")
    op.drop_table("operator_watched_categories")
    op.drop_table("operator_alert_settings")
