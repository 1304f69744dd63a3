"""The onboarding funnel: one row per office with the first time it reached each step and the step
it is at now, and those rows counted per kind and prefecture (backoffice.onboarding). Filled from what the product already holds by
`flask onboarding rebuild`, run once after this upgrade (docs/reports.md).

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

STEPS = (
    "listed",
    "started",
    "no_security_email",
    "otp_passed",
    "registered",
    "password_mailed",
    "requested",
    "issued",
    "rejected",
    "first_login",
    "password_changed",
    "consented",
    "users_added",
)

# The steps with a step before them in their flow (the days between are kept on the row).
WAITS = (
    "started",
    "otp_passed",
    "registered",
    "password_mailed",
    "issued",
    "first_login",
    "password_changed",
    "consented",
    "users_added",
)


def upgrade() -> None:
    op.create_table(
        "onboarding_progress",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("office_number", sa.String(length=10), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "care",
                "deemed",
                "medical",
                name="onboarding_kind",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("prefecture", sa.String(length=2), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("organization_id", sa.Integer(), nullable=True),
        sa.Column("stage", sa.String(length=20), nullable=False),
        sa.Column("entered_at", sa.DateTime(), nullable=False),
        *(sa.Column(f"{step}_at", sa.DateTime(), nullable=True) for step in STEPS),
        sa.Column("security_email_missing", sa.Boolean(), nullable=False),
        *(sa.Column(f"{step}_wait", sa.Integer(), nullable=True) for step in WAITS),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_onboarding_progress_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_onboarding_progress")),
        sa.UniqueConstraint("office_number", name=op.f("uq_onboarding_progress_office_number")),
    )
    op.create_index(
        "ix_onboarding_progress_organization_id", "onboarding_progress", ["organization_id"]
    )
    op.create_index(
        "ix_onboarding_progress_kind_stage", "onboarding_progress", ["kind", "prefecture", "stage"]
    )
    op.create_index("ix_onboarding_progress_entered_at", "onboarding_progress", ["entered_at"])
    op.create_table(
        "onboarding_counts",
        sa.Column(
            "kind",
            sa.Enum(
                "care",
                "deemed",
                "medical",
                name="onboarding_count_kind",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("prefecture", sa.String(length=2), nullable=False),
        sa.Column("measure", sa.String(length=30), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "kind", "prefecture", "measure", "value", name=op.f("pk_onboarding_counts")
        ),
    )


def downgrade() -> None:
    op.drop_table("onboarding_counts")
    op.drop_index("ix_onboarding_progress_entered_at", table_name="onboarding_progress")
    op.drop_index("ix_onboarding_progress_kind_stage", table_name="onboarding_progress")
    op.drop_index("ix_onboarding_progress_organization_id", table_name="onboarding_progress")
    op.drop_table("onboarding_progress")
