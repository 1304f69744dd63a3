"""Operators' work on inquiries: status along an explicit transition map, assignment, priority, due
date, internal notes (never emailed); public replies: backoffice.inquiries.replies; in bulk:
backoffice.inquiries.bulk.

This module owns an inquiry's history: `add_event`, `add_public_reply` and `add_internal_note` are the
only writers of history entries, and other domains (issuance, merge, rejection) call them. Every change
is one transaction with its history entry and audit event. A change based on an older version of the
inquiry is refused (StaleInquiry) instead of overwriting someone else's work.
"""

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm.exc import StaleDataError

from backoffice.alerts import operations as alerts
from backoffice.attachments import operations as attachments
from backoffice.attachments.checks import Stored
from backoffice.attachments.operations import Upload
from backoffice.audit.operations import record
from backoffice.business_days import add_business_days, business_days_between
from backoffice.db import utcnow
from backoffice.display import to_jst
from backoffice.domain_errors import DomainError
from backoffice.extensions import db
from backoffice.inquiries import notifications, targets
from backoffice.inquiries.actors import Actor
from backoffice.inquiries.canned import CannedReply
from backoffice.inquiries.models import Inquiry, InquiryEvent, is_open
from backoffice.inquiries.vocabulary import (
    DONE_STATUSES,
    OPEN_STATUSES,
    EventKind,
    InquiryStatus,
    Priority,
)
from backoffice.onboarding import progress
from backoffice.operators.models import Operator, Role
from backoffice.operators.operations import OperatorActor

S = InquiryStatus
TRANSITIONS: dict[InquiryStatus, frozenset[InquiryStatus]] = {
    S.NEW: frozenset(
        {S.IN_PROGRESS, S.ON_HOLD, S.ANSWERED, S.WAITING, S.RESOLVED, S.REJECTED, S.SPAM}
    ),
    S.IN_PROGRESS: frozenset({S.ON_HOLD, S.ANSWERED, S.WAITING, S.RESOLVED, S.REJECTED, S.SPAM}),
    S.ON_HOLD: frozenset({S.IN_PROGRESS, S.ANSWERED, S.WAITING, S.RESOLVED, S.REJECTED, S.SPAM}),
    S.ANSWERED: frozenset({S.IN_PROGRESS, S.WAITING, S.RESOLVED, S.CLOSED}),
    S.WAITING: frozenset({S.IN_PROGRESS, S.ANSWERED, S.RESOLVED, S.CLOSED, S.REJECTED}),
    S.RESOLVED: frozenset({S.CLOSED, S.IN_PROGRESS}),
    S.CLOSED: frozenset({S.IN_PROGRESS}),
    S.REJECTED: frozenset({S.IN_PROGRESS}),
    S.SPAM: frozenset({S.NEW}),
}
# The sweep's clock (`waiting_since`) runs in these: reminders and closing, 解決済 → 完了.
SWEPT_STATUSES = frozenset({S.WAITING, S.RESOLVED})


class TriageError(DomainError):
    """`str(error)` is the Japanese message for the operator."""


class InvalidTransition(TriageError):
    field = "status"


class StaleInquiry(TriageError):
    """Someone changed the inquiry since the page was loaded (no field: the whole form is outdated)."""

    def __init__(self) -> None:
        super().__init__(
            "ほかの担当者がこのお問い合わせを更新しました。最新の内容を確認してから、もう一度操作してください。"
        )


def allowed_transitions(status: InquiryStatus) -> list[InquiryStatus]:
    return [s for s in InquiryStatus if s in TRANSITIONS[status]]


def is_overdue(inquiry: Inquiry, today: date | None = None) -> bool:
    today = today or to_jst(utcnow()).date()
    return inquiry.status in OPEN_STATUSES and inquiry.due_on is not None and inquiry.due_on < today


def overdue_clause(today: date | None = None) -> sa.ColumnElement[bool]:
    """The same rule as `is_overdue`, as SQL."""
    today = today or to_jst(utcnow()).date()
    return sa.and_(is_open(), Inquiry.due_on < today)


@dataclass(frozen=True)
class InquiryChanges:
    """What the ticket page's 「更新する」 sends; None means "leave as it is"."""

    status: InquiryStatus | None = None
    assignee_id: int | None = None
    unassign: bool = False
    priority: Priority | None = None
    due_on: date | None = None


