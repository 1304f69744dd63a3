"""Files attached to a ticket's messages: one row per file, its contents kept by the storage."""

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backoffice.db import enum_column, utcnow
from backoffice.extensions import db


class AttachmentState(enum.Enum):
    STORED = "stored"
    # The retention period ran out: the contents are deleted, the row says what there was.
    PURGED = "purged"
    # Came by mail and was not taken (its type, its size, too many): never stored, said on the message.
    REFUSED = "refused"


class Attachment(db.Model):
    """A file on a message: the ticket's own body (`event_id` None), a history entry (a reply, a
    requester's message, an internal note), or a form draft before 送信 (`draft_key`, no ticket yet)."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    inquiry_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("inquiries.id", ondelete="CASCADE"), index=True
    )
    event_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("inquiry_events.id", ondelete="CASCADE"), index=True
    )
    draft_key: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    state: Mapped[AttachmentState] = mapped_column(
        enum_column(AttachmentState, "attachment_state"), default=AttachmentState.STORED
    )
    # For display only (NFC, no path, no control characters); the storage names it by a random key.
    filename: Mapped[str] = mapped_column(sa.String(255))
    content_type: Mapped[str | None] = mapped_column(sa.String(100))
    size: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    sha256: Mapped[str | None] = mapped_column(sa.String(64))
    width: Mapped[int | None]
    height: Mapped[int | None]
    storage_key: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    thumbnail_key: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    # Who uploaded it (an operator, 依頼者, メール受信), and why a mail's file was not taken.
    uploaded_by: Mapped[str] = mapped_column(sa.String(200))
    operator_id: Mapped[int | None] = mapped_column(sa.ForeignKey("operators.id"))
    refused_reason: Mapped[str | None] = mapped_column(sa.String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    purged_at: Mapped[datetime | None]

    inquiry = relationship("Inquiry")
    event = relationship("InquiryEvent")

    @property
    def is_image(self) -> bool:
        return self.thumbnail_key is not None

    @property
    def thumbnail_size(self) -> tuple[int, int]:
        """The thumbnail's width and height (it fits in 240 × 240, as checks.py makes it)."""
        width, height = self.width or 240, self.height or 240
        scale = min(1.0, 240 / max(width, height))
        return max(1, round(width * scale)), max(1, round(height * scale))

    @property
    def available(self) -> bool:
        return self.state is AttachmentState.STORED


class MailAttachment(db.Model):
    """A file an outbox mail carries (the others of its message are named in it with the link)."""

    __tablename__ = "mail_attachments"

    email_id: Mapped[int] = mapped_column(
        sa.ForeignKey("outbound_emails.id", ondelete="CASCADE"), primary_key=True
    )
    attachment_id: Mapped[int] = mapped_column(
        sa.ForeignKey("attachments.id", ondelete="CASCADE"), primary_key=True, index=True
    )

    attachment: Mapped[Attachment] = relationship()
    email = relationship("OutboundEmail")
