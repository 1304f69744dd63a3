"""The sweep over silent tickets (`flask tickets sweep`): a 依頼者の回答待ち ticket is reminded after its
中カテゴリー's reminder_business_days and closed as 完了 after close_business_days, each said to the
requester; a 解決済 ticket becomes 完了 after INQUIRY_REOPEN_BUSINESS_DAYS. Reminders and closing notices
go out only within 受付時間 (what falls outside waits for the next run inside them).

Each ticket is one transaction with its history entry and mail. Two sweeps at once are safe: the
ticket's version (optimistic locking) lets only one of them commit a change.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.exc import StaleDataError

from backoffice.business_days import (
    add_business_days,
    business_days_between,
    is_business_day,
    within_hours,
)
from backoffice.db import utcnow
from backoffice.display import JST, format_date, to_jst
from backoffice.extensions import db
from backoffice.inquiries import notifications
from backoffice.inquiries.actors import SWEEP
from backoffice.inquiries.models import Inquiry, InquiryCategory
from backoffice.inquiries.triage import add_event, move_status
from backoffice.inquiries.vocabulary import EventKind, InquiryStatus

S = InquiryStatus


@dataclass
class SweepReport:
    reminded: int = 0
    closed: int = 0  # 依頼者の回答待ち closed for want of an answer
    completed: int = 0  # 解決済 → 完了
    waiting_for_hours: bool = False  # outside 受付時間: reminders and closing wait


def sweep(now: datetime | None = None, batch: int = 500) -> SweepReport:
    """One pass over every ticket whose clock may have run out, `batch` at a time; returns what it
    did."""
    now = now or utcnow()
    today = to_jst(now).date()
    report = SweepReport(waiting_for_hours=not within_hours(now))
    after: tuple[datetime, int] | None = None
    while page := _candidates(today, batch, after):
        for inquiry_id, _since in page:
            try:
                _sweep_one(inquiry_id, now, today, report)
            except StaleDataError:
                db.session.rollback()  # another sweep or an operator changed it first
        after = (page[-1][1], page[-1][0])
    return report


def _candidates(
    today: date, batch: int, after: tuple[datetime, int] | None
) -> list[tuple[int, datetime]]:
    """Tickets on the sweep's clock since before the latest business day (none later can have waited
    a business day), oldest first, by the partial index on waiting_since."""
    latest = today
    while not is_business_day(latest):
        latest -= timedelta(days=1)
    query = sa.select(Inquiry.id, Inquiry.waiting_since).where(
        Inquiry.waiting_since.is_not(None),
        Inquiry.waiting_since < datetime.combine(latest, time.min, tzinfo=JST),
    )
    if after is not None:
        query = query.where(sa.tuple_(Inquiry.waiting_since, Inquiry.id) > after)
    rows = db.session.execute(query.order_by(Inquiry.waiting_since, Inquiry.id).limit(batch))
    return [(row.id, row.waiting_since) for row in rows]


def _sweep_one(inquiry_id: int, now: datetime, today: date, report: SweepReport) -> None:
    inquiry = db.session.get(
        Inquiry, inquiry_id, options=[joinedload(Inquiry.category)], populate_existing=True
    )
    if inquiry is None or inquiry.waiting_since is None:
        return
    since = to_jst(inquiry.waiting_since).date()
    waited = business_days_between(since, today)
    category: InquiryCategory = inquiry.category
    if inquiry.status is S.RESOLVED:
        if waited >= current_app.config["INQUIRY_REOPEN_BUSINESS_DAYS"]:
            move_status(inquiry, S.CLOSED, SWEEP)
            db.session.commit()
            report.completed += 1
        return
    if inquiry.status is not S.WAITING or report.waiting_for_hours or not inquiry.email:
        # A ticket without an email was asked by phone: no mail reminds it, the operator closes it.
        db.session.rollback()
        return
    if waited >= category.close_business_days:
        move_status(inquiry, S.CLOSED, SWEEP)
        notifications.queue_closed_unanswered(inquiry)
        db.session.commit()
        report.closed += 1
    elif waited >= category.reminder_business_days and inquiry.reminded_at is None:
        closes_on = add_business_days(since, category.close_business_days)
        inquiry.reminded_at = now
        add_event(inquiry, SWEEP, EventKind.REMINDER_SENT, new_value=format_date(closes_on))
        notifications.queue_reminder(inquiry, closes_on)
        db.session.commit()
        report.reminded += 1
    else:
        db.session.rollback()
