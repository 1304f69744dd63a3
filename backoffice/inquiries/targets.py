"""Service targets: a first response and a resolution within a number of business days per
中カテゴリー, counted in business time (minutes within 受付時間 on business days, see
backoffice.business_days); the time spent 依頼者の回答待ち, and 解決済 before a reopening, is not counted.

Each ticket keeps its targets' due moments (the last on-time minute of each: set on arrival, moved on
by every pause), the business minutes each took, whether each was met, and two columns the list
filters on: `target_missed` and `next_target_at` (when the running target falls due; None while
paused and once done). Every change goes through the functions here, in the caller's transaction
(triage, replies, merging and re-filing call them). Spam and merged tickets are never measured.
"""

from dataclasses import dataclass
from datetime import datetime, time

import sqlalchemy as sa

from backoffice.business_days import (
    as_days,
    business_minutes,
    day_minutes,
    desk_hours,
    late_from,
    on_time,
    shown_due,
)
from backoffice.inquiries.models import MISSED_SQL, Inquiry, InquiryCategory
from backoffice.inquiries.vocabulary import DONE_STATUSES, InquiryStatus

S = InquiryStatus
# The columns this module keeps on each ticket (what a backfill or a bulk load must write).
MEASURES = (
    "first_response_due_at",
    "resolution_due_at",
    "first_response_minutes",
    "resolution_minutes",
    "first_response_met",
    "resolution_met",
    "waited_minutes",
    "target_missed",
    "next_target_at",
)
# The clock stops in these: waiting for the requester, and resolved (counted if it is reopened).
PAUSED = frozenset({S.WAITING, S.RESOLVED})
# Done statuses whose time is a pause when the ticket is reopened.
RESUMABLE = frozenset({S.RESOLVED, S.CLOSED, S.REJECTED})


def start(inquiry: Inquiry, category: InquiryCategory, now: datetime) -> None:
    """A new ticket's targets, from its arrival (`now`, which becomes its created_at)."""
    inquiry.created_at = now
    inquiry.waited_minutes = 0
    _aim(inquiry, category, answered_wait=0)
    settle(inquiry)


def retarget(inquiry: Inquiry, category: InquiryCategory) -> None:
    """Re-filed under another 中カテゴリー: its targets from arrival, as if it had come in there (a
    ticket from before the targets stays for `flask tickets measure`)."""
    if inquiry.created_at is None or inquiry.first_response_due_at is None:
        return
    hours = desk_hours()
    answered_wait = None
    if inquiry.first_response_at is not None and inquiry.first_response_minutes is not None:
        # The waits before the first answer are what its measure left out.
        answered_wait = (
            business_minutes(inquiry.created_at, inquiry.first_response_at, hours)
            - inquiry.first_response_minutes
        )
    _aim(inquiry, category, answered_wait=answered_wait)
    if inquiry.first_response_at is not None and inquiry.first_response_due_at is not None:
        inquiry.first_response_met = on_time(
            inquiry.first_response_at, inquiry.first_response_due_at
        )
    if inquiry.resolved_at is not None and inquiry.resolution_due_at is not None:
        inquiry.resolution_met = on_time(inquiry.resolved_at, inquiry.resolution_due_at)
    if inquiry.status in PAUSED and inquiry.waiting_since is not None:
        # Judged again against the new targets, as when the clock stopped.
        if inquiry.first_response_at is None:
            inquiry.first_response_met = None
        if inquiry.resolved_at is None:
            inquiry.resolution_met = None
        _late_when_paused(inquiry, inquiry.waiting_since)
    settle(inquiry)


def _aim(inquiry: Inquiry, category: InquiryCategory, answered_wait: int | None) -> None:
    hours = desk_hours()
    length = day_minutes(hours)
    waited = inquiry.waited_minutes or 0
    first_wait = waited if answered_wait is None else answered_wait
    inquiry.first_response_due_at = late_from(
        inquiry.created_at, category.first_response_business_days * length + first_wait, hours
    )
    inquiry.resolution_due_at = late_from(
        inquiry.created_at, category.target_business_days * length + waited, hours
    )


def responded(inquiry: Inquiry, now: datetime) -> None:
    """The first public reply: how long it took, and whether in time."""
    if inquiry.first_response_at is not None:
        return
    inquiry.first_response_at = now
    inquiry.first_response_minutes = _spent(inquiry, now, desk_hours())
    if inquiry.first_response_due_at is not None:
        inquiry.first_response_met = on_time(now, inquiry.first_response_due_at)
    settle(inquiry)


def status_moving(inquiry: Inquiry, old: InquiryStatus, new: InquiryStatus, now: datetime) -> None:
    """Before a status change touches resolved_at: a reopened ticket's time since its resolution is
    a pause (its due moments move on by it), as is a wait's (in status_moved)."""
    if old in RESUMABLE and new not in DONE_STATUSES and inquiry.resolved_at is not None:
        _resume(inquiry, business_minutes(inquiry.resolved_at, now, desk_hours()))


def _resume(inquiry: Inquiry, waited: int) -> None:
    hours = desk_hours()
    inquiry.waited_minutes = (inquiry.waited_minutes or 0) + waited
    if inquiry.first_response_at is None and inquiry.first_response_due_at is not None:
        inquiry.first_response_due_at = late_from(inquiry.first_response_due_at, waited, hours)
    if inquiry.resolution_due_at is not None:
        inquiry.resolution_due_at = late_from(inquiry.resolution_due_at, waited, hours)


