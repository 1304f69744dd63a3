"""Operators' work on tickets: status along an explicit transition map, assignment, priority, due date,
public replies (emailed) and internal notes (never emailed), in bulk too.

Every change is one transaction with its history entry and audit event. A change based on an older
version of the ticket is refused (StaleTicket) instead of overwriting someone else's work.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm.exc import StaleDataError

from backoffice.audit.operations import record
from backoffice.db import utcnow
from backoffice.display import to_jst
from backoffice.extensions import db
from backoffice.inquiries.models import (
    CannedReply,
    EventKind,
    Inquiry,
    InquiryEvent,
    InquiryStatus,
    Priority,
)
from backoffice.mail import outbox
from backoffice.operators.models import Operator
from backoffice.operators.operations import OperatorActor

S = InquiryStatus
TRANSITIONS: dict[InquiryStatus, frozenset[InquiryStatus]] = {
    S.NEW: frozenset({S.IN_PROGRESS, S.ON_HOLD, S.ANSWERED, S.RESOLVED, S.REJECTED, S.SPAM}),
    S.IN_PROGRESS: frozenset({S.ON_HOLD, S.ANSWERED, S.RESOLVED, S.REJECTED, S.SPAM}),
    S.ON_HOLD: frozenset({S.IN_PROGRESS, S.ANSWERED, S.RESOLVED, S.REJECTED, S.SPAM}),
    S.ANSWERED: frozenset({S.IN_PROGRESS, S.RESOLVED, S.CLOSED}),
    S.RESOLVED: frozenset({S.CLOSED, S.IN_PROGRESS}),
    S.CLOSED: frozenset({S.IN_PROGRESS}),
    S.REJECTED: frozenset({S.IN_PROGRESS}),
    S.SPAM: frozenset({S.NEW}),
}
# Tickets still waiting for the help desk: these can be overdue.
OPEN_STATUSES = frozenset({S.NEW, S.IN_PROGRESS, S.ON_HOLD})
DONE_STATUSES = frozenset({S.RESOLVED, S.CLOSED, S.REJECTED, S.SPAM})


class TriageError(Exception):
    """`str(error)` is the Japanese message for the operator."""


class InvalidTransition(TriageError):
    pass


class StaleTicket(TriageError):
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
    return sa.and_(Inquiry.status.in_(OPEN_STATUSES), Inquiry.due_on < today)


@dataclass(frozen=True)
class TicketChanges:
    """What the ticket page's 「更新する」 sends; None means "leave as it is"."""

    status: InquiryStatus | None = None
    assignee_id: int | None = None
    unassign: bool = False
    priority: Priority | None = None
    due_on: date | None = None


def _load(inquiry_id: int, expected_version: int | None) -> Inquiry:
    inquiry = db.session.get(Inquiry, inquiry_id)
    if inquiry is None:
        raise TriageError("お問い合わせが見つかりません。")
    if expected_version is not None and inquiry.version != expected_version:
        raise StaleTicket
    return inquiry


def _event(inquiry: Inquiry, actor: OperatorActor, kind: EventKind, **values: str | None) -> None:
    inquiry.events.append(
        InquiryEvent(kind=kind, actor=actor.label, operator_id=actor.id, **values)
    )


def _commit() -> None:
    try:
        db.session.commit()
    except StaleDataError as error:
        db.session.rollback()
        raise StaleTicket from error


def move_status(inquiry: Inquiry, new: InquiryStatus, actor: OperatorActor) -> None:
    """Change the status along the transition map, with history and audit, in the caller's transaction.
    Raises InvalidTransition."""
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
    if new in DONE_STATUSES and inquiry.resolved_at is None:
        inquiry.resolved_at = now
    elif new not in DONE_STATUSES:
        inquiry.resolved_at = None
    _event(inquiry, actor, EventKind.STATUS_CHANGED, old_value=old.value, new_value=new.value)
    _audit_change(inquiry, actor, "ticket.status_changed", old.value, new.value)