def load(inquiry_id: int, expected_version: int | None) -> Inquiry:
    """The ticket to change. Raises TriageError (none, or merged: it is worked on where it was
    merged into) or StaleInquiry."""
    inquiry = db.session.get(Inquiry, inquiry_id)
    if inquiry is None:
        raise TriageError("お問い合わせが見つかりません。")
    refuse_merged(inquiry)
    if expected_version is not None and inquiry.version != expected_version:
        raise StaleInquiry
    return inquiry


def refuse_merged(inquiry: Inquiry) -> None:
    """A merged ticket takes no more changes: its thread lives on the ticket it was merged into."""
    if inquiry.merged_into_id is not None:
        raise TriageError(
            f"このお問い合わせは受付番号 {inquiry.surviving.reference_number} に統合済みです。"
            "統合先で対応してください。"
        )


def add_event(inquiry: Inquiry, actor: Actor, kind: EventKind, **values: Any) -> InquiryEvent:
    """One entry of the inquiry's history, in the caller's transaction."""
    event = InquiryEvent(kind=kind, actor=actor.label, operator_id=actor.id, **values)
    inquiry.events.append(event)
    return event


def add_public_reply(
    inquiry: Inquiry,
    actor: OperatorActor,
    text: str,
    *,
    asks: bool = False,
    files: list[Stored] | None = None,
) -> None:
    """A public reply in the caller's transaction: the history entry (shown on the requester's status
    page), the first response time, and the mail to the requester. The requester's messages before
    it count as answered. `asks`: the reply waits for the requester's answer (the mail says how);
    `files`: stored attachments, shown on the status page and carried by the mail."""
    event = add_event(inquiry, actor, EventKind.PUBLIC_REPLY, body=text)
    rows = attachments.attach(files or [], actor, inquiry=inquiry, event=event)
    targets.responded(inquiry, utcnow())
    inquiry.requester_replied_at = None
    notifications.queue_reply(inquiry, text, asks=asks, files=rows)


def add_internal_note(
    inquiry: Inquiry, actor: OperatorActor, text: str, files: list[Stored] | None = None
) -> None:
    """An internal note (for operators only, never emailed) in the caller's transaction."""
    event = add_event(inquiry, actor, EventKind.INTERNAL_NOTE, body=text)
    attachments.attach(files or [], actor, inquiry=inquiry, event=event)


def commit() -> None:
    try:
        db.session.commit()
    except StaleDataError as error:
        db.session.rollback()
        raise StaleInquiry from error


def move_status(inquiry: Inquiry, new: InquiryStatus, actor: Actor) -> None:
    """Change the status along the transition map, with history and audit, in the caller's transaction:
    the sweep's clock starts in 依頼者の回答待ち and 解決済, and the due date moves on by the business
    days spent waiting. Raises InvalidTransition."""
    old = inquiry.status
    if new == old:
        return
    if new not in TRANSITIONS[old]:
        raise InvalidTransition(
            f"「{old.label}」から「{new.label}」には変更できません。"
            f"変更できるのは「{'」「'.join(s.label for s in allowed_transitions(old))}」です。"
        )
    inquiry.status = new
    now = utcnow()
    targets.status_moving(inquiry, old, new, now)
    if new in DONE_STATUSES and inquiry.resolved_at is None:
        inquiry.resolved_at = now
    elif new not in DONE_STATUSES:
        inquiry.resolved_at = None
    _run_clocks(inquiry, old, new, now)
    if (request := inquiry.account_request) is not None:
        # The onboarding funnel's 却下, from whichever screen; reopened, the request is pending again.
        if new is S.REJECTED:
            progress.rejected(request.medical_code)
        elif old is S.REJECTED:
            progress.requested(request.medical_code, request.institution_name)
    add_event(inquiry, actor, EventKind.STATUS_CHANGED, old_value=old.value, new_value=new.value)
    _audit_change(inquiry, actor, "ticket.status_changed", old.value, new.value)


def _run_clocks(inquiry: Inquiry, old: InquiryStatus, new: InquiryStatus, now: datetime) -> None:
    targets.status_moved(inquiry, old, new, now)
    if old is S.WAITING and inquiry.waiting_since is not None and inquiry.due_on is not None:
        waited = business_days_between(to_jst(inquiry.waiting_since).date(), to_jst(now).date())
        inquiry.due_on = add_business_days(inquiry.due_on, waited)
    inquiry.waiting_since = now if new in SWEPT_STATUSES else None
    inquiry.reminded_at = None


def wait_for_requester(inquiry: Inquiry, actor: Actor) -> None:
    """依頼者の回答待ち, in the caller's transaction; asked again while waiting, the reminder's clock
    restarts (the days waited so far still move the due date)."""
    if inquiry.status is S.WAITING:
        _run_clocks(inquiry, S.WAITING, S.WAITING, utcnow())
    else:
        move_status(inquiry, S.WAITING, actor)