def status_moved(inquiry: Inquiry, old: InquiryStatus, new: InquiryStatus, now: datetime) -> None:
    """After a status change (resolved_at already set or cleared), before waiting_since is reset: a
    pause that ends moves the due moments on by its business time; a ticket done is measured; a
    running target already past due when the clock stops is missed for good."""
    hours = desk_hours()
    if old is S.WAITING and inquiry.waiting_since is not None:
        _resume(inquiry, business_minutes(inquiry.waiting_since, now, hours))
    if new in PAUSED and old not in PAUSED:
        _late_when_paused(inquiry, now)
    if new in DONE_STATUSES and old not in DONE_STATUSES and inquiry.resolved_at is not None:
        inquiry.resolution_minutes = _spent(inquiry, inquiry.resolved_at, hours)
        if inquiry.resolution_due_at is not None:
            inquiry.resolution_met = on_time(inquiry.resolved_at, inquiry.resolution_due_at)
    elif new not in DONE_STATUSES and old in DONE_STATUSES:
        inquiry.resolution_minutes = None
        inquiry.resolution_met = None  # measured again when it is resolved again
    if new in DONE_STATUSES and inquiry.first_response_at is None:
        inquiry.first_response_met = None  # finished without an answer: nothing to measure
    settle(inquiry, status=new)


def _late_when_paused(inquiry: Inquiry, now: datetime) -> None:
    if (
        inquiry.first_response_at is None
        and inquiry.first_response_due_at is not None
        and not on_time(now, inquiry.first_response_due_at)
    ):
        inquiry.first_response_met = False
    if (
        inquiry.resolved_at is None
        and inquiry.resolution_due_at is not None
        and not on_time(now, inquiry.resolution_due_at)
    ):
        inquiry.resolution_met = False


def _spent(inquiry: Inquiry, until: datetime, hours: tuple[time, time]) -> int:
    """Business minutes from arrival to `until`, less the time paused."""
    total = business_minutes(inquiry.created_at, until, hours)
    return max(total - (inquiry.waited_minutes or 0), 0)


def measured(inquiry: object) -> bool:
    """Spam and tickets merged into another are not the desk's work: never measured or reported."""
    status = getattr(inquiry, "status", None)
    merged = getattr(inquiry, "merged_into_id", None) or getattr(inquiry, "merged_into", None)
    return status is not S.SPAM and not merged


def settle(inquiry: object, status: InquiryStatus | None = None) -> None:
    """`target_missed` and `next_target_at` from the ticket's measures and due moments."""
    status = status or getattr(inquiry, "status", None) or S.NEW
    if not measured(inquiry) or status is S.SPAM:
        inquiry.target_missed = False
        inquiry.next_target_at = None
        return
    inquiry.target_missed = inquiry.first_response_met is False or inquiry.resolution_met is False
    if status in DONE_STATUSES or status in PAUSED:
        inquiry.next_target_at = None
    elif inquiry.first_response_at is None:
        # The sooner of the two (a category may give the first answer the longer target).
        dues = [d for d in (inquiry.first_response_due_at, inquiry.resolution_due_at) if d]
        inquiry.next_target_at = min(dues) if dues else None
    else:
        inquiry.next_target_at = inquiry.resolution_due_at


def missed_clause(now: datetime) -> sa.ColumnElement[bool]:
    """「目標超過」: a target missed, or a running one past its due moment now."""
    return sa.or_(sa.text(MISSED_SQL), running_late_clause(now))


def running_late_clause(now: datetime) -> sa.ColumnElement[bool]:
    """Unfinished and past the running target's due moment (never while the clock is stopped)."""
    return Inquiry.next_target_at < now.replace(second=0, microsecond=0)


@dataclass(frozen=True)
class TargetState:
    """One target of one ticket, for the ticket page."""

    label: str
    target_days: int
    # Business days taken (done) or so far (running), one decimal (「1.3」).
    days: str
    due_at: datetime | None  # as people read it (an opening shown as the closing before it)
    done: bool
    met: bool | None  # None: no target recorded (a ticket from before targets)
    note: str | None = None  # instead of a measure: finished without an answer, not measured


def states(inquiry: Inquiry, category: InquiryCategory, now: datetime) -> list[TargetState]:
    hours = desk_hours()
    length = day_minutes(hours)
    paused = 0
    if inquiry.status in PAUSED and inquiry.waiting_since is not None:
        paused = business_minutes(inquiry.waiting_since, now, hours)
    running = max(_spent(inquiry, now, hours) - paused, 0)
    finished = inquiry.status in DONE_STATUSES

    def state(
        label: str,
        target: int,
        minutes: int | None,
        at: datetime | None,
        due: datetime | None,
        met: bool | None,
    ) -> TargetState:
        shown = shown_due(due, hours) if due is not None else None
        if not measured(inquiry):
            return TargetState(label, target, "", shown, True, None, "対象外（スパム・統合済み）")
        if at is None and finished:
            return TargetState(label, target, "", shown, True, None, "回答せずに完了")
        if due is None:
            return TargetState(label, target, "", None, at is not None, None)
        if at is not None:
            return TargetState(label, target, as_days(minutes or 0, length), shown, True, met)
        late = met is False or (inquiry.status not in PAUSED and not on_time(now, due))
        return TargetState(label, target, as_days(running, length), shown, False, not late)

    return [
        state(
            "初回回答",
            category.first_response_business_days,
            inquiry.first_response_minutes,
            inquiry.first_response_at,
            inquiry.first_response_due_at,
            inquiry.first_response_met,
        ),
        state(
            "解決",
            category.target_business_days,
            inquiry.resolution_minutes,
            inquiry.resolved_at,
            inquiry.resolution_due_at,
            inquiry.resolution_met,
        ),
    ]
