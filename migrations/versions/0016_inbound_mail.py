"""Mail that comes in: the inbound mail table, the IMAP fetchers' claims, each ticket's reply address tag, the outbox mail's
ticket and reply address, bounces (the status 'bounced', when and why), and the history entries
for mail that is not the requester's answer.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

OLD_KINDS = (
    "created",
    "status_changed",
    "assigned",
    "public_reply",
    "internal_note",
    "account_issued",
    "requester_message",
    "reminder_sent",
    "correction_requested",
    "corrected",
)
NEW_KINDS = (*OLD_KINDS, "mail_auto_reply", "mail_bounced", "mail_held")
OLD_EMAIL_STATUSES = ("queued", "sent", "failed")
NEW_EMAIL_STATUSES = (*OLD_EMAIL_STATUSES, "bounced")
STATES = (
    "appended",
    "held",
    "unmatched",
    "automatic",
    "bounce",
    "throttled",
    "failed",
    "filed",
    "dismissed",
)


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True)


def _check(table: str, column: str, name: str, values: tuple[str, ...], length: int, old: int) -> None:
    with op.batch_alter_table(table) as batch:
        batch.drop_constraint(op.f(f"ck_{table}_{name}"), type_="check")
        if length != old:
            batch.alter_column(
                column, type_=sa.String(length), existing_type=sa.String(old), existing_nullable=False
            )
        batch.create_check_constraint(op.f(f"ck_{table}_{name}"), _in(column, values))


def upgrade() -> None:
    _check("inquiry_events", "kind", "event_kind", NEW_KINDS, 20, 20)
    _check("outbound_emails", "status", "email_status", NEW_EMAIL_STATUSES, 7, 6)
    with op.batch_alter_table("outbound_emails") as batch:
        batch.add_column(sa.Column("inquiry_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("reply_to", sa.String(254), nullable=True))
        batch.add_column(sa.Column("bounced_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("bounce_detail", sa.String(500), nullable=True))
        batch.create_foreign_key(
            op.f("fk_outbound_emails_inquiry_id_inquiries"),
            "inquiries",
            ["inquiry_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch.create_index(op.f("ix_outbound_emails_inquiry_id"), ["inquiry_id"])
    with op.batch_alter_table("inquiries") as batch:
        batch.add_column(sa.Column("reply_token", sa.String(32), nullable=True))
        batch.create_unique_constraint(op.f("uq_inquiries_reply_token"), ["reply_token"])
    op.create_table(
        "inbound_emails",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_key", sa.String(64), nullable=False),
        sa.Column("message_id", sa.String(500), nullable=True),
        sa.Column("source", _enum("inbound_source", "pipe", "imap"), nullable=False),
        sa.Column("state", _enum("inbound_state", *STATES), nullable=False),
        sa.Column("reason", sa.String(40), nullable=True),
        sa.Column("flags", sa.JSON(), nullable=True),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("from_address", sa.String(254), nullable=False),
        sa.Column("from_name", sa.String(200), nullable=False),
        sa.Column("recipient", sa.String(254), nullable=False),
        sa.Column("subject", sa.String(500), nullable=False),
        sa.Column("body_text", sa.Text(), nullable=False),
        sa.Column("full_text", sa.Text(), nullable=False),
        sa.Column("raw_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("raw_size", sa.Integer(), nullable=False),
        sa.Column("inquiry_id", sa.Integer(), nullable=True),
        sa.Column("header_inquiry_id", sa.Integer(), nullable=True),
        sa.Column("outbound_email_id", sa.Integer(), nullable=True),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("handled_by_id", sa.Integer(), nullable=True),
        sa.Column("handled_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["inquiry_id"], ["inquiries.id"], name=op.f("fk_inbound_emails_inquiry_id_inquiries"), ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["header_inquiry_id"],
            ["inquiries.id"],
            name=op.f("fk_inbound_emails_header_inquiry_id_inquiries"), ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["outbound_email_id"],
            ["outbound_emails.id"],
            name=op.f("fk_inbound_emails_outbound_email_id_outbound_emails"), ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["inquiry_events.id"],
            name=op.f("fk_inbound_emails_event_id_inquiry_events"), ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["handled_by_id"],
            ["operators.id"],
            name=op.f("fk_inbound_emails_handled_by_id_operators"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_emails")),
        sa.UniqueConstraint("message_key", name=op.f("uq_inbound_emails_message_key")),
    )
    op.create_index(op.f("ix_inbound_emails_inquiry_id"), "inbound_emails", ["inquiry_id"])
    op.create_index(
        op.f("ix_inbound_emails_outbound_email_id"), "inbound_emails", ["outbound_email_id"]
    )
    op.create_index(
        "ix_inbound_emails_state_received_at", "inbound_emails", ["state", "received_at"]
    )
    op.create_index(
        "ix_inbound_emails_from_address_received_at",
        "inbound_emails",
        ["from_address", "received_at"],
    )


    op.create_table(
        "inbound_claims",
        sa.Column("mailbox", sa.String(300), nullable=False),
        sa.Column("uid_validity", sa.BigInteger(), nullable=False),
        sa.Column("uid", sa.BigInteger(), nullable=False),
        sa.Column("claimed_by", sa.String(100), nullable=False),
        sa.Column("claimed_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("mailbox", "uid_validity", "uid", name=op.f("pk_inbound_claims")),
    )


def downgrade() -> None:
    op.drop_table("inbound_claims")
    op.drop_table("inbound_emails")
    with op.batch_alter_table("inquiries") as batch:
        batch.drop_constraint(op.f("uq_inquiries_reply_token"), type_="unique")
        batch.drop_column("reply_token")
    op.execute("UPDATE outbound_emails SET status = 'sent' WHERE status = 'bounced'")
    with op.batch_alter_table("outbound_emails") as batch:
        batch.drop_index(op.f("ix_outbound_emails_inquiry_id"))
        batch.drop_constraint(op.f("fk_outbound_emails_inquiry_id_inquiries"), type_="foreignkey")
        for column in ("bounce_detail", "bounced_at", "reply_to", "inquiry_id"):
            batch.drop_column(column)
    _check("outbound_emails", "status", "email_status", OLD_EMAIL_STATUSES, 6, 7)
    op.execute(
        "DELETE FROM inquiry_events WHERE kind IN ('mail_auto_reply', 'mail_bounced', 'mail_held')"
    )
    _check("inquiry_events", "kind", "event_kind", OLD_KINDS, 20, 20)
