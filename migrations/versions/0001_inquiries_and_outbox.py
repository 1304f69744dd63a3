"""Inquiries with their category tree, history and drafts; the email outbox.

Revision ID: 0001
Revises:
Create Date: 2026-11-25

Timestamps are naive UTC columns (`backoffice.db.UTCDateTime` adds the zone on read). Enums are strings with
a CHECK constraint, named by the metadata's naming convention.
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True)


def upgrade() -> None:
    op.create_table(
        "inquiry_categories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("kind", _enum("category_kind", "general", "account_request"), nullable=False),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["inquiry_categories.id"],
            name=op.f("fk_inquiry_categories_parent_id_inquiry_categories"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inquiry_categories")),
        sa.UniqueConstraint("parent_id", "name", name="uq_inquiry_categories_parent_name"),
    )
    op.create_index(op.f("ix_inquiry_categories_parent_id"), "inquiry_categories", ["parent_id"])

    op.create_table(
        "inquiry_drafts",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_inquiry_drafts")),
    )
    op.create_index(op.f("ix_inquiry_drafts_created_at"), "inquiry_drafts", ["created_at"])

    op.create_table(
        "outbound_emails",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("to_address", sa.String(254), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("body_text", sa.Text(), nullable=False),
        sa.Column("body_html", sa.Text(), nullable=False),
        sa.Column("contains_secret", sa.Boolean(), nullable=False),
        sa.Column("status", _enum("email_status", "queued", "sent", "failed"), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(), nullable=False),
        sa.Column("claimed_until", sa.DateTime(), nullable=True),
        sa.Column("claim_token", sa.String(32), nullable=True),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=True),
        sa.Column("scrubbed_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbound_emails")),
    )
    op.create_index(
        "ix_outbound_emails_status_next_attempt_at", "outbound_emails", ["status", "next_attempt_at"]
    )

    op.create_table(
        "inquiries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference_number", sa.String(9), nullable=False),
        sa.Column("submission_key", sa.String(64), nullable=False),
        sa.Column("status_token_hash", sa.String(64), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            _enum(
                "inquiry_status",
                "new",
                "in_progress",
                "answered",
                "on_hold",
                "resolved",
                "closed",
                "rejected",
                "spam",
            ),
            nullable=False,
        ),
        sa.Column("requester_name", sa.String(100), nullable=False),
        sa.Column("requester_kana", sa.String(100), nullable=False),
        sa.Column("organization_name", sa.String(200), nullable=True),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("phone", sa.String(11), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["inquiry_categories.id"],
            name=op.f("fk_inquiries_category_id_inquiry_categories"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inquiries")),
        sa.UniqueConstraint("reference_number", name=op.f("uq_inquiries_reference_number")),
        sa.UniqueConstraint("status_token_hash", name=op.f("uq_inquiries_status_token_hash")),
        sa.UniqueConstraint("submission_key", name=op.f("uq_inquiries_submission_key")),
    )
    op.create_index(op.f("ix_inquiries_category_id"), "inquiries", ["category_id"])
    op.create_index(op.f("ix_inquiries_created_at"), "inquiries", ["created_at"])
    op.create_index(op.f("ix_inquiries_email"), "inquiries", ["email"])
    op.create_index(op.f("ix_inquiries_status"), "inquiries", ["status"])

    op.create_table(
        "inquiry_account_requests",
        sa.Column("inquiry_id", sa.Integer(), nullable=False),
        sa.Column("medical_code", sa.String(10), nullable=False),
        sa.Column("medical_code_check_ok", sa.Boolean(), nullable=False),
        sa.Column("institution_name", sa.String(200), nullable=False),
        sa.Column("institution_kana", sa.String(200), nullable=False),
        sa.Column("postal_code", sa.String(8), nullable=False),
        sa.Column("address", sa.String(300), nullable=False),
        sa.Column("department", sa.String(100), nullable=True),
        sa.ForeignKeyConstraint(
            ["inquiry_id"],
            ["inquiries.id"],
            name=op.f("fk_inquiry_account_requests_inquiry_id_inquiries"),
        ),
        sa.PrimaryKeyConstraint("inquiry_id", name=op.f("pk_inquiry_account_requests")),
    )
    op.create_index(
        op.f("ix_inquiry_account_requests_medical_code"), "inquiry_account_requests", ["medical_code"]
    )

    op.create_table(
        "inquiry_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("inquiry_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            _enum(
                "event_kind",
                "created",
                "status_changed",
                "assigned",
                "public_reply",
                "internal_note",
                "account_issued",
            ),
            nullable=False,
        ),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("old_value", sa.String(200), nullable=True),
        sa.Column("new_value", sa.String(200), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["inquiry_id"], ["inquiries.id"], name=op.f("fk_inquiry_events_inquiry_id_inquiries")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inquiry_events")),
    )
    op.create_index(op.f("ix_inquiry_events_inquiry_id"), "inquiry_events", ["inquiry_id"])


def downgrade() -> None:
    for table in (
        "inquiry_events",
        "inquiry_account_requests",
        "inquiries",
        "outbound_emails",
        "inquiry_drafts",
        "inquiry_categories",
    ):
        op.drop_table(table)