def _set_assignee(inquiry: Inquiry, assignee: Operator | None, actor: OperatorActor) -> None:
    if inquiry.assignee_id == (assignee.id if assignee else None):
        return
    old = inquiry.assignee.name if inquiry.assignee else None
    inquiry.assignee = assignee
    new = assignee.name if assignee else None
    add_event(inquiry, actor, EventKind.ASSIGNED, old_value=old, new_value=new)
    _audit_change(inquiry, actor, "ticket.assigned", old, new)
    if assignee is not None:
        alerts.note_assigned(inquiry, actor)


def assign_to_actor(inquiry: Inquiry, actor: OperatorActor) -> None:
    """The acting operator becomes the ticket's 担当者, with history and audit, in the caller's
    transaction (no alert: nobody is told of what they did themselves)."""
    operator = db.session.get(Operator, actor.id)
    if operator is not None:
        _set_assignee(inquiry, operator, actor)


def _audit_change(
    inquiry: Inquiry, actor: Actor, action: str, old: str | None, new: str | None
) -> None:
    record(
        action,
        **actor.audit(),
        target_type="inquiry",
        target_id=inquiry.id,
        detail={"old": old, "new": new},
    )


def _assignee(operator_id: int) -> Operator:
    operator = db.session.get(Operator, operator_id)
    if operator is None or not operator.is_active:
        raise TriageError("担当者に選んだ運営担当者が見つかりません。", field="assignee")
    return operator


def update_inquiry(
    inquiry_id: int, changes: InquiryChanges, actor: OperatorActor, *, expected_version: int
) -> Inquiry:
    """Apply the changes of the ticket page; each one becomes a history entry and an audit event.

    Raises StaleInquiry, InvalidTransition or TriageError; nothing is saved then.
    """
    inquiry = load(inquiry_id, expected_version)
    try:
        if changes.due_on is not None and changes.due_on != inquiry.due_on:
            old_due = inquiry.due_on.isoformat() if inquiry.due_on else None
            _audit_change(inquiry, actor, "ticket.due_changed", old_due, changes.due_on.isoformat())
            inquiry.due_on = changes.due_on
        # After the due date: leaving 依頼者の回答待ち moves the date on, and the page sends the one
        # it showed, which must not put the old date back.
        if changes.status is not None:
            move_status(inquiry, changes.status, actor)
        if changes.unassign:
            _set_assignee(inquiry, None, actor)
        elif changes.assignee_id is not None:
            _set_assignee(inquiry, _assignee(changes.assignee_id), actor)
        if changes.priority is not None and changes.priority != inquiry.priority:
            _audit_change(
                inquiry,
                actor,
                "ticket.priority_changed",
                inquiry.priority.value,
                changes.priority.value,
            )
            inquiry.priority = changes.priority
    except TriageError:
        db.session.rollback()
        raise
    commit()
    return inquiry


def add_note(
    inquiry_id: int, body: str, actor: OperatorActor, uploads: list[Upload] | None = None
) -> Inquiry:
    """An internal note: for operators only, never emailed. Notes never conflict, so no version check.
    Commits.

    Raises TriageError for an empty note (field `body`), FileRefused (field `attachments`).
    """
    text = body.strip()
    if not text:
        raise TriageError("＊内部メモを入力してください。", field="body")
    files = attachments.take(uploads) if uploads else []
    inquiry = load(inquiry_id, None)
    add_internal_note(inquiry, actor, text, files)
    record("ticket.noted", **actor.audit(), target_type="inquiry", target_id=inquiry.id)
    db.session.commit()
    return inquiry


def follow_ups(inquiry: Inquiry) -> list[Inquiry]:
    """The tickets a requester's later messages started from this one."""
    return list(
        db.session.scalars(
            sa.select(Inquiry).where(Inquiry.previous_id == inquiry.id).order_by(Inquiry.id)
        )
    )


def canned_replies() -> list[CannedReply]:
    return list(
        db.session.scalars(
            sa.select(CannedReply)
            .where(CannedReply.is_active)
            .order_by(CannedReply.position, CannedReply.id)
        )
    )


def assignable_operators() -> list[Operator]:
    """Who can be chosen as an assignee: active operators who may work on inquiries (not 閲覧者)."""
    return list(
        db.session.scalars(
            sa.select(Operator)
            .where(Operator.is_active, Operator.role != Role.VIEWER)
            .order_by(Operator.name)
        )
    )
