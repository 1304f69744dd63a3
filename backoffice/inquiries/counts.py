"""Per-status ticket counts, kept in the same transaction as every change to a ticket's status.

A `before_flush` hook sees each inquiry the session is about to insert, delete or move to another status
and adds the difference to `inquiry_status_counts` (rows updated in status order, so two transactions
never wait on each other's counters in opposite order). Statements that bypass the ORM (a bulk load) call
`recount()` afterwards.
"""

from collections import Counter
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from backoffice.inquiries.models import Inquiry, InquiryStatusCount
from backoffice.inquiries.vocabulary import InquiryStatus


def _status_changes(session: Session) -> Counter[InquiryStatus]:
    delta: Counter[InquiryStatus] = Counter()
    for obj in session.new:
        if isinstance(obj, Inquiry):
            delta[obj.status or InquiryStatus.NEW] += 1
    for obj in session.deleted:
        if isinstance(obj, Inquiry):
            old = sa.inspect(obj).attrs.status.history
            delta[(old.deleted or old.unchanged or [obj.status])[0]] -= 1
    for obj in session.dirty:
        if isinstance(obj, Inquiry) and obj not in session.deleted:
            history = sa.inspect(obj).attrs.status.history
            if history.added and history.deleted and history.added[0] != history.deleted[0]:
                delta[history.deleted[0]] -= 1
                delta[history.added[0]] += 1
    return delta


def _before_flush(session: Session, flush_context: Any, instances: Any) -> None:
    delta = _status_changes(session)
    changed = sorted((s for s in delta if delta[s]), key=lambda s: s.value)
    if not changed:
        return
    connection = session.connection()
    for status in changed:
        connection.execute(
            sa.update(InquiryStatusCount)
            .where(InquiryStatusCount.status == status)
            .values(count=InquiryStatusCount.count + delta[status])
        )


def install() -> None:
    """Hook the counter into every ORM session (idempotent)."""
    if not sa.event.contains(Session, "before_flush", _before_flush):
        sa.event.listen(Session, "before_flush", _before_flush)


def status_counts(session: Session) -> dict[InquiryStatus, int]:
    rows = session.execute(sa.select(InquiryStatusCount.status, InquiryStatusCount.count))
    return {status: count for status, count in rows}  # noqa: C416 (rows are Row objects)


def recount(connection: sa.Connection) -> None:
    """Set every counter from the tickets themselves (after a bulk load, or to check for drift)."""
    actual = dict(
        connection.execute(
            sa.select(Inquiry.status, sa.func.count()).group_by(Inquiry.status)
        ).all()
    )
    for status in InquiryStatus:
        connection.execute(
            sa.update(InquiryStatusCount)
            .where(InquiryStatusCount.status == status)
            .values(count=actual.get(status, 0))
        )
