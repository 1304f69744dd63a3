"""List filters for the inquiry list. Each has a `key`, so dashboard links can find it by name."""

from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from flask import has_request_context
from flask_admin.contrib.sqla.filters import BaseSQLAFilter

from backoffice.db import utcnow
from backoffice.display import JST
from backoffice.extensions import db
from backoffice.inquiries import queues, targets
from backoffice.inquiries.models import MISSED_SQL, Inquiry, InquiryCategory, is_open
from backoffice.inquiries.triage import overdue_clause
from backoffice.inquiries.vocabulary import InquiryStatus
from backoffice.operators.models import Operator

UNASSIGNED = "none"

# The options' statements, built once: every list page reads them (InquiryView.index_view).
_MAJORS = (
    sa.select(InquiryCategory.id, InquiryCategory.name)
    .where(InquiryCategory.parent_id.is_(None))
    .order_by(InquiryCategory.position, InquiryCategory.id)
)
_PARENT = sa.orm.aliased(InquiryCategory)
_MINORS = (
    sa.select(InquiryCategory.id, _PARENT.name, InquiryCategory.name)
    .join(_PARENT, InquiryCategory.parent)
    .order_by(_PARENT.position, _PARENT.id, InquiryCategory.position, InquiryCategory.id)
)
_OPERATORS = sa.select(Operator.id, Operator.name).order_by(Operator.name)


class _Filter(BaseSQLAFilter):
    key = ""

    def operation(self) -> str:
        return ""

    def get_options(self, view: Any) -> Any:
        # Options from the database are read per request (InquiryView.index_view), never at start-up.
        if callable(self.options) and not has_request_context():
            return None
        return super().get_options(view)


class StatusFilter(_Filter):
    key = "status"

    def __init__(self) -> None:
        super().__init__(Inquiry.status, "ステータス", [(s.value, s.label) for s in InquiryStatus])

    def clean(self, value: str) -> InquiryStatus:
        return InquiryStatus(value)

    def apply(self, query: Any, value: InquiryStatus, alias: Any = None) -> Any:
        return query.filter(Inquiry.status == value)


class MajorCategoryFilter(_Filter):
    key = "major"

    def __init__(self) -> None:
        super().__init__(Inquiry.category_id, "大カテゴリー", self._options)

    @staticmethod
    def _options() -> list[tuple[str, str]]:
        return [(str(i), name) for i, name in db.session.execute(_MAJORS)]

    def clean(self, value: str) -> int:
        return int(value)

    def apply(self, query: Any, value: int, alias: Any = None) -> Any:
        children = sa.select(InquiryCategory.id).where(InquiryCategory.parent_id == value)
        return query.filter(Inquiry.category_id.in_(children))


class MinorCategoryFilter(_Filter):
    key = "category"

    def __init__(self) -> None:
        super().__init__(Inquiry.category_id, "中カテゴリー", self._options)

    @staticmethod
    def _options() -> list[tuple[str, str]]:
        return [(str(i), f"{major} ＞ {minor}") for i, major, minor in db.session.execute(_MINORS)]

    def clean(self, value: str) -> int:
        return int(value)

    def apply(self, query: Any, value: int, alias: Any = None) -> Any:
        return query.filter(Inquiry.category_id == value)


class AssigneeFilter(_Filter):
    key = "assignee"

    def __init__(self) -> None:
        super().__init__(Inquiry.assignee_id, "担当者", self._options)

    @staticmethod
    def _options() -> list[tuple[str, str]]:
        operators = db.session.execute(_OPERATORS)
        return [(UNASSIGNED, "（未割り当て）")] + [(str(i), name) for i, name in operators]

    def clean(self, value: str) -> int | None:
        return None if value == UNASSIGNED else int(value)

    def apply(self, query: Any, value: int | None, alias: Any = None) -> Any:
        if value is None:
            return query.filter(Inquiry.assignee_id.is_(None))
        return query.filter(Inquiry.assignee_id == value)


class OverdueFilter(_Filter):
    key = "overdue"

    def __init__(self) -> None:
        super().__init__(Inquiry.due_on, "期限切れ", [("1", "期限切れのみ")])

    def clean(self, value: str) -> bool:
        if value != "1":
            raise ValueError(value)
        return True

    def apply(self, query: Any, value: bool, alias: Any = None) -> Any:
        return query.filter(overdue_clause())


