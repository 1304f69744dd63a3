"""The outbox: every email is a row written in the same transaction as the change that causes it."""

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backoffice.db import enum_column, utcnow
from backoffice.extensions import db


class EmailStatus(enum.Enum):
    QUEUED = "queued"
    SENT = "sent"
    # Gave up after MAIL_MAX_ATTEMPTS; kept for operators to see, never retried automatically.
    FAILED = "failed"
    # Sent, then answered by a delivery status report of a permanent failure (backoffice/inbound).
    BOUNCED = "bounced"


class OutboundEmail(db.Model):
    __tablename__ = "outbound_emails"
    __table_args__ = (
        sa.Index("ix_outbound_emails_status_next_attempt_at", "status", "next_attempt_at"),
        # The ticket page's facts panel: the mails to an address, newest first.
        sa.Index("ix_outbound_emails_to_address_created_at", "to_address", "created_at"),
        # Mails whose body is still kept: what the retention has to look at (migration 0029).
        sa.Index(
            "ix_outbound_emails_body_kept_created_at",
            "created_at",
            postgresql_where=sa.text("scrubbed_at IS NULL"),
            sqlite_where=sa.text("scrubbed_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    to_address: Mapped[str] = mapped_column(sa.String(254))
    # The template it was made from (templates/mail/KIND), for the facts panel; None before 0023.
    kind: Mapped[str | None] = mapped_column(sa.String(40))
    subject: Mapped[str] = mapped_column(sa.String(200))
    body_text: Mapped[str] = mapped_column(sa.Text)
    body_html: Mapped[str] = mapped_column(sa.Text)
    # Bodies with a secret (a one-time password, an initial password, a status-page token) are replaced
    # by a notice once delivered, so the database never keeps them longer than needed.
    contains_secret: Mapped[bool] = mapped_column(default=False)
    status: Mapped[EmailStatus] = mapped_column(
        enum_column(EmailStatus, "email_status"), default=EmailStatus.QUEUED
    )
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    # A worker that claims a mail holds it until this time; a crashed worker's claim simply runs out.
    claimed_until: Mapped[datetime | None]
    claim_token: Mapped[str | None] = mapped_column(sa.String(32))
    last_error: Mapped[str | None] = mapped_column(sa.String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
    scrubbed_at: Mapped[datetime | None]
    # A mail about a ticket: which one (a bounce shows on it), and the address replies go to.
    inquiry_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("inquiries.id", ondelete="SET NULL"), index=True
    )
    reply_to: Mapped[str | None] = mapped_column(sa.String(254))
    # It carries files (backoffice/attachments MailAttachment): delivery reads them only then.
    has_attachments: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    bounced_at: Mapped[datetime | None]
    bounce_detail: Mapped[str | None] = mapped_column(sa.String(500))

    inquiry = relationship("Inquiry")
