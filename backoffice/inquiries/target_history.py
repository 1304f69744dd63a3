"""`flask tickets measure`: the service targets of tickets that arrived before targets existed
(migration 0024), computed from what each ticket already records: its arrival, first response and
resolution times, and the waits for the requester in its history of status changes."""

from datetime import datetime
from types import SimpleNamespace

import sqlalchemy as sa

from backoffice.business_days import add_business_minutes, business_minutes, day_minutes, desk_hours
from backoffice.extensions import db
from backoffice.inquiries import targets
from backoffice.inquiries.models import Inquiry, InquiryCategory, InquiryEvent
from backoffice.inquiries.vocabulary import EventKind, InquiryStatus

_WAITING = InquiryStatus.WAITING.value
_WRITTEN = (
    "first_response_due_at",
    "resolution_due_at",
    "first_response_minutes",
    "resolution_minutes",
    "waited_minutes",
    "target_missed",
    "next_target_at",
)


def measure_history(batch: int = 1000) -> int:
    """Fill the targets of every ticket without them, `batch` tickets per transaction; returns how
    many. Idempotent, and safe beside the running app: the rows are written without touching their
    version, so no operator's open page goes stale."""
    hours = desk_hours()
    measured, after = 0, 0
    while True:
        rows = db.session.execute(
            sa.select(
                Inquiry.id,
                Inquiry.created_at,
                Inquiry.status,
                Inquiry.first_response_at,
                Inquiry.resolved_at,
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
        waits = _waits([r.id for r in rows])
        values = [_measured(row, waits.get(row.id, []), hours) for row in rows]
        table = Inquiry.__table__
        db.session.execute(
            table.update()
            .where(table.c.id == sa.bindparam("ticket_id"))
            .values({name: sa.bindparam(f"new_{name}") for name in _WRITTEN}),
            values,
        )
        db.session.commit()
        measured += len(rows)
        after = rows[-1].id


def _waits(ids: list[int]) -> dict[int, list[tuple[datetime, datetime]]]:
    """Each ticket's finished waits for the requester: (entered 依頼者の回答待ち, left it)."""
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
    waits: dict[int, list[tuple[datetime, datetime]]] = {}
    entered: dict[int, datetime] = {}
    for inquiry_id, old, new, at in events:
        if old == _WAITING and inquiry_id in entered:
            waits.setdefault(inquiry_id, []).append((entered.pop(inquiry_id), at))
        if new == _WAITING:
            entered[inquiry_id] = at
    return waits


def _measured(
    row: sa.Row, waits: list[tuple[datetime, datetime]], hours: tuple
) -> dict[str, object]:
    length = day_minutes(hours)

    def waited_until(moment: datetime | None) -> int:
        return sum(
            business_minutes(start, end, hours)
            for start, end in waits
            if moment is None or end <= moment
        )

    before_reply = (
        waited_until(row.first_response_at) if row.first_response_at else waited_until(None)
    )
    before_resolution = waited_until(row.resolved_at)
    ticket = SimpleNamespace(
        status=row.status,
        first_response_at=row.first_response_at,
        resolved_at=row.resolved_at,
        first_response_due_at=add_business_minutes(
            row.created_at, row.first_response_business_days * length + before_reply, hours
        ),
        resolution_due_at=add_business_minutes(
            row.created_at, row.target_business_days * length + waited_until(None), hours
        ),
        first_response_minutes=_taken(row.created_at, row.first_response_at, before_reply, hours),
        resolution_minutes=_taken(row.created_at, row.resolved_at, before_resolution, hours),
        waited_minutes=waited_until(None),
    )
    if row.resolved_at is not None:
        # Measured against the waits before it, as it was when it was resolved.
        ticket.resolution_due_at = add_business_minutes(
            row.created_at, row.target_business_days * length + before_resolution, hours
        )
    targets.settle(ticket)
    return {"ticket_id": row.id, **{f"new_{name}": getattr(ticket, name) for name in _WRITTEN}}


def _taken(start: datetime, end: datetime | None, waited: int, hours: tuple) -> int | None:
    if end is None:
        return None
    return max(business_minutes(start, end, hours) - waited, 0)
