"""The supervisor's figures for a period and a 大/中カテゴリー, each an aggregate computed in SQL
(per Japan day, per category, per rounded duration) and folded here: never a ticket loaded. One
`Figures` reads each aggregate once per page (the four over a period from an index that carries
what it reads: migration 0025), and every table is folded from them.

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

from backoffice.business_days import day_minutes, desk_hours
from backoffice.extensions import db
from backoffice.inquiries.models import Inquiry, InquiryCategory, InquiryEvent, is_unfinished
from backoffice.inquiries.vocabulary import EventKind, InquiryStatus, Intake
from backoffice.operators.models import Operator
from backoffice.reports.scope import Scope, bucket, bucket_label, buckets, jst_day

# The backlog's age, in calendar days since arrival: (label, at least this many days).
AGES = (
    ("1日未満", 0),
    ("1〜3日", 1),
    ("4〜7日", 4),
    ("8〜14日", 8),
    ("15〜30日", 15),
    ("31日以上", 31),
)


def _real() -> sa.ColumnElement[bool]:
    return sa.and_(Inquiry.status != InquiryStatus.SPAM, Inquiry.merged_into_id.is_(None))


def _in_scope(statement: sa.Select, scope: Scope) -> sa.Select:
    if scope.minor_id is not None:
        return statement.where(Inquiry.category_id == scope.minor_id)
    if scope.major_id is not None:
        minors = sa.select(InquiryCategory.id).where(InquiryCategory.parent_id == scope.major_id)
        return statement.where(Inquiry.category_id.in_(minors.scalar_subquery()))
    return statement


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


def _tenths(minutes: sa.ColumnElement, length: int) -> sa.ColumnElement:
    """Business minutes as tenths of a business day, rounded half up (as business_days.as_days),
    in integer division on both databases (`/` would be true division, NUMERIC on PostgreSQL)."""
    half = sa.literal_column(str(int(length)), sa.Integer)
    whole = sa.literal_column(str(2 * int(length)), sa.Integer)
    return (minutes * sa.literal_column("20", sa.Integer) + half) // whole


class Figures:
    """The aggregates of one scope, each read at most once."""

    def __init__(self, scope: Scope, now: datetime) -> None:
        self.scope, self.now = scope, now
        # The backlog line counts back from now, so arrivals and resolutions run up to now.
        self.through = max(scope.until, now)
        self._durations: dict[str, dict[tuple[int, int | None], Durations]] = {}

    @cached_property
    def received(self) -> Counter[tuple[date, Intake]]:
        """Tickets received per Japan day and intake, from the period's start to now."""
        day = jst_day(Inquiry.created_at)
        statement = _in_scope(
            sa.select(day, Inquiry.intake, sa.func.count())
            .where(
                Inquiry.created_at >= self.scope.since,
                Inquiry.created_at < self.through,
                _real(),
            )
            .group_by(day, Inquiry.intake),
            self.scope,
        )
        return Counter({(_as_date(d), intake): n for d, intake, n in db.session.execute(statement)})

    @cached_property
    def resolved(self) -> Counter[date]:
        day = jst_day(Inquiry.resolved_at)
        statement = _in_scope(
            sa.select(day, sa.func.count())
            .where(
                Inquiry.resolved_at >= self.scope.since,
                Inquiry.resolved_at < self.through,
                _real(),
            )
            .group_by(day),
            self.scope,
        )
        return Counter({_as_date(d): n for d, n in db.session.execute(statement)})

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
        length = day_minutes(desk_hours())
        if measure == "first_response":
            at, minutes, in_time, label = (
                Inquiry.first_response_at,
                Inquiry.first_response_minutes,
                Inquiry.first_response_met,
                "初回回答",
            )
        else:
            at, minutes, in_time, label = (
                Inquiry.resolved_at,
                Inquiry.resolution_minutes,
                Inquiry.resolution_met,
                "解決",
            )
        tenths = _tenths(minutes, length)
        met = sa.func.sum(sa.case((in_time.is_(True), 1), else_=0))
        statement = _in_scope(
            sa.select(Inquiry.category_id, Inquiry.assignee_id, tenths, sa.func.count(), met)
            .where(at >= self.scope.since, at < self.scope.until, minutes.is_not(None), _real())
            .group_by(Inquiry.category_id, Inquiry.assignee_id, tenths),
            self.scope,
        )
        found: dict[tuple[int, int | None], Durations] = {}
        for category_id, assignee_id, tenth, count, hits in db.session.execute(statement):
            found.setdefault((category_id, assignee_id), Durations(label)).add(
                int(tenth), count, int(hits or 0)
            )
        return found

    @cached_property
    def replies(self) -> dict[int, int]:
        """Public replies sent in the period, per operator, whatever the scope's category (finding
        each reply's ticket would read every ticket of the period: see docs/reports.md)."""
        statement = (
            sa.select(InquiryEvent.operator_id, sa.func.count())
            .where(
                InquiryEvent.kind == EventKind.PUBLIC_REPLY,
                InquiryEvent.created_at >= self.scope.since,
                InquiryEvent.created_at < self.scope.until,
                InquiryEvent.operator_id.is_not(None),
            )
            .group_by(InquiryEvent.operator_id)
        )
        return dict(db.session.execute(statement).all())


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
