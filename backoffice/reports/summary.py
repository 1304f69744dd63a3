"""The reports' daily summary, kept in the same transaction as every change to a ticket (as the
status counters are), so a year of レポート reads a few thousand rows instead of a million tickets.

A ticket contributes one count to each figure it is in — received on its Japan day of arrival,
resolved and its resolution time on the day of its resolution, its first response time on the day
of its first response — keyed by what the reports split by (中カテゴリー, intake, 担当者, duration in
tenths of a business day, within target); the two durations also per month. Public replies count
per operator and day. Spam and merged tickets contribute nothing.

The flush hook reads the contributions of the tickets a flush touches from the database before the
flush and again after it, and adds the difference: whatever the ORM changed (a column, a
relationship, a status), the summary follows the rows themselves. Statements that bypass the ORM on
the columns read here (a bulk load, `flask tickets measure`) call `rebuild()` afterwards, as does a
change of 受付時間 (the length of a business day).
"""

from collections import Counter
from collections.abc import Iterable
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from backoffice.business_days import day_minutes, desk_hours
from backoffice.display import to_jst
from backoffice.extensions import db
from backoffice.inquiries.models import Inquiry, InquiryEvent
from backoffice.inquiries.vocabulary import EventKind, InquiryStatus
from backoffice.reports.models import ReportDay

_T = ReportDay.__table__
_KEY = ("day", "fact", "category_id", "intake", "assignee_id", "tenths", "met")
# Key = (day, fact, category id, intake, assignee id or 0, tenths or -1, met 0/1); the table's
# primary key has the same columns with the fact first.
Key = tuple[date, str, int, str, int, int, int]

MONTHLY = "_month"

_READ = [
    Inquiry.id,
    Inquiry.created_at,
    Inquiry.category_id,
    Inquiry.intake,
    Inquiry.status,
    Inquiry.merged_into_id,
    Inquiry.assignee_id,
    Inquiry.resolved_at,
    Inquiry.first_response_at,
    Inquiry.first_response_minutes,
    Inquiry.first_response_met,
    Inquiry.resolution_minutes,
    Inquiry.resolution_met,
]


def tenths(minutes: int, length: int) -> int:
    """Business minutes as tenths of a business day, rounded half up (as business_days.as_days)."""
    return (minutes * 20 + length) // (2 * length)


def contribution(row: Any, length: int) -> list[Key]:
    """The counts one ticket adds (its row as `_READ` reads it)."""
    if row.status is InquiryStatus.SPAM or row.merged_into_id is not None:
        return []
    day = to_jst(row.created_at).date()
    keys: list[Key] = [(day, "received", row.category_id, row.intake.value, 0, -1, 0)]
    assignee = row.assignee_id or 0
    if row.first_response_at is not None and row.first_response_minutes is not None:
        keys.append(
            (
                to_jst(row.first_response_at).date(),
                "first_response",
                row.category_id,
                "",
                assignee,
                tenths(row.first_response_minutes, length),
                int(bool(row.first_response_met)),
            )
        )
    if row.resolved_at is not None:
        resolved = to_jst(row.resolved_at).date()
        keys.append((resolved, "resolved", row.category_id, "", 0, -1, 0))
        if row.resolution_minutes is not None:
            keys.append(
                (
                    resolved,
                    "resolution",
                    row.category_id,
                    "",
                    assignee,
                    tenths(row.resolution_minutes, length),
                    int(bool(row.resolution_met)),
                )
            )
    # The durations also by month (on the month's first day): a year reads twelve months of
    # them, not every day's (backoffice.reports.figures reads whole months from these).
    keys += [
        (key[0].replace(day=1), f"{key[1]}{MONTHLY}", *key[2:])
        for key in keys
        if key[1] in ("first_response", "resolution")
    ]
    return keys


