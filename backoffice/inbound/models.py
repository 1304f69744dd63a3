"""Mail that came in: every message is one row, whatever became of it, so that none is lost or doubled."""

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backoffice.db import enum_column, utcnow
from backoffice.extensions import db


class InboundState(enum.Enum):
    APPENDED = "appended"  # threaded into its ticket as the requester's message
    HELD = "held"  # its ticket's address, but another sender: an operator decides
    UNMATCHED = "unmatched"  # 未振り分け: no ticket of ours
    AUTOMATIC = "automatic"  # an auto-reply or out-of-office: recorded, never answered
    BOUNCE = "bounce"  # a delivery status report about one of our mails
    THROTTLED = "throttled"  # the sender wrote too often (a loop, or a flood)
    FAILED = "failed"  # could not be read: kept whole for an operator
    FILED = "filed"  # an operator put it on a ticket, or made a ticket of it
    DISMISSED = "dismissed"  # an operator found nothing to do

    @property
    def label(self) -> str:
        return {
            "appended": "お問い合わせに追加済み",
            "held": "送信者不一致で保留",
            "unmatched": "未振り分け",
            "automatic": "自動応答",
            "bounce": "不達通知",
            "throttled": "送信が多すぎるため保留",
            "failed": "読み取れないメール",
            "filed": "振り分け済み",
            "dismissed": "対応不要",
        }[self.value]


# What an operator still has to look at (the 「未振り分けメール」 list).
NEEDS_OPERATOR = (
    InboundState.UNMATCHED,
    InboundState.HELD,
    InboundState.THROTTLED,
    InboundState.FAILED,
)


# What an operator may still put on a ticket: those, and mail taken for an auto-reply by mistake.
FILEABLE = (*NEEDS_OPERATOR, InboundState.AUTOMATIC)


class InboundSource(enum.Enum):
    PIPE = "pipe"  # `flask mail receive`, from the MTA
    IMAP = "imap"  # `flask mail fetch`

    @property
    def label(self) -> str:
        return {"pipe": "MTA（パイプ）", "imap": "IMAP"}[self.value]


class InboundEmail(db.Model):
    __tablename__ = "inbound_emails"
    __table_args__ = (
        # The list of what waits for an operator, newest first.
        sa.Index("ix_inbound_emails_state_received_at", "state", "received_at"),
        # The per-sender throttle counts the last hour's mail of one address.
        sa.Index("ix_inbound_emails_from_address_received_at", "from_address", "received_at"),
        # What the retention has still to look at (migration 0029).
        sa.Index(
            "ix_inbound_emails_raw_kept_received_at",
            "received_at",
            postgresql_where=sa.text("raw_purged_at IS NULL"),
            sqlite_where=sa.text("raw_purged_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # SHA-256 of the Message-ID (of the whole message when it has none): the same message twice is one row.
    message_key: Mapped[str] = mapped_column(sa.String(64), unique=True)
    message_id: Mapped[str | None] = mapped_column(sa.String(500))
    source: Mapped[InboundSource] = mapped_column(enum_column(InboundSource, "inbound_source"))
    state: Mapped[InboundState] = mapped_column(enum_column(InboundState, "inbound_state"))
    # Why it is in that state, in a word the back office translates (backoffice/inbound/reasons.py).
    reason: Mapped[str | None] = mapped_column(sa.String(40))
    # What an operator should know besides (backoffice/inbound/reasons.py FLAGS).
    flags: Mapped[list[str] | None] = mapped_column(sa.JSON)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    from_address: Mapped[str] = mapped_column(sa.String(254), default="")
    from_name: Mapped[str] = mapped_column(sa.String(200), default="")
    recipient: Mapped[str] = mapped_column(sa.String(254), default="")
    subject: Mapped[str] = mapped_column(sa.String(500), default="")
    # The reply as appended (quote and signature trimmed) and the whole text, status links removed.
    body_text: Mapped[str] = mapped_column(sa.Text, default="")
    full_text: Mapped[str] = mapped_column(sa.Text, default="")
    # The message as received, sealed (a reply quotes our mail, and with it the status-page link).
    raw_sealed: Mapped[bytes] = mapped_column(sa.LargeBinary)
    raw_size: Mapped[int] = mapped_column(default=0)
    # The original was deleted at the end of its retention (backoffice.retention).
    raw_purged_at: Mapped[datetime | None]
    inquiry_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("inquiries.id", ondelete="SET NULL"), index=True
    )
    # The ticket its In-Reply-To/References name, when that is not the one its address decided.
    header_inquiry_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("inquiries.id", ondelete="SET NULL")
    )
    outbound_email_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("outbound_emails.id", ondelete="SET NULL"), index=True
    )
    event_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("inquiry_events.id", ondelete="SET NULL")
    )
    handled_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("operators.id"))
    handled_at: Mapped[datetime | None]

    inquiry = relationship("Inquiry", foreign_keys=[inquiry_id])
    header_inquiry = relationship("Inquiry", foreign_keys=[header_inquiry_id])
    handled_by = relationship("Operator")


class InboundClaim(db.Model):
    """A message of an IMAP mailbox that one fetcher is taking in: the others skip it without
    downloading it. Deleted once the message is moved; a dead fetcher's claim is taken over after
    INBOUND_IMAP_CLAIM_SECONDS."""

    __tablename__ = "inbound_claims"

    mailbox: Mapped[str] = mapped_column(sa.String(300), primary_key=True)
    uid_validity: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    uid: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    # host:pid of the fetcher: one that failed on a message (the database was down) takes it again.
    claimed_by: Mapped[str] = mapped_column(sa.String(100))
    claimed_at: Mapped[datetime] = mapped_column(default=utcnow)
