"""The supervisor's figures for a period and a 大/中カテゴリー, each an aggregate computed in SQL
(per Japan day, per category, per rounded duration) and folded here: never a ticket loaded. One
`Figures` reads each aggregate once per page — those over a period from the daily summary
(backoffice.reports.summary), the backlog from the unfinished tickets — and every table is folded
from them.

Spam and tickets merged into another are left out of every figure: they are not work. Durations are
business minutes within 受付時間 (backoffice.inquiries.targets), shown as business days with one
decimal; medians and 90th percentiles are nearest-rank (an actual value of the set), from counts of
the rounded values, so both databases give the same figure.
"""

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cached_property

import sqlalchemy as sa

from backoffice.display import to_jst
from backoffice.extensions import db
from backoffice.inquiries.models import Inquiry, InquiryCategory, is_unfinished
from backoffice.inquiries.vocabulary import Intake
from backoffice.operators.models import Operator
from backoffice.reports.models import ReportDay
from backoffice.reports.scope import Scope, bucket, bucket_label, buckets
from backoffice.reports.summary import MONTHLY

# The backlog's age, in calendar days since arrival: (label, at least this many days).
AGES = (
    ("1日未満", 0),
    ("1〜3日", 1),
    ("4〜7日", 4),
    ("8〜14日", 8),
    ("15〜30日", 15),
    ("31日以上", 31),
)


def _in_scope(
    statement: sa.Select, scope: Scope, category: sa.ColumnElement[int] = Inquiry.category_id
) -> sa.Select:
    """Only the scope's 中カテゴリー (or those of its 大カテゴリー), by the `category` column."""
    if scope.minor_id is not None:
        return statement.where(category == scope.minor_id)
    if scope.major_id is not None:
        minors = sa.select(InquiryCategory.id).where(InquiryCategory.parent_id == scope.major_id)
        return statement.where(category.in_(minors.scalar_subquery()))
    return statement


def _days(fact: str, since: date, until: date) -> sa.ColumnElement[bool]:
    return sa.and_(ReportDay.fact == fact, ReportDay.day >= since, ReportDay.day <= until)


def _summary(fact: str, scope: "Scope", since: date, until: date) -> sa.Select:
    """The summary's rows of one fact from `since` to `until` (both included), in the scope."""
    return _summary_where(_days(fact, since, until), scope)


def _summary_where(condition: sa.ColumnElement[bool], scope: "Scope") -> sa.Select:
    statement = sa.select().select_from(ReportDay).where(condition)
    return _in_scope(statement, scope, ReportDay.category_id)