def _contributions(connection: sa.Connection, ids: Iterable[int]) -> Counter[Key]:
    ids = sorted(ids)
    found: Counter[Key] = Counter()
    if not ids:
        return found
    length = day_minutes(desk_hours())
    for row in connection.execute(sa.select(*_READ).where(Inquiry.id.in_(ids))):
        found.update(contribution(row, length))
    return found


def _reply_key(event: InquiryEvent) -> Key:
    return (to_jst(event.created_at).date(), "reply", 0, "", event.operator_id, -1, 0)


def _insert(connection: sa.Connection) -> Any:
    return (pg_insert if connection.dialect.name == "postgresql" else sqlite_insert)(_T)


def add(connection: sa.Connection, delta: Counter[Key]) -> None:
    """Add `delta` to the summary, in key order (two transactions never wait on each other's rows
    in opposite order)."""
    for key in sorted(k for k, n in delta.items() if n):
        statement = _insert(connection).values(
            **dict(zip(_KEY, key, strict=True)), count=delta[key]
        )
        connection.execute(
            statement.on_conflict_do_update(
                index_elements=list(_KEY), set_={"count": _T.c.count + statement.excluded.count}
            )
        )


_BEFORE = "report_summary_before"


def _touched(session: Session) -> set[int]:
    return {
        obj.id
        for obj in (*session.dirty, *session.deleted)
        if isinstance(obj, Inquiry) and obj.id is not None
    }


def _before_flush(session: Session, flush_context: Any, instances: Any) -> None:
    # Always set: a flush that failed (no after_flush) must not leave its reading to the next one.
    touched = _touched(session)
    session.info[_BEFORE] = (
        touched,
        _contributions(session.connection(), touched) if touched else Counter(),
    )


def _forget(session: Session, *args: Any) -> None:
    session.info.pop(_BEFORE, None)


def _after_flush(session: Session, flush_context: Any) -> None:
    touched, before = session.info.pop(_BEFORE, (set(), Counter()))
    new = {obj.id for obj in session.new if isinstance(obj, Inquiry)}
    replies = [
        e
        for e in session.new
        if isinstance(e, InquiryEvent) and e.kind is EventKind.PUBLIC_REPLY and e.operator_id
    ]
    if not (touched or new or replies):
        return
    connection = session.connection()
    after = _contributions(connection, touched | new)
    after.subtract(before)
    after.update(_reply_key(e) for e in replies)
    add(connection, after)


def install() -> None:
    """Hook the summary into every ORM session (idempotent)."""
    if not sa.event.contains(Session, "before_flush", _before_flush):
        sa.event.listen(Session, "before_flush", _before_flush)
        sa.event.listen(Session, "after_flush", _after_flush)
        sa.event.listen(Session, "after_soft_rollback", _forget)


def rebuild(batch: int = 5000) -> int:
    """Compute the whole summary again from the tickets and their replies, in one transaction (a
    command: it reads every ticket once). Commits; the number of summary rows."""
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        # Changes committed while reading would be lost by the replace: they wait for it instead.
        connection.execute(sa.text("LOCK TABLE report_days IN EXCLUSIVE MODE"))
    length = day_minutes(desk_hours())
    counted: Counter[Key] = Counter()
    for row in connection.execute(sa.select(*_READ).execution_options(yield_per=batch)):
        counted.update(contribution(row, length))
    replies = sa.select(InquiryEvent.created_at, InquiryEvent.operator_id).where(
        InquiryEvent.kind == EventKind.PUBLIC_REPLY, InquiryEvent.operator_id.is_not(None)
    )
    for created_at, operator_id in connection.execute(replies.execution_options(yield_per=batch)):
        counted[(to_jst(created_at).date(), "reply", 0, "", operator_id, -1, 0)] += 1
    connection.execute(sa.delete(_T))
    rows = [dict(zip(_KEY, key, strict=True), count=n) for key, n in counted.items() if n]
    for start in range(0, len(rows), 1000):
        connection.execute(sa.insert(_T), rows[start : start + 1000])
    db.session.commit()
    return len(rows)
