"""Enrolment links for operators: an admin's invite or reset mails a link that works once and expires.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op


revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "operator_enrolments",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("operator_id", sa.Integer(), sa.ForeignKey("operators.id"), nullable=False),
        sa.Column(
            "purpose",
            sa.Enum(
                "password",
                "authenticator",
                name="operator_enrolment_purpose",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_by_id", sa.Integer(), sa.ForeignKey("operators.id"), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_operator_enrolments_operator_id", "operator_enrolments", ["operator_id"])


def downgrade() -> None:
    op.drop_index("ix_operator_enrolments_operator_id", table_name="operator_enrolments")
    op.drop_table("operator_enrolments")
