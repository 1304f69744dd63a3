"""Service targets: a first response and a resolution within a number of business days per
中カテゴリー, counted in business time (minutes within 受付時間 on business days, see
backoffice.business_days), with the time spent 依頼者の回答待ち not counted.

Each ticket keeps its targets' due moments (set when it arrives, moved on by every wait), the business
minutes each took, and two columns the list filters on: `target_missed` (a finished target was late)
and `next_target_at` (when the running target falls due; None while waiting and once done). Every
change goes through the functions here, in the caller's transaction (triage and replies call them).
"""

from dataclasses import dataclass
from datetime import datetime, time

import sqlalchemy as sa

from backoffice.business_days import (
    add_business_minutes,
    as_days,
    business_minutes,
    day_minutes,
    desk_hours,
)
from backoffice.inquiries.models import MISSED_SQL, Inquiry, InquiryCategory
from backoffice.inquiries.vocabulary import DONE_STATUSES, InquiryStatus

S = InquiryStatus


def start(inquiry: Inquiry, category: InquiryCategory, now: datetime) -> None:
    """A new ticket's targets, from its arrival (`now`, which becomes its created_at)."""
    hours = desk_hours()
    length = day_minutes(hours)
    inquiry.created_at = now
    inquiry.first_response_due_at = add_business_minutes(
        now, category.first_response_business_days * length, hours
    )
    inquiry.resolution_due_at = add_business_minutes(
        now, category.target_business_days * length, hours
    )
    inquiry.waited_minutes = 0
    settle(inquiry)


def retarget(inquiry: Inquiry, category: InquiryCategory) -> None:
    """Re-filed under another 中カテゴリー: its targets from arrival, as if it had come in there."""
    if inquiry.created_at is None:
        return
    hours = desk_hours()
    length = day_minutes(hours)
    waited = inquiry.waited_minutes or 0
    answered = inquiry.first_response_at is not None
    inquiry.first_response_due_at = add_business_minutes(
        inquiry.created_at,
        category.first_response_business_days * length + (0 if answered else waited),
        hours,
    )
    inquiry.resolution_due_at = add_business_minutes(
        inquiry.created_at, category.target_business_days * length + waited, hours
    )
    settle(inquiry)


def responded(inquiry: Inquiry, now: datetime) -> None:
    """The first public reply: how long it took. Call before setting first_response_at."""
    if inquiry.first_response_at is not None:
        return
    inquiry.first_response_at = now
    inquiry.first_response_minutes = _spent(inquiry, now, desk_hours())
    settle(inquiry)


def status_moved(inquiry: Inquiry, old: InquiryStatus, new: InquiryStatus, now: datetime) -> None:
    """After a status change (resolved_at already set or cleared), before waiting_since is reset: a
    wait that ends moves the due moments on by its business time; a ticket done is measured."""
    hours = desk_hours()
    if old is S.WAITING and inquiry.waiting_since is not None:
        waited = business_minutes(inquiry.waiting_since, now, hours)
        inquiry.waited_minutes = (inquiry.waited_minutes or 0) + waited
        if inquiry.first_response_at is None and inquiry.first_response_due_at is not None:
            inquiry.first_response_due_at = add_business_minutes(
                inquiry.first_response_due_at, waited, hours
            )
        if inquiry.resolution_due_at is not None:
            inquiry.resolution_due_at = add_business_minutes(
                inquiry.resolution_due_at, waited, hours
            )
    if new in DONE_STATUSES and inquiry.resolved_at is not None:
        inquiry.resolution_minutes = _spent(inquiry, inquiry.resolved_at, hours)
    elif new not in DONE_STATUSES:
        inquiry.resolution_minutes = None
    settle(inquiry, status=new)


def _spent(inquiry: Inquiry, until: datetime, hours: tuple[time, time]) -> int:
    """Business minutes from arrival to `until`, less the time waited for the requester."""
    total = business_minutes(inquiry.created_at, until, hours)
    return max(total - (inquiry.waited_minutes or 0), 0)


def settle(inquiry: Inquiry, status: InquiryStatus | None = None) -> None:
    """`target_missed` and `next_target_at` from the ticket's times and due moments."""
    status = status or inquiry.status or S.NEW
    late_reply = (
        inquiry.first_response_at is not None
        and inquiry.first_response_due_at is not None
        and inquiry.first_response_at > inquiry.first_response_due_at
    )
    late_resolution = (
        inquiry.resolved_at is not None
        and inquiry.resolution_due_at is not None
        and inquiry.resolved_at > inquiry.resolution_due_at
    )
    inquiry.target_missed = status is not S.SPAM and (late_reply or late_resolution)
    if status in DONE_STATUSES or status is S.WAITING:
        inquiry.next_target_at = None
    elif inquiry.first_response_at is None:
        inquiry.next_target_at = inquiry.first_response_due_at
    else:
        inquiry.next_target_at = inquiry.resolution_due_at


def missed_clause(now: datetime) -> sa.ColumnElement[bool]:
    """「目標超過」: a target missed, or a running one past its due moment now."""
    return sa.or_(sa.text(MISSED_SQL), running_late_clause(now))


def running_late_clause(now: datetime) -> sa.ColumnElement[bool]:
    """Unfinished and past the running target's due moment (never while waiting for the requester)."""
    return Inquiry.next_target_at < now


@dataclass(frozen=True)
class TargetState:
    """One target of one ticket, for the ticket page."""

    label: str
    target_days: int | None
    # Business days taken (done) or so far (running), one decimal (「1.3」).
    days: str
    due_at: datetime | None
    done: bool
    met: bool | None  # None: no target recorded (a ticket from before targets)


def states(inquiry: Inquiry, category: InquiryCategory, now: datetime) -> list[TargetState]:
    hours = desk_hours()
    length = day_minutes(hours)
    waiting = 0
    if inquiry.status is S.WAITING and inquiry.waiting_since is not None:
        waiting = business_minutes(inquiry.waiting_since, now, hours)
    running = max(_spent(inquiry, now, hours) - waiting, 0)

    def state(
        label: str, target: int, minutes: int | None, at: datetime | None, due: datetime | None
    ) -> TargetState:
        done = at is not None
        taken = minutes if done else running
        if due is None:
            met = None
        elif done:
            met = at <= due
        else:
            met = inquiry.status is S.WAITING or now <= due
        return TargetState(label, target, as_days(taken or 0, length), due, done, met)

    return [
        state(
            "初回回答",
            category.first_response_business_days,
            inquiry.first_response_minutes,
            inquiry.first_response_at,
            inquiry.first_response_due_at,
        ),
        state(
            "解決",
            category.target_business_days,
            inquiry.resolution_minutes,
            inquiry.resolved_at,
            inquiry.resolution_due_at,
        ),
    ]
