"""The onboarding funnel's list filters: the same scope as a count on the funnel page, on the list
of funnel rows and on the organizations' and users' lists (through the organization's row), so
each count opens on exactly what it counted, with that list's own actions."""

from typing import Any

import sqlalchemy as sa
from flask_admin.contrib.sqla.filters import BaseSQLAFilter

from backoffice.accounts.models import OrganizationKind, PortalUser
from backoffice.db import utcnow
from backoffice.onboarding.models import STEPS_BY_KEY, OnboardingProgress
from backoffice.prefectures import PREFECTURES
from backoffice.reports.funnel import KINDS, FunnelScope, expired_registrant, reached_clause
from forms.reports import day_of_text

_P = OnboardingProgress


class _ProgressFilter(BaseSQLAFilter):
    """A condition on the funnel row; `owner` is the listed row's organization id (None: the list
    of funnel rows itself)."""

    key = ""

    def __init__(self, owner: Any, label: str, options: Any = None) -> None:
        # A column of the listed table: Flask-Admin joins the table of a filter's column.
        super().__init__(_P.id if owner is None else owner, label, options)
        self.owner = owner

    def operation(self) -> str:
        return ""

    def condition(self, value: str) -> sa.ColumnElement[bool]:
        raise NotImplementedError

    def apply(self, query: Any, value: str, alias: Any = None) -> Any:
        condition = self.condition(value)
        if self.owner is None:
            return query.filter(condition)
        return query.filter(sa.exists().where(_P.organization_id == self.owner, condition))


class StageFilter(_ProgressFilter):
    key = "stage"

    def __init__(self, owner: Any = None) -> None:
        super().__init__(
            owner, "オンボーディングの段階", [(k, s.label) for k, s in STEPS_BY_KEY.items()]
        )

    def validate(self, value: str) -> bool:
        return value in STEPS_BY_KEY

    def condition(self, value: str) -> sa.ColumnElement[bool]:
        return _P.stage == value


class ReachedFilter(_ProgressFilter):
    """`flow:step`, e.g. `care:first_login`: reached that step of that flow."""

    key = "reached"

    def __init__(self, owner: Any = None) -> None:
        super().__init__(owner, "到達した段階")

    def validate(self, value: str) -> bool:
        flow, _, step = value.partition(":")
        try:
            reached_clause(flow, step)
        except (KeyError, ValueError):
            return False
        return True

    def condition(self, value: str) -> sa.ColumnElement[bool]:
        flow, _, step = value.partition(":")
        return reached_clause(flow, step)


class KindFilter(_ProgressFilter):
    key = "funnel_kind"

    def __init__(self, owner: Any = None) -> None:
        super().__init__(owner, "種別（オンボーディング）", [(k, v) for k, v in KINDS.items() if k])

    def validate(self, value: str) -> bool:
        return bool(value) and value in KINDS

    def condition(self, value: str) -> sa.ColumnElement[bool]:
        return _P.kind.in_(FunnelScope(kind=value).kinds(tuple(OrganizationKind)))


class PrefectureFilter(_ProgressFilter):
    key = "prefecture"

    def __init__(self, owner: Any = None) -> None:
        super().__init__(owner, "都道府県", list(PREFECTURES.items()))

    def validate(self, value: str) -> bool:
        return value in PREFECTURES

    def condition(self, value: str) -> sa.ColumnElement[bool]:
        return _P.prefecture == value


class EnteredFromFilter(_ProgressFilter):
    key = "entered_from"

    def __init__(self, owner: Any = None) -> None:
        super().__init__(owner, "オンボーディング開始日（から）")

    def validate(self, value: str) -> bool:
        return day_of_text(value) is not None

    def condition(self, value: str) -> sa.ColumnElement[bool]:
        return sa.and_(*FunnelScope(start=day_of_text(value)).period())


class EnteredUntilFilter(_ProgressFilter):
    key = "entered_until"

    def __init__(self, owner: Any = None) -> None:
        super().__init__(owner, "オンボーディング開始日（まで）")

    def validate(self, value: str) -> bool:
        return day_of_text(value) is not None

    def condition(self, value: str) -> sa.ColumnElement[bool]:
        return sa.and_(*FunnelScope(end=day_of_text(value)).period())


def progress_filters(owner: Any = None) -> list[_ProgressFilter]:
    return [
        StageFilter(owner),
        ReachedFilter(owner),
        KindFilter(owner),
        PrefectureFilter(owner),
        EnteredFromFilter(owner),
        EnteredUntilFilter(owner),
    ]


class RegistrantFilter(BaseSQLAFilter):
    key = "registrant"

    def __init__(self) -> None:
        super().__init__(
            PortalUser.is_registrant, "登録者", [("1", "登録者"), ("0", "追加したユーザ")]
        )

    def operation(self) -> str:
        return ""

    def apply(self, query: Any, value: str, alias: Any = None) -> Any:
        return query.filter(PortalUser.is_registrant.is_(value == "1"))


class ExpiredFilter(BaseSQLAFilter):
    """Registrants whose initial password expired before they used it (those to re-issue)."""

    key = "expired"

    def __init__(self) -> None:
        super().__init__(
            PortalUser.initial_password_expires_at,
            "初期パスワード",
            [("1", "期限切れ・未ログイン")],
        )

    def operation(self) -> str:
        return ""

    def apply(self, query: Any, value: str, alias: Any = None) -> Any:
        return query.filter(*expired_registrant(utcnow()))
