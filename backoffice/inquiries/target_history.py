"""`flask tickets measure`: the service targets of tickets that arrived before targets existed
(migration 0024), computed from what each ticket already records: its arrival, first response and
resolution times, and the waits for the requester in its history of status changes."""

from datetime import datetime, timedelta
from types import SimpleNamespace

import sqlalchemy as sa

from backoffice.business_days import business_minutes, day_minutes, desk_hours, late_from, on_time
from backoffice.extensions import db
from backoffice.inquiries import targets
from backoffice.inquiries.models import Inquiry, InquiryCategory, InquiryEvent
from backoffice.inquiries.vocabulary import DONE_STATUSES, EventKind, InquiryStatus

_WAITING = InquiryStatus.WAITING.value
_DONE = {status.value for status in DONE_STATUSES}
_RESUMABLE = {status.value for status in targets.RESUMABLE}
_WRITTEN = targets.MEASURES
# The events that end one wait and start the next while the ticket stays 依頼者の回答待ち (asked again).
_ASKED_AGAIN = (EventKind.PUBLIC_REPLY, EventKind.CORRECTION_REQUESTED)
_SAME_CHANGE = timedelta(seconds=2)


def measure_history(batch: int = 1000) -> int:
    """Fill the targets of every ticket without them, `batch` tickets per transaction; returns how
    many. Idempotent, and safe beside the running app: a row the app changed since it was read (its
    version moved) is left for the next run, and rows are written without touching their version,
    so no operator's open page goes stale."""
    hours = desk_hours()
    measured, after = 0, 0
    while True:
        rows = db.session.execute(
            sa.select(
                Inquiry.id,
                Inquiry.version,
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
        values = [_measured(row, pauses.get(row.id, ([], None)), hours) for row in rows]
        table = Inquiry.__table__
        result = db.session.execute(
            table.update()
            .where(
                table.c.id == sa.bindparam("ticket_id"),
                table.c.version == sa.bindparam("seen_version"),
                table.c.first_response_due_at.is_(None),
            )
            .values({name: sa.bindparam(f"new_{name}") for name in _WRITTEN}),
            values,
        )
        db.session.commit()
        measured += result.rowcount if result.rowcount >= 0 else len(rows)
        after = rows[-1].id


Pauses = tuple[list[tuple[datetime, datetime]], datetime | None]


def _pauses(ids: list[int]) -> dict[int, Pauses]:
    """Each ticket's finished pauses, as the app counts them — a wait for the requester (split where
    it was asked again), and the time resolved before a reopening — and the start of the one open now."""
    events = db.session.execute(
        sa.select(
            InquiryEvent.inquiry_id,
            InquiryEvent.kind,
            InquiryEvent.old_value,
            InquiryEvent.new_value,
            InquiryEvent.created_at,
        )
        .where(
            InquiryEvent.inquiry_id.in_(ids),
            InquiryEvent.kind.in_((EventKind.STATUS_CHANGED, *_ASKED_AGAIN)),
        )
        .order_by(InquiryEvent.inquiry_id, InquiryEvent.id)
    )
    found: dict[int, list[tuple[datetime, datetime]]] = {}
    status: dict[int, str] = {}
    since: dict[int, datetime] = {}
    for inquiry_id, kind, old, new, at in events:
        done = found.setdefault(inquiry_id, [])
        if kind in _ASKED_AGAIN:
            # Not the reply (or request) that moved the ticket into the wait in the same transaction.
            start = since.get(inquiry_id)
            if status.get(inquiry_id) == _WAITING and start and at - start >= _SAME_CHANGE:
                done.append((start, at))
                since[inquiry_id] = at
            continue
        status[inquiry_id] = new
        ends = old == _WAITING or (old in _RESUMABLE and new not in _DONE)
        if ends and inquiry_id in since:
            done.append((since.pop(inquiry_id), at))
        if new == _WAITING or (new in _RESUMABLE and old not in _DONE):
            since[inquiry_id] = at
        elif new not in _RESUMABLE:
            since.pop(inquiry_id, None)
    return {i: (done, since.get(i)) for i, done in found.items()}


def _measured(row: sa.Row, pauses: Pauses, hours: tuple) -> dict[str, object]:
    length = day_minutes(hours)
    done, open_since = pauses
    finished = list(done)
    # A wait still open was counted by the app up to its last asking again (waiting_since).
    waiting = row.status == InquiryStatus.WAITING and open_since and row.waiting_since
    if waiting and row.waiting_since > open_since:
        finished.append((open_since, row.waiting_since))

    def paused_until(moment: datetime | None) -> int:
        # Up to `moment`: the event that ends a pause is written a moment after the change it records.
        return sum(
            business_minutes(start, min(end, moment) if moment else end, hours)
            for start, end in finished
            if moment is None or start < moment
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
    # Paused now (and not finished) after a target's due moment: missed, as the app decides it.
    paused_since = row.waiting_since if row.status == InquiryStatus.WAITING else None
    if paused_since is not None:
        if row.first_response_at is None and not on_time(paused_since, first_due):
            ticket.first_response_met = False
        if row.resolved_at is None and not on_time(paused_since, resolution_due):
            ticket.resolution_met = False
    targets.settle(ticket)
    return {
        "ticket_id": row.id,
        "seen_version": row.version,
        **{f"new_{name}": getattr(ticket, name) for name in _WRITTEN},
    }


def _taken(start: datetime, end: datetime | None, waited: int, hours: tuple) -> int | None:
    if end is None:
        return None
    return max(business_minutes(start, end, hours) - waited, 0)
