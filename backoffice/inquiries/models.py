"""Inquiry tickets, their category tree, category-specific details and history (the kinds and
statuses they use: backoffice.inquiries.vocabulary; the form's drafts: drafts.py; 定型文: canned.py)."""

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backoffice.db import enum_column, utcnow
from backoffice.extensions import db
from backoffice.inquiries.vocabulary import (
    DONE_ORDER,
    OPEN_ORDER,
    OPEN_SQL,
    UNFINISHED_SQL,
    CategoryKind,
    Channel,
    EventKind,
    InquiryStatus,
    Intake,
    Priority,
)

# A target was missed, as the partial index and the 「目標超過」 filter both write it (SQLite uses a
# partial index only for a query that repeats its condition).
MISSED_SQL = "target_missed = true"
# What the reports read beside each time (migration 0025).
_REPORT_COMMON = ["category_id", "status", "merged_into_id"]
REPORT_RECEIVED = [*_REPORT_COMMON, "intake"]
REPORT_ANSWERED = [*_REPORT_COMMON, "assignee_id", "first_response_minutes", "first_response_met"]
REPORT_RESOLVED = [*_REPORT_COMMON, "assignee_id", "resolution_minutes", "resolution_met"]

if TYPE_CHECKING:
    from backoffice.operators.models import Operator


