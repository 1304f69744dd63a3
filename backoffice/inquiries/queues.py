"""The operators' queues: the tickets of one kind of work (自分の担当, 未割り当て, 依頼者から返信あり,
期限が近い, 期限切れ, ID発行申請), as SQL the list filters and the queue counts share.

Counted up to COUNT_CAP, as the list counts a filter: a queue of more says 「1,000件以上」, and no
count reads every match of a million tickets.
"""

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from backoffice.business_days import add_business_days
from backoffice.db import utcnow
from backoffice.display import to_jst
from backoffice.extensions import db
from backoffice.inquiries.models import Inquiry, InquiryCategory, is_open, is_unfinished
from backoffice.inquiries.triage import overdue_clause
from backoffice.inquiries.vocabulary import CategoryKind

COUNT_CAP = 1000
DUE_SOON_BUSINESS_DAYS = 2


def _today() -> date:
    return to_jst(utcnow()).date()


def unfinished_clause() -> sa.ColumnElement[bool]:
    """Not yet 解決済, 完了, 却下 or スパム: still somebody's work."""
    return is_unfinished()


def due_soon_clause(today: date | None = None) -> sa.ColumnElement[bool]:
    """Due today or within DUE_SOON_BUSINESS_DAYS business days, and not overdue."""
    today = today or _today()
    return sa.and_(
        is_open(),
        Inquiry.due_on >= today,
        Inquiry.due_on <= add_business_days(today, DUE_SOON_BUSINESS_DAYS),
    )


def account_request_clause() -> sa.ColumnElement[bool]:
    """An unfinished 「介護情報基盤ポータルのID発行申請」."""
    requests = sa.select(InquiryCategory.id).where(
        InquiryCategory.kind == CategoryKind.ACCOUNT_REQUEST
    )
    return sa.and_(Inquiry.category_id.in_(requests), unfinished_clause())


@dataclass(frozen=True)
class Queue:
    key: str
    label: str
    # The list's filters (backoffice.admin.filters keys) that show it; "{me}" is the operator's id.
    filters: tuple[tuple[str, str], ...]


QUEUES = (
    Queue("mine", "自分の担当", (("assignee", "{me}"), ("open", "1"))),
    Queue("unassigned", "未割り当て", (("assignee", "none"), ("open", "1"))),
    Queue("replied", "依頼者から返信あり", (("replied", "1"),)),
    Queue("due_soon", "期限が近い", (("due_soon", "1"),)),
    Queue("overdue", "期限切れ", (("overdue", "1"),)),
    Queue("requests", "ID発行申請", (("request", "1"),)),
)


def _clause(queue: Queue, operator_id: int) -> sa.ColumnElement[bool]:
    return {
        "mine": lambda: sa.and_(Inquiry.assignee_id == operator_id, unfinished_clause()),
        "unassigned": lambda: sa.and_(Inquiry.assignee_id.is_(None), unfinished_clause()),
        "replied": lambda: Inquiry.requester_replied_at.is_not(None),
        "due_soon": due_soon_clause,
        "overdue": overdue_clause,
        "requests": account_request_clause,
    }[queue.key]()


def queue_counts(operator_id: int) -> dict[str, int]:
    """Each queue's number of tickets, up to COUNT_CAP + 1 (more than the cap: say so). The partial
    indexes on unfinished tickets (migration 0020) keep the six counts within a few milliseconds at a
    million tickets."""
    counts = {}
    for queue in QUEUES:
        matches = sa.select(Inquiry.id).where(_clause(queue, operator_id)).limit(COUNT_CAP + 1)
        counts[queue.key] = db.session.scalar(
            sa.select(sa.func.count()).select_from(matches.subquery())
        )
    return counts
