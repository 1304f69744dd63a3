"""`flask tickets measure`: the service targets of tickets that arrived before targets existed
(migration 0024), computed from what each ticket already records: its arrival, first response and
resolution times, and the waits for the requester in its history of status changes."""

from datetime import datetime
from types import SimpleNamespace

import sqlalchemy as sa

from backoffice.business_days import business_minutes, day_minutes, desk_hours, late_from, on_time
from backoffice.extensions import db
from backoffice.inquiries import targets
from backoffice.inquiries.models import Inquiry, InquiryCategory, InquiryEvent
from backoffice.inquiries.vocabulary import DONE_STATUSES, EventKind, InquiryStatus

_WAITING, _RESOLVED = InquiryStatus.WAITING.value, InquiryStatus.RESOLVED.value
_DONE = {status.value for status in DONE_STATUSES}
_WRITTEN = (
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


def measure_history(batch: int = 1000) -> int:
    """Fill the targets of every ticket without them, `batch` tickets per transaction; returns how
    many. Idempotent, and safe beside the running app: a ticket measured meanwhile by the app keeps
    the app's values, and the rows are written without touching their version, so no operator's
    open page goes stale."""
    hours = desk_hours()
    measured, after = 0, 0
    while True:
        rows = db.session.execute(
            sa.select(
                Inquiry.id,
                Inquiry.created_at,
                Inquiry.status,
                Inquiry.merged_into_id,
                Inquiry.first_response_at,
                Inquiry.resolved_at,
                Inquiry.waiting_since,
                InquiryCategory.first_response_business_days,
                InquiryCategory.target_business_days,
            )
            .join(InquiryCategory, Inquiry.category_id == InquiryCategory.id)
            .where(Inquiry.first_response_due_at.is_(None), Inquiry.id > after)
            .order_by(Inquiry.id)
            .limit(batch)
        ).all()
        if not rows:
            return measured
        pauses = _pauses([r.id for r in rows])
        values = [_measured(row, pauses.get(row.id, []), hours) for row in rows]
        table = Inquiry.__table__
        db.session.execute(
            table.update()
            .where(table.c.id == sa.bindparam("ticket_id"), table.c.first_response_due_at.is_(None))
            .values({name: sa.bindparam(f"new_{name}") for name in _WRITTEN}),
            values,
        )
        db.session.commit()
        measured += len(rows)
        after = rows[-1].id


def _pauses(ids: list[int]) -> dict[int, list[tuple[datetime, datetime]]]:
    """Each ticket's finished pauses, as the app counts them: a wait for the requester, and 解決済
    left for unfinished work (a reopening)."""
    events = db.session.execute(
        sa.select(
            InquiryEvent.inquiry_id,
            InquiryEvent.old_value,
            InquiryEvent.new_value,
            InquiryEvent.created_at,
        )
        .where(InquiryEvent.inquiry_id.in_(ids), InquiryEvent.kind == EventKind.STATUS_CHANGED)
        .order_by(InquiryEvent.inquiry_id, InquiryEvent.id)
    )
    pauses: dict[int, list[tuple[datetime, datetime]]] = {}
    entered: dict[int, datetime] = {}
    for inquiry_id, old, new, at in events:
        resumed = old == _WAITING or (old == _RESOLVED and new not in _DONE)
        if resumed and inquiry_id in entered:
            pauses.setdefault(inquiry_id, []).append((entered[inquiry_id], at))
        if old in (_WAITING, _RESOLVED):
            entered.pop(inquiry_id, None)
        if new in (_WAITING, _RESOLVED):
            entered[inquiry_id] = at
    return pauses


def _measured(
    row: sa.Row, pauses: list[tuple[datetime, datetime]], hours: tuple
) -> dict[str, object]:
    length = day_minutes(hours)

    def paused_until(moment: datetime | None) -> int:
        return sum(
            business_minutes(start, end, hours)
            for start, end in pauses
            if moment is None or end <= moment
        )

    before_reply = paused_until(row.first_response_at)
    before_resolution = paused_until(row.resolved_at)
    every = paused_until(None)
    first_due = late_from(
        row.created_at,
        row.first_response_business_days * length
        + (before_reply if row.first_response_at else every),
        hours,
    )
    resolution_due = late_from(
        row.created_at,
        row.target_business_days * length + (before_resolution if row.resolved_at else every),
        hours,
    )
    ticket = SimpleNamespace(
        status=row.status,
        merged_into_id=row.merged_into_id,
        first_response_at=row.first_response_at,
        resolved_at=row.resolved_at,
        first_response_due_at=first_due,
        resolution_due_at=resolution_due,
        first_response_minutes=_taken(row.created_at, row.first_response_at, before_reply, hours),
        resolution_minutes=_taken(row.created_at, row.resolved_at, before_resolution, hours),
        first_response_met=on_time(row.first_response_at, first_due)
        if row.first_response_at
        else None,
        resolution_met=on_time(row.resolved_at, resolution_due) if row.resolved_at else None,
        waited_minutes=every,
    )
    # Paused now after a target's due moment: that target is missed, as the app decides it.
    paused_since = row.waiting_since if row.status in targets.PAUSED else None
    if paused_since is not None:
        if row.first_response_at is None and not on_time(paused_since, first_due):
            ticket.first_response_met = False
        if row.resolved_at is None and not on_time(paused_since, resolution_due):
            ticket.resolution_met = False
    targets.settle(ticket)
    return {"ticket_id": row.id, **{f"new_{name}": getattr(ticket, name) for name in _WRITTEN}}


def _taken(start: datetime, end: datetime | None, waited: int, hours: tuple) -> int | None:
    if end is None:
        return None
    return max(business_minutes(start, end, hours) - waited, 0)