class InquiryCategory(db.Model):
    """A node of the category tree: a 大カテゴリー (no parent) or a 中カテゴリー under one."""

    __tablename__ = "inquiry_categories"
    __table_args__ = (
        sa.UniqueConstraint("parent_id", "name", name="uq_inquiry_categories_parent_name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("inquiry_categories.id"), index=True
    )
    name: Mapped[str] = mapped_column(sa.String(100))
    position: Mapped[int] = mapped_column(default=0)
    is_active: Mapped[bool] = mapped_column(default=True)
    kind: Mapped[CategoryKind] = mapped_column(
        enum_column(CategoryKind, "category_kind"), default=CategoryKind.GENERAL
    )
    # The service targets (backoffice.inquiries.targets), in business days of 受付時間 (weekends,
    # public holidays and 12/29–1/3 excluded): the first answer, and resolution (also the due date).
    first_response_business_days: Mapped[int] = mapped_column(default=1, server_default="1")
    target_business_days: Mapped[int] = mapped_column(default=5, server_default="5")
    # A ticket waiting for the requester is reminded, then closed, after this many business days.
    reminder_business_days: Mapped[int] = mapped_column(default=3, server_default="3")
    close_business_days: Mapped[int] = mapped_column(default=10, server_default="10")

    parent: Mapped["InquiryCategory | None"] = relationship(
        remote_side=[id], back_populates="children"
    )
    children: Mapped[list["InquiryCategory"]] = relationship(
        back_populates="parent", order_by="InquiryCategory.position"
    )

    @property
    def is_account_request(self) -> bool:
        return self.kind is CategoryKind.ACCOUNT_REQUEST

    def __str__(self) -> str:
        return self.path

    @property
    def path(self) -> str:
        """「大カテゴリー ＞ 中カテゴリー」 as shown to people."""
        return f"{self.parent.name} ＞ {self.name}" if self.parent else self.name


class Inquiry(db.Model):
    """A ticket. The 受付番号 is random (never derived from another), the status token is stored hashed."""

    __tablename__ = "inquiries"
    # Indexes for the back office at national scale (docs/performance.md); the trigram index for the
    # search box is PostgreSQL-only and lives in migration 0005 (backoffice.inquiries.search).
    __table_args__ = (
        sa.Index("ix_inquiries_created_at_id", "created_at", "id"),
        # A filtered list's page, in the list's order (migration 0006).
        sa.Index("ix_inquiries_status_created_at_id", "status", "created_at", "id"),
        sa.Index("ix_inquiries_category_id_created_at_id", "category_id", "created_at", "id"),
        sa.Index("ix_inquiries_assignee_id_created_at_id", "assignee_id", "created_at", "id"),
        sa.Index(
            "ix_inquiries_category_id_status_created_at_id",
            "category_id",
            "status",
            "created_at",
            "id",
        ),
        sa.Index(
            "ix_inquiries_open_category_id",
            "category_id",
            postgresql_where=sa.text(OPEN_SQL),
            sqlite_where=sa.text(OPEN_SQL),
        ),
        sa.Index(
            "ix_inquiries_open_due_on",
            "due_on",
            postgresql_where=sa.text(OPEN_SQL),
            sqlite_where=sa.text(OPEN_SQL),
        ),
        # The queues 自分の担当, 未割り当て and ID発行申請 (backoffice.inquiries.queues) in the list's
        # order: unfinished tickets are few among an operator's or a category's (migration 0020).
        sa.Index(
            "ix_inquiries_unfinished_assignee_id",
            "assignee_id",
            "created_at",
            "id",
            postgresql_where=sa.text(UNFINISHED_SQL),
            sqlite_where=sa.text(UNFINISHED_SQL),
        ),
        sa.Index(
            "ix_inquiries_unfinished_category_id",
            "category_id",
            "created_at",
            "id",
            postgresql_where=sa.text(UNFINISHED_SQL),
            sqlite_where=sa.text(UNFINISHED_SQL),
        ),
        # 「依頼者から返信あり」: few rows at any time, so the index holds only those.
        sa.Index(
            "ix_inquiries_requester_replied_at",
            "requester_replied_at",
            postgresql_where=sa.text("requester_replied_at IS NOT NULL"),
            sqlite_where=sa.text("requester_replied_at IS NOT NULL"),
        ),
        # What the sweep looks at: tickets waiting for the requester, and resolved ones.
        sa.Index(
            "ix_inquiries_waiting_since",
            "waiting_since",
            postgresql_where=sa.text("waiting_since IS NOT NULL"),
            sqlite_where=sa.text("waiting_since IS NOT NULL"),
        ),
        # レポート (backoffice.reports.figures): what arrived, was answered and was resolved in a
        # period, each with what the figures read (INCLUDE: index-only scans on PostgreSQL).
        sa.Index(
            "ix_inquiries_report_received",
            "created_at",
            postgresql_include=REPORT_RECEIVED,
        ),
        sa.Index(
            "ix_inquiries_first_response_at",
            "first_response_at",
            postgresql_where=sa.text("first_response_at IS NOT NULL"),
            sqlite_where=sa.text("first_response_at IS NOT NULL"),
            postgresql_include=REPORT_ANSWERED,
        ),
        sa.Index(
            "ix_inquiries_resolved_at",
            "resolved_at",
            postgresql_where=sa.text("resolved_at IS NOT NULL"),
            sqlite_where=sa.text("resolved_at IS NOT NULL"),
            postgresql_include=REPORT_RESOLVED,
        ),
        # What the retention has still to erase: finished tickets whose contact fields are kept.
        sa.Index(
            "ix_inquiries_kept_resolved_at",
            "resolved_at",
            postgresql_where=sa.text("resolved_at IS NOT NULL AND anonymised_at IS NULL"),
            sqlite_where=sa.text("resolved_at IS NOT NULL AND anonymised_at IS NULL"),
        ),
        # 「目標超過」: tickets past a running target now, and those that missed one.
        sa.Index(
            "ix_inquiries_next_target_at",
            "next_target_at",
            postgresql_where=sa.text("next_target_at IS NOT NULL"),
            sqlite_where=sa.text("next_target_at IS NOT NULL"),
        ),
        sa.Index(
            "ix_inquiries_target_missed_created_at_id",
            "created_at",
            "id",
            postgresql_where=sa.text(MISSED_SQL),
            sqlite_where=sa.text(MISSED_SQL),
        ),
        sa.Index(
            "ix_inquiries_unanswered_created_at",
            "created_at",
            postgresql_where=sa.text(f"first_response_at IS NULL AND {OPEN_SQL}"),
            sqlite_where=sa.text(f"first_response_at IS NULL AND {OPEN_SQL}"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference_number: Mapped[str] = mapped_column(sa.String(9), unique=True)
    # The draft the ticket was sent from: a second send of the same draft finds this ticket instead.
    submission_key: Mapped[str] = mapped_column(sa.String(64), unique=True)
    status_token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    # The same token sealed (backoffice.sealing), so that every later mail can carry the link.
    status_token_sealed: Mapped[str | None] = mapped_column(sa.Text)
    # The link last mailed on the requester's request (at most one such mail per cooldown).
    link_sent_at: Mapped[datetime | None]
    # The tag of the ticket's reply address (support+TAG@…): replies by mail find the ticket by it. It
    # grants nothing on the web; mail from another sender than the requester is held.
    reply_token: Mapped[str | None] = mapped_column(sa.String(32), unique=True)
    category_id: Mapped[int] = mapped_column(sa.ForeignKey("inquiry_categories.id"))
    status: Mapped[InquiryStatus] = mapped_column(
        enum_column(InquiryStatus, "inquiry_status"), default=InquiryStatus.NEW
    )
    # The names of the gram table (search_index.GRAM_FIELDS): a change must know the old value.
    requester_name: Mapped[str] = mapped_column(sa.String(100), active_history=True)
    requester_kana: Mapped[str] = mapped_column(sa.String(100), active_history=True)
    organization_name: Mapped[str | None] = mapped_column(sa.String(200), active_history=True)
    # None for a ticket logged from a call, a fax or a visit without one: nothing is mailed then.
    email: Mapped[str | None] = mapped_column(sa.String(254), index=True)
    phone: Mapped[str] = mapped_column(sa.String(11))
    intake: Mapped[Intake] = mapped_column(
        enum_column(Intake, "inquiry_intake"), default=Intake.FORM, server_default="form"
    )
    body: Mapped[str] = mapped_column(sa.Text, default="")
    # The bodies of the ticket's messages, appended as they are written, for the search box only
    # (one indexed expression per ticket; kept by backoffice.inquiries.search_index).
    messages_text: Mapped[str] = mapped_column(
        sa.Text, default="", server_default="", deferred=True
    )
    priority: Mapped[Priority] = mapped_column(
        enum_column(Priority, "inquiry_priority"), default=Priority.NORMAL, server_default="normal"
    )
    assignee_id: Mapped[int | None] = mapped_column(sa.ForeignKey("operators.id"))
    # The answer is due by the end of this day (Japan time).
    due_on: Mapped[date | None] = mapped_column(index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    first_response_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    # The service targets (backoffice.inquiries.targets): the moment each is missed (moved on by the
    # time paused), the business minutes each took and whether in time, the minutes paused so far,
    # whether a target was missed, and the running target's due moment (None while paused, once done).
    first_response_due_at: Mapped[datetime | None]
    resolution_due_at: Mapped[datetime | None]
    first_response_minutes: Mapped[int | None]
    resolution_minutes: Mapped[int | None]
    first_response_met: Mapped[bool | None]
    resolution_met: Mapped[bool | None]
    waited_minutes: Mapped[int] = mapped_column(default=0, server_default="0")
    target_missed: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    next_target_at: Mapped[datetime | None]
    # The requester wrote since the last operator reply (「依頼者から返信あり」); cleared by a reply.
    requester_replied_at: Mapped[datetime | None]
    # Since when the ticket is 依頼者の回答待ち or 解決済 (the sweep's clock), and its reminder.
    waiting_since: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]
    # A follow-up on a finished ticket is a new ticket that links to the old one.
    previous_id: Mapped[int | None] = mapped_column(sa.ForeignKey("inquiries.id"), index=True)
    # Merged into another ticket of the same requester: its thread lives there now, and its status
    # link and reply address lead there (backoffice.inquiries.merging).
    merged_into_id: Mapped[int | None] = mapped_column(sa.ForeignKey("inquiries.id"), index=True)
    # Its contact fields and bodies were erased at the end of their retention (backoffice.retention).
    anonymised_at: Mapped[datetime | None]
    # Optimistic locking: a save based on an older version is refused instead of overwriting.
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (SQLAlchemy's declarative hook)

    category: Mapped[InquiryCategory] = relationship()
    assignee: Mapped["Operator | None"] = relationship()
    previous: Mapped["Inquiry | None"] = relationship(remote_side=[id], foreign_keys=[previous_id])
    merged_into: Mapped["Inquiry | None"] = relationship(
        remote_side=[id], foreign_keys=[merged_into_id]
    )
    account_request: Mapped["AccountRequestDetails | None"] = relationship(
        back_populates="inquiry", cascade="all, delete-orphan"
    )
    events: Mapped[list["InquiryEvent"]] = relationship(
        back_populates="inquiry", order_by="InquiryEvent.id", cascade="all, delete-orphan"
    )

    @property
    def surviving(self) -> "Inquiry":
        """The ticket this one lives on as: itself, or the one it was merged into (and so on)."""
        ticket = self
        while ticket.merged_into is not None:
            ticket = ticket.merged_into
        return ticket


# The statuses as literals, in the partial indexes' order: a partial index serves a query only when
# the planner can see that the query's statuses are the index's (SQLite compares the words; a
# PostgreSQL generic plan of bound parameters cannot see them at all).
def is_open() -> sa.ColumnElement[bool]:
    """In OPEN_STATUSES, as the partial indexes on open tickets read it."""
    statuses = sa.bindparam(
        "open", list(OPEN_ORDER), expanding=True, literal_execute=True, unique=True
    )
    return Inquiry.status.in_(statuses)


def is_unfinished() -> sa.ColumnElement[bool]:
    """Not in DONE_STATUSES, as the partial indexes on unfinished tickets read it."""
    statuses = sa.bindparam(
        "done", list(DONE_ORDER), expanding=True, literal_execute=True, unique=True
    )
    return Inquiry.status.not_in(statuses)


class AccountRequestDetails(db.Model):
    """The 医療機関's details sent with a 「介護情報基盤ポータルのID発行申請」 inquiry."""

    __tablename__ = "inquiry_account_requests"

    inquiry_id: Mapped[int] = mapped_column(sa.ForeignKey("inquiries.id"), primary_key=True)
    medical_code: Mapped[str] = mapped_column(sa.String(10), index=True)
    # A failing check digit is never a reason to refuse: the operator sees a warning instead.
    medical_code_check_ok: Mapped[bool]
    institution_name: Mapped[str] = mapped_column(sa.String(200))
    institution_kana: Mapped[str] = mapped_column(sa.String(200))
    postal_code: Mapped[str] = mapped_column(sa.String(8))
    address: Mapped[str] = mapped_column(sa.String(300))
    department: Mapped[str | None] = mapped_column(sa.String(100))
    # 差し戻し: the fields the requester is asked to correct (backoffice.inquiries.corrections).
    correction_fields: Mapped[list[str] | None] = mapped_column(sa.JSON)

    inquiry: Mapped[Inquiry] = relationship(back_populates="account_request")


class InquiryEvent(db.Model):
    """Append-only history of a ticket: who did what, when, and the old → new value where one changed."""

    __tablename__ = "inquiry_events"
    # The ID request an organization's account was issued from (マイページ「お問い合わせ」), by its code.
    __table_args__ = (
        sa.Index(
            "ix_inquiry_events_account_issued",
            "new_value",
            postgresql_where=sa.text("kind = 'account_issued'"),
            sqlite_where=sa.text("kind = 'account_issued'"),
        ),
        # レポート: the replies sent in a period, per operator.
        sa.Index(
            "ix_inquiry_events_public_reply_created_at",
            "created_at",
            "operator_id",
            postgresql_where=sa.text("kind = 'public_reply'"),
            sqlite_where=sa.text("kind = 'public_reply'"),
            postgresql_include=["inquiry_id"],
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    inquiry_id: Mapped[int] = mapped_column(sa.ForeignKey("inquiries.id"), index=True)
    kind: Mapped[EventKind] = mapped_column(enum_column(EventKind, "event_kind"))
    actor: Mapped[str] = mapped_column(sa.String(200))
    operator_id: Mapped[int | None] = mapped_column(sa.ForeignKey("operators.id"))
    old_value: Mapped[str | None] = mapped_column(sa.String(200))
    new_value: Mapped[str | None] = mapped_column(sa.String(200))
    body: Mapped[str | None] = mapped_column(sa.Text)
    # A requester's message: how it came in, and the key that makes a repeated send one message.
    channel: Mapped[Channel | None] = mapped_column(enum_column(Channel, "message_channel"))
    message_key: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    inquiry: Mapped[Inquiry] = relationship(back_populates="events")

    @property
    def by_requester(self) -> bool:
        return self.kind in (EventKind.REQUESTER_MESSAGE, EventKind.CORRECTED)


class InquiryStatusCount(db.Model):
    """How many tickets have each status, kept in step by `backoffice.inquiries.counts` in the same
    transaction as every change, so the dashboard and the unfiltered list never count a million rows."""

    __tablename__ = "inquiry_status_counts"

    status: Mapped[InquiryStatus] = mapped_column(
        enum_column(InquiryStatus, "inquiry_status"), primary_key=True
    )
    count: Mapped[int] = mapped_column(sa.BigInteger, default=0)


@sa.event.listens_for(InquiryStatusCount.__table__, "after_create")
def _one_row_per_status(table: sa.Table, connection: sa.Connection, **kw: Any) -> None:
    """Tables made by `create_all` (tests) start with every counter, as migration 0005 does."""
    connection.execute(table.insert(), [{"status": s, "count": 0} for s in InquiryStatus])
