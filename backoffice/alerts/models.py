"""Operators' alerts: what each operator asked to be told by mail, and every alert made, so that each
goes out once, and within 受付時間."""

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backoffice.db import enum_column, utcnow
from backoffice.extensions import db
from backoffice.inquiries.models import Inquiry, InquiryCategory
from backoffice.operators.models import Operator


class AlertKind(enum.Enum):
    NEW_TICKET = "new_ticket"  # a new ticket in a 中カテゴリー the operator watches
    ASSIGNED = "assigned"  # a ticket was assigned to the operator
    ANSWER = "answer"  # the requester answered on the operator's (or an unassigned, watched) ticket
    DIGEST = "digest"  # the morning's list of the operator's tickets due today and overdue

    @property
    def label(self) -> str:
        return {
            "new_ticket": "新しいお問い合わせ",
            "assigned": "担当の割り当て",
            "answer": "依頼者からの返信",
            "digest": "本日期限・期限切れのお問い合わせ",
        }[self.value]


watched_categories = sa.Table(
    "operator_watched_categories",
    db.metadata,
    sa.Column("operator_id", sa.ForeignKey("operators.id", ondelete="CASCADE"), primary_key=True),
    sa.Column(
        "category_id",
        sa.ForeignKey("inquiry_categories.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    ),
)


class AlertSettings(db.Model):
    """An operator's choices (通知の設定). Without a row, the defaults: assignments, answers and the
    morning digest on, no 中カテゴリー watched."""

    __tablename__ = "operator_alert_settings"

    operator_id: Mapped[int] = mapped_column(
        sa.ForeignKey("operators.id", ondelete="CASCADE"), primary_key=True
    )
    assigned: Mapped[bool] = mapped_column(default=True)
    answers: Mapped[bool] = mapped_column(default=True)
    digest: Mapped[bool] = mapped_column(default=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    watched: Mapped[list[InquiryCategory]] = relationship(
        secondary=lambda: watched_categories,
        primaryjoin=lambda: AlertSettings.operator_id == watched_categories.c.operator_id,
        order_by=InquiryCategory.id,
    )


class OperatorAlert(db.Model):
    """One alert to one operator: mailed at once within 受付時間, else kept (`mailed_at` None) for the
    next opening. A digest row is made once a day per operator (the unique `digest_on`)."""

    __tablename__ = "operator_alerts"
    __table_args__ = (
        sa.UniqueConstraint("operator_id", "digest_on", name="uq_operator_alerts_digest"),
        sa.Index(
            "ix_operator_alerts_waiting",
            "operator_id",
            "id",
            postgresql_where=sa.text("mailed_at IS NULL"),
            sqlite_where=sa.text("mailed_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    operator_id: Mapped[int] = mapped_column(sa.ForeignKey("operators.id", ondelete="CASCADE"))
    kind: Mapped[AlertKind] = mapped_column(enum_column(AlertKind, "operator_alert_kind"))
    inquiry_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("inquiries.id", ondelete="CASCADE"), index=True
    )
    digest_on: Mapped[date | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    mailed_at: Mapped[datetime | None]

    operator: Mapped[Operator] = relationship()
    inquiry: Mapped[Inquiry | None] = relationship()
