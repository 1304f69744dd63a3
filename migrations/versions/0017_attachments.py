"""Attachments: one row per file of a ticket's messages (or of a form draft), and the files an outbox
mail carries.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("inquiry_id", sa.Integer(), nullable=True),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("draft_key", sa.String(64), nullable=True),
        sa.Column(
            "state",
            sa.Enum("stored", "purged", "refused", name="attachment_state", native_enum=False, create_constraint=True),
            nullable=False,
        ),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("content_type", sa.String(100), nullable=True),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=True),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("storage_key", sa.String(64), nullable=True),
        sa.Column("thumbnail_key", sa.String(64), nullable=True),
        sa.Column("uploaded_by", sa.String(200), nullable=False),
        sa.Column("operator_id", sa.Integer(), nullable=True),
        sa.Column("refused_reason", sa.String(300), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("purged_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["inquiry_id"], ["inquiries.id"], name=op.f("fk_attachments_inquiry_id_inquiries"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["event_id"], ["inquiry_events.id"], name=op.f("fk_attachments_event_id_inquiry_events"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["operator_id"], ["operators.id"], name=op.f("fk_attachments_operator_id_operators")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attachments")),
        sa.UniqueConstraint("storage_key", name=op.f("uq_attachments_storage_key")),
        sa.UniqueConstraint("thumbnail_key", name=op.f("uq_attachments_thumbnail_key")),
    )
    op.create_index(op.f("ix_attachments_inquiry_id"), "attachments", ["inquiry_id"])
    op.create_index(op.f("ix_attachments_event_id"), "attachments", ["event_id"])
    op.create_index(op.f("ix_attachments_draft_key"), "attachments", ["draft_key"])
    op.create_table(
        "mail_attachments",
        sa.Column("email_id", sa.Integer(), nullable=False),
        sa.Column("attachment_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["email_id"], ["outbound_emails.id"], name=op.f("fk_mail_attachments_email_id_outbound_emails"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["attachment_id"], ["attachments.id"], name=op.f("fk_mail_attachments_attachment_id_attachments"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("email_id", "attachment_id", name=op.f("pk_mail_attachments")),
    )
    op.create_index(op.f("ix_mail_attachments_attachment_id"), "mail_attachments", ["attachment_id"])
    with op.batch_alter_table("outbound_emails") as batch:
        batch.add_column(
            sa.Column("has_attachments", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("outbound_emails") as batch:
        batch.drop_column("has_attachments")
    op.drop_table("mail_attachments")
    op.drop_table("attachments")
