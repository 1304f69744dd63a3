"""Operators and their sessions, the audit log, canned replies, and triage fields on tickets.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25

Existing tickets get priority 通常 and version 1; existing categories a target of 5 business days, 3 for the
ID-issuance category (account requests).
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True)


def upgrade() -> None:
    op.create_table(
        "operators",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("role", _enum("operator_role", "admin", "agent", "viewer"), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("totp_secret", sa.String(64), nullable=False),
        sa.Column("totp_last_step", sa.BigInteger(), nullable=False),
        sa.Column("totp_confirmed_at", sa.DateTime(), nullable=True),
        sa.Column("totp_pending_secret", sa.String(64), nullable=True),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_login_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operators")),
        sa.UniqueConstraint("email", name=op.f("uq_operators_email")),
    )
    op.create_table(
        "operator_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("operator_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.Column("ip_address", sa.String(45), nullable=True),
        sa.ForeignKeyConstraint(
            ["operator_id"], ["operators.id"], name=op.f("fk_operator_sessions_operator_id_operators")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operator_sessions")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_operator_sessions_key_hash")),
    )
    op.create_index(op.f("ix_operator_sessions_operator_id"), "operator_sessions", ["operator_id"])

    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(), nullable=False),
        sa.Column("actor_type", sa.String(20), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_label", sa.String(254), nullable=True),
        sa.Column("ip_address", sa.String(45), nullable=True),
        sa.Column("action", sa.String(60), nullable=False),
        sa.Column("target_type", sa.String(40), nullable=True),
        sa.Column("target_id", sa.String(64), nullable=True),
        sa.Column("outcome", _enum("audit_outcome", "success", "failure"), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    op.create_index(op.f("ix_audit_events_action"), "audit_events", ["action"])
    op.create_index(op.f("ix_audit_events_occurred_at"), "audit_events", ["occurred_at"])
    op.create_index("ix_audit_events_target", "audit_events", ["target_type", "target_id"])

    op.create_table(
        "canned_replies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(100), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_canned_replies")),
        sa.UniqueConstraint("title", name=op.f("uq_canned_replies_title")),
    )

    with op.batch_alter_table("inquiries") as batch_op:
        batch_op.add_column(
            sa.Column(
                "priority",
                _enum("inquiry_priority", "low", "normal", "high", "urgent"),
                server_default="normal",
                nullable=False,
            )
        )
        batch_op.add_column(sa.Column("assignee_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("due_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("first_response_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("resolved_at", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("version", sa.Integer(), server_default="1", nullable=False))
        batch_op.create_index(batch_op.f("ix_inquiries_assignee_id"), ["assignee_id"])
        batch_op.create_index(batch_op.f("ix_inquiries_due_on"), ["due_on"])
        batch_op.create_foreign_key(
            batch_op.f("fk_inquiries_assignee_id_operators"), "operators", ["assignee_id"], ["id"]
        )

    with op.batch_alter_table("inquiry_categories") as batch_op:
        batch_op.add_column(
            sa.Column("target_business_days", sa.Integer(), server_default="5", nullable=False)
        )
    op.execute(
        "UPDATE inquiry_categories SET target_business_days = 3 WHERE kind = 'account_request'"
    )

    with op.batch_alter_table("inquiry_events") as batch_op:
        batch_op.add_column(sa.Column("operator_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_inquiry_events_operator_id_operators"), "operators", ["operator_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("inquiry_events") as batch_op:
        batch_op.drop_constraint("fk_inquiry_events_operator_id_operators", type_="foreignkey")
        batch_op.drop_column("operator_id")
    with op.batch_alter_table("inquiry_categories") as batch_op:
        batch_op.drop_column("target_business_days")
    with op.batch_alter_table("inquiries") as batch_op:
        batch_op.drop_constraint("fk_inquiries_assignee_id_operators", type_="foreignkey")
        batch_op.drop_index("ix_inquiries_due_on")
        batch_op.drop_index("ix_inquiries_assignee_id")
        batch_op.drop_constraint(op.f("ck_inquiries_inquiry_priority"), type_="check")
        for column in ("version", "resolved_at", "first_response_at", "due_on", "assignee_id", "priority"):
            batch_op.drop_column(column)
    for table in ("canned_replies", "audit_events", "operator_sessions", "operators"):
        op.drop_table(table)
