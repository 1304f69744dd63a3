"""The numbers on the back office's ダッシュボード, each read from a counter or a partial index of open
inquiries (migration 0005), so the page costs the same at a million inquiries as at ten."""

from dataclasses import dataclass

import sqlalchemy as sa

from backoffice.extensions import db
from backoffice.inquiries import counts, triage
from backoffice.inquiries.models import Inquiry, InquiryCategory, is_open
from backoffice.inquiries.vocabulary import CategoryKind, InquiryStatus


@dataclass(frozen=True)
class Summary:
    statuses: list[tuple[InquiryStatus, int]]  # every status, in order, with its count
    open_by_category: list[tuple[InquiryCategory, int]]  # most open first
    open_account_requests: int
    account_request_category_id: int | None  # the first ID発行申請 中カテゴリー, for its list link
    overdue: int
    requester_replied: int  # 「依頼者から返信あり」
    oldest_unanswered: list[Inquiry]  # the ten oldest open inquiries without a first response


def summary() -> Summary:
    status_counts = counts.status_counts(db.session)
    open_by_category = (
        sa.select(Inquiry.category_id, sa.func.count().label("open"))
        .where(is_open())
        .group_by(Inquiry.category_id)
        .subquery()
    )
    category_counts = db.session.execute(
        sa.select(InquiryCategory, open_by_category.c.open)
        .join(open_by_category, open_by_category.c.category_id == InquiryCategory.id)
        .order_by(open_by_category.c.open.desc(), InquiryCategory.id)
    ).all()
    requests = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Inquiry)
        .join(InquiryCategory, Inquiry.category_id == InquiryCategory.id)
        .where(
            InquiryCategory.kind == CategoryKind.ACCOUNT_REQUEST,
            is_open(),
        )
    )
    request_category = db.session.scalar(
        sa.select(InquiryCategory.id)
        .where(InquiryCategory.kind == CategoryKind.ACCOUNT_REQUEST)
        .order_by(InquiryCategory.id)
        .limit(1)
    )
    overdue = db.session.scalar(
        sa.select(sa.func.count()).select_from(Inquiry).where(triage.overdue_clause())
    )
    replied = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Inquiry)
        .where(Inquiry.requester_replied_at.is_not(None))
    )
    oldest = db.session.scalars(
        sa.select(Inquiry)
        .where(Inquiry.first_response_at.is_(None), is_open())
        .order_by(Inquiry.created_at)
        .limit(10)
    ).all()
    return Summary(
        statuses=[(s, status_counts.get(s, 0)) for s in InquiryStatus],
        open_by_category=[(category, count) for category, count in category_counts],
        open_account_requests=requests or 0,
        account_request_category_id=request_category,
        overdue=overdue or 0,
        requester_replied=replied or 0,
        oldest_unanswered=list(oldest),
    )