def _set_assignee(inquiry: Inquiry, assignee: Operator | None, actor: OperatorActor) -> None:
    if inquiry.assignee_id == (assignee.id if assignee else None):
        return
    old = inquiry.assignee.name if inquiry.assignee else None
    inquiry.assignee = assignee
    new = assignee.name if assignee else None
    _event(inquiry, actor, EventKind.ASSIGNED, old_value=old, new_value=new)
    _audit_change(inquiry, actor, "ticket.assigned", old, new)


def _audit_change(
    inquiry: Inquiry, actor: OperatorActor, action: str, old: str | None, new: str | None
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
        raise TriageError("担当者に選んだ運営担当者が見つかりません。")
    return operator


def update_ticket(
    inquiry_id: int, changes: TicketChanges, actor: OperatorActor, *, expected_version: int
) -> Inquiry:
    """Apply the changes of the ticket page; each one becomes a history entry and an audit event.

    Raises StaleTicket, InvalidTransition or TriageError; nothing is saved then.
    """
    inquiry = _load(inquiry_id, expected_version)
    try:
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
        if changes.due_on is not None and changes.due_on != inquiry.due_on:
            old_due = inquiry.due_on.isoformat() if inquiry.due_on else None
            _audit_change(inquiry, actor, "ticket.due_changed", old_due, changes.due_on.isoformat())
            inquiry.due_on = changes.due_on
    except TriageError:
        db.session.rollback()
        raise
    _commit()
    return inquiry


def reply(inquiry_id: int, body: str, actor: OperatorActor, *, expected_version: int) -> list[int]:
    """A public reply: shown on the requester's status page and emailed through the outbox. A ticket
    waiting for the help desk moves to 回答済. Returns the ids of the queued emails.

    Raises StaleTicket or TriageError (empty body).
    """
    text = body.strip()
    if not text:
        raise TriageError("＊回答内容を入力してください。")
    inquiry = _load(inquiry_id, expected_version)
    _event(inquiry, actor, EventKind.PUBLIC_REPLY, body=text)
    if inquiry.first_response_at is None:
        inquiry.first_response_at = utcnow()
    if inquiry.status in OPEN_STATUSES:
        move_status(inquiry, InquiryStatus.ANSWERED, actor)
    email = outbox.enqueue("inquiry_reply", inquiry.email, {"inquiry": inquiry, "body": text})
    record("ticket.replied", **actor.audit(), target_type="inquiry", target_id=inquiry.id)
    db.session.flush()
    email_id = email.id
    _commit()
    return [email_id]


def add_note(inquiry_id: int, body: str, actor: OperatorActor) -> Inquiry:
    """An internal note: for operators only, never emailed. Notes never conflict, so no version check.

    Raises TriageError for an empty note.
    """
    text = body.strip()
    if not text:
        raise TriageError("＊内部メモを入力してください。")
    inquiry = _load(inquiry_id, None)
    db.session.add(
        InquiryEvent(
            inquiry=inquiry,
            kind=EventKind.INTERNAL_NOTE,
            actor=actor.label,
            operator_id=actor.id,
            body=text,
        )
    )
    record("ticket.noted", **actor.audit(), target_type="inquiry", target_id=inquiry.id)
    db.session.commit()
    return inquiry


@dataclass
class BulkResult:
    changed: int = 0
    refused: list[str] = field(default_factory=list)


def bulk_update(
    inquiry_ids: Iterable[int], changes: TicketChanges, actor: OperatorActor
) -> BulkResult:
    """The same changes on many tickets, each under the same rules; refused tickets are listed by 受付番号
    with the reason, the others are changed."""
    result = BulkResult()
    for inquiry_id in inquiry_ids:
        inquiry = db.session.get(Inquiry, inquiry_id)
        if inquiry is None:
            continue
        number = inquiry.reference_number
        try:
            update_ticket(inquiry_id, changes, actor, expected_version=inquiry.version)
        except TriageError as error:
            result.refused.append(f"{number}：{error}")
        else:
            result.changed += 1
    return result


def canned_replies() -> list[CannedReply]:
    return list(
        db.session.scalars(
            sa.select(CannedReply)
            .where(CannedReply.is_active)
            .order_by(CannedReply.position, CannedReply.id)
        )
    )