def _month_end(first: date) -> date:
    return (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def _whole_months(start: date, end: date) -> tuple[date | None, date | None]:
    """The first days of the first and the last whole month within start..end, or (None, None)."""
    first = start if start.day == 1 else _month_end(start) + timedelta(days=1)
    last = end.replace(day=1)
    if _month_end(last) != end:
        last = (last - timedelta(days=1)).replace(day=1)
    return (first, last) if first <= last else (None, None)


def _as_date(value: object) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


@dataclass(frozen=True)
class Volume:
    """Tickets received and resolved per bucket, and the backlog at the end of each bucket."""

    rows: list[tuple[str, int, int, int]]  # label, received, resolved, unfinished at its end
    received: int
    resolved: int
    unfinished_now: int


@dataclass
class Durations:
    """One measure (first response or resolution) over a set of tickets."""

    label: str
    count: int = 0
    met: int = 0
    tenths: Counter[int] = field(default_factory=Counter)

    def add(self, tenth: int, count: int, met: int) -> None:
        self.count += count
        self.met += met
        self.tenths[tenth] += count

    def quantile(self, q: float) -> str:
        """Nearest rank: the smallest value with at least q of the set at or below it."""
        if not self.count:
            return "—"
        rank = max(1, -(-int(q * 1000) * self.count // 1000))
        seen = 0
        for tenth in sorted(self.tenths):
            seen += self.tenths[tenth]
            if seen >= rank:
                return f"{tenth // 10}.{tenth % 10}"
        raise AssertionError("unreachable")

    @property
    def median(self) -> str:
        return self.quantile(0.5)

    @property
    def p90(self) -> str:
        return self.quantile(0.9)

    @property
    def share_met(self) -> str:
        return f"{self.met * 100 / self.count:.1f}%" if self.count else "—"


class Figures:
    """The aggregates of one scope, each read at most once."""

    def __init__(self, scope: Scope, now: datetime) -> None:
        self.scope, self.now = scope, now
        self._durations: dict[str, dict[tuple[int, int | None], Durations]] = {}

    @property
    def _through_day(self) -> date:
        """The backlog line counts back from now, so arrivals and resolutions run up to today."""
        return max(self.scope.end, to_jst(self.now).date())

    @cached_property
    def received(self) -> Counter[tuple[date, Intake]]:
        """Tickets received per Japan day and intake, from the period's start to now."""
        statement = (
            _summary("received", self.scope, self.scope.start, self._through_day)
            .add_columns(ReportDay.day, ReportDay.intake, sa.func.sum(ReportDay.count))
            .group_by(ReportDay.day, ReportDay.intake)
        )
        return Counter(
            {
                (_as_date(d), Intake(intake)): int(n)
                for d, intake, n in db.session.execute(statement)
            }
        )

    @cached_property
    def resolved(self) -> Counter[date]:
        statement = (
            _summary("resolved", self.scope, self.scope.start, self._through_day)
            .add_columns(ReportDay.day, sa.func.sum(ReportDay.count))
            .group_by(ReportDay.day)
        )
        return Counter({_as_date(d): int(n) for d, n in db.session.execute(statement)})

    @cached_property
    def unfinished_now(self) -> int:
        statement = sa.select(sa.func.count()).select_from(Inquiry).where(is_unfinished())
        return db.session.scalar(_in_scope(statement, self.scope)) or 0

    def durations(self, measure: str) -> dict[tuple[int, int | None], Durations]:
        """Per (category, assignee): the first responses made, or the tickets resolved, in the
        period, counted by duration in tenths of a business day."""
        if measure not in self._durations:
            self._durations[measure] = self._read_durations(measure)
        return self._durations[measure]

    def _read_durations(self, measure: str) -> dict[tuple[int, int | None], Durations]:
        label = "初回回答" if measure == "first_response" else "解決"
        total = sa.func.sum(ReportDay.count)
        # Whole months from the monthly counts, the days before and after them from the daily ones.
        first, last = _whole_months(self.scope.start, self.scope.end)
        start, end = self.scope.start, self.scope.end
        if first is None or last is None:
            period = _days(measure, start, end)
        else:
            period = sa.or_(
                _days(measure, start, first - timedelta(days=1)),
                _days(f"{measure}{MONTHLY}", first, last),
                _days(measure, _month_end(last) + timedelta(days=1), end),
            )
        rows = _summary_where(period, self.scope)
        statement = rows.add_columns(
            ReportDay.category_id,
            ReportDay.assignee_id,
            ReportDay.tenths,
            total,
            sa.func.sum(sa.case((ReportDay.met == 1, ReportDay.count), else_=0)),
        ).group_by(ReportDay.category_id, ReportDay.assignee_id, ReportDay.tenths)
        found: dict[tuple[int, int | None], Durations] = {}
        for category_id, assignee_id, tenth, count, hits in db.session.execute(statement):
            found.setdefault((category_id, assignee_id or None), Durations(label)).add(
                int(tenth), int(count), int(hits or 0)
            )
        return found

    @cached_property
    def replies(self) -> dict[int, int]:
        """Public replies sent in the period, per operator, whatever the scope's category (finding
        each reply's ticket would read every ticket of the period: see docs/reports.md)."""
        statement = (
            sa.select(ReportDay.assignee_id, sa.func.sum(ReportDay.count))
            .where(
                ReportDay.fact == "reply",
                ReportDay.day >= self.scope.start,
                ReportDay.day <= self.scope.end,
            )
            .group_by(ReportDay.assignee_id)
        )
        return {operator: int(n) for operator, n in db.session.execute(statement)}


def _by(
    found: dict[tuple[int, int | None], Durations], part: int, label: str
) -> dict[object, Durations]:
    folded: dict[object, Durations] = {}
    for key, durations in found.items():
        _merge(folded.setdefault(key[part], Durations(label)), durations)
    return folded


def volume(figures: Figures) -> Volume:
    scope = figures.scope
    received: Counter[date] = Counter()
    for (day, _intake), n in figures.received.items():
        received[day] += n
    resolved = figures.resolved
    unfinished_now = figures.unfinished_now
    # The backlog at the end of a day: today's, less what arrived since, plus what was resolved since.
    later_in = sum(received.values())
    later_out = sum(resolved.values())
    by_bucket: dict[date, list[int]] = {b: [0, 0, 0] for b in buckets(scope)}
    day = scope.start
    while day <= scope.end:
        later_in -= received[day]
        later_out -= resolved[day]
        entry = by_bucket[bucket(day, scope.grain)]
        entry[0] += received[day]
        entry[1] += resolved[day]
        entry[2] = unfinished_now - later_in + later_out
        day += timedelta(days=1)
    rows = [
        (bucket_label(start, scope.grain), came, went, left)
        for start, (came, went, left) in by_bucket.items()
    ]
    return Volume(
        rows=rows,
        received=sum(r[1] for r in rows),
        resolved=sum(r[2] for r in rows),
        unfinished_now=unfinished_now,
    )


def backlog_age(figures: Figures) -> list[tuple[str, int]]:
    """Unfinished tickets now, by days since arrival (whole periods of 24 hours)."""
    now = figures.now
    cases = [
        (Inquiry.created_at <= now - timedelta(days=days), index)
        for index, (_label, days) in reversed(list(enumerate(AGES)))
        if days
    ]
    age = sa.case(*cases, else_=0)
    statement = _in_scope(
        sa.select(age, sa.func.count()).where(is_unfinished()).group_by(age), figures.scope
    )
    counts = dict(db.session.execute(statement).all())
    return [(label, counts.get(index, 0)) for index, (label, _days) in enumerate(AGES)]


@dataclass(frozen=True)
class TimesRow:
    name: str
    first_response: Durations
    resolution: Durations


def times(figures: Figures) -> list[TimesRow]:
    """Median and 90th percentile of first response and resolution, and the share within target,
    per 中カテゴリー in scope, then all of them."""
    replies = _by(figures.durations("first_response"), 0, "初回回答")
    resolutions = _by(figures.durations("resolution"), 0, "解決")
    names = _category_names()
    rows = []
    total = TimesRow("合計", Durations("初回回答"), Durations("解決"))
    for category_id in sorted(set(replies) | set(resolutions), key=lambda c: names[c][0]):
        row = TimesRow(
            names[category_id][1],
            replies.get(category_id, Durations("初回回答")),
            resolutions.get(category_id, Durations("解決")),
        )
        rows.append(row)
        _merge(total.first_response, row.first_response)
        _merge(total.resolution, row.resolution)
    return [*rows, total]


def _merge(into: Durations, other: Durations) -> None:
    into.count += other.count
    into.met += other.met
    into.tenths.update(other.tenths)


def _category_names() -> dict[int, tuple[tuple[int, int, int, int], str]]:
    """Every category's place in the tree and its path (a ticket's category may have lost its
    parent since: then it sorts first, under its own name)."""
    parent = sa.orm.aliased(InquiryCategory)
    rows = db.session.execute(
        sa.select(
            InquiryCategory.id,
            parent.position,
            parent.id,
            InquiryCategory.position,
            parent.name,
            InquiryCategory.name,
        ).outerjoin(parent, InquiryCategory.parent)
    )
    return {
        cid: ((pp or 0, pid or 0, cp, cid), f"{major} ＞ {minor}" if major else minor)
        for cid, pp, pid, cp, major, minor in rows
    }


@dataclass(frozen=True)
class OperatorRow:
    name: str
    resolved: int
    replies: int
    first_response: Durations
    resolution: Durations


def per_operator(figures: Figures) -> list[OperatorRow]:
    """Per operator: tickets resolved in the period that they are 担当者 of, replies they sent, and
    the median times of their tickets."""
    replies_sent = figures.replies
    replies = _by(figures.durations("first_response"), 1, "初回回答")
    resolutions = _by(figures.durations("resolution"), 1, "解決")
    ids = {i for i in (*replies_sent, *replies, *resolutions) if i is not None}
    names = dict(
        db.session.execute(sa.select(Operator.id, Operator.name).where(Operator.id.in_(ids))).all()
    )
    rows = [
        OperatorRow(
            names.get(i, "（削除された担当者）"),
            resolutions.get(i, Durations("解決")).count,
            replies_sent.get(i, 0),
            replies.get(i, Durations("初回回答")),
            resolutions.get(i, Durations("解決")),
        )
        for i in ids
    ]
    return sorted(rows, key=lambda r: (-r.resolved, -r.replies, r.name))


def channels(figures: Figures) -> list[tuple[str, int]]:
    """Tickets received in the period by how they came in."""
    scope = figures.scope
    found: Counter[Intake] = Counter()
    for (day, intake), n in figures.received.items():
        if scope.start <= day <= scope.end:
            found[intake] += n
    return [(intake.label, found[intake]) for intake in Intake]