class UnansweredFilter(_Filter):
    key = "unanswered"

    def __init__(self) -> None:
        super().__init__(Inquiry.first_response_at, "未回答", [("1", "未回答のみ")])

    def clean(self, value: str) -> bool:
        if value != "1":
            raise ValueError(value)
        return True

    def apply(self, query: Any, value: bool, alias: Any = None) -> Any:
        return query.filter(Inquiry.first_response_at.is_(None), is_open())


class RequesterRepliedFilter(_Filter):
    """「依頼者から返信あり」: the requester wrote since the last operator reply (a partial index)."""

    key = "replied"

    def __init__(self) -> None:
        super().__init__(
            Inquiry.requester_replied_at, "依頼者から返信あり", [("1", "返信ありのみ")]
        )

    def clean(self, value: str) -> bool:
        if value != "1":
            raise ValueError(value)
        return True

    def apply(self, query: Any, value: bool, alias: Any = None) -> Any:
        return query.filter(Inquiry.requester_replied_at.is_not(None))


class _FlagFilter(_Filter):
    """A filter with one option (「…のみ」) whose rule is a queue's SQL (backoffice.inquiries.queues)."""

    clause: Any = None

    def __init__(self, name: str, option: str) -> None:
        super().__init__(Inquiry.status, name, [("1", option)])

    def clean(self, value: str) -> bool:
        if value != "1":
            raise ValueError(value)
        return True

    def apply(self, query: Any, value: bool, alias: Any = None) -> Any:
        return query.filter(type(self).clause())


class UnfinishedFilter(_FlagFilter):
    key = "open"
    clause = staticmethod(queues.unfinished_clause)


class DueSoonFilter(_FlagFilter):
    key = "due_soon"
    clause = staticmethod(queues.due_soon_clause)


class AccountRequestFilter(_FlagFilter):
    key = "request"
    clause = staticmethod(queues.account_request_clause)


class TargetMissedFilter(_Filter):
    """「目標超過」 (backoffice.inquiries.targets): either kind, or one of them."""

    key = "target"
    _CLAUSES = {
        "1": targets.missed_clause,
        "running": targets.running_late_clause,
        "missed": lambda now: sa.text(MISSED_SQL),
    }

    def __init__(self) -> None:
        super().__init__(
            Inquiry.next_target_at,
            "目標超過",
            [
                ("1", "目標を超過したもの（すべて）"),
                ("running", "未完了で目標日時を過ぎたもの"),
                ("missed", "目標を過ぎて回答・解決したもの"),
            ],
        )

    def clean(self, value: str) -> str:
        if value not in self._CLAUSES:
            raise ValueError(value)
        return value

    def apply(self, query: Any, value: str, alias: Any = None) -> Any:
        return query.filter(self._CLAUSES[value](utcnow()))


def _jst_day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=JST)


class DayFromFilter(_Filter):
    """On or after a day (Japan time) of a timestamp column."""

    def __init__(self, column: Any, name: str, key: str) -> None:
        super().__init__(column, name, data_type="datepicker")
        self.key = key

    def clean(self, value: str) -> date:
        return date.fromisoformat(value.strip())

    def apply(self, query: Any, value: date, alias: Any = None) -> Any:
        return query.filter(self.column >= _jst_day_start(value))


class DayUntilFilter(DayFromFilter):
    """On or before a day (Japan time) of a timestamp column."""

    def apply(self, query: Any, value: date, alias: Any = None) -> Any:
        return query.filter(self.column < _jst_day_start(value + timedelta(days=1)))


def inquiry_filters() -> list[_Filter]:
    return [
        StatusFilter(),
        MajorCategoryFilter(),
        MinorCategoryFilter(),
        AssigneeFilter(),
        OverdueFilter(),
        UnansweredFilter(),
        RequesterRepliedFilter(),
        DayFromFilter(Inquiry.created_at, "受付日（から）", "from"),
        DayUntilFilter(Inquiry.created_at, "受付日（まで）", "until"),
        # After the others: links already made (bookmarks, the benchmark) name filters by position.
        UnfinishedFilter("未完了", "未完了のみ"),
        DueSoonFilter("期限が近い", f"{queues.DUE_SOON_BUSINESS_DAYS}営業日以内のみ"),
        AccountRequestFilter("ID発行申請", "未完了のID発行申請のみ"),
        TargetMissedFilter(),
    ]
