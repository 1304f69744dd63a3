"""The onboarding funnel's figures, from the funnel's rows (backoffice.onboarding): for each step of
each flow, how many offices reached it and how many are at it now, the conversion from the step
before, and the calendar days between the two steps (median and 90th percentile, nearest rank of
the rows' stored waits in tenths of a day, as the reports' durations). Three grouped queries per
flow, never a row loaded.

A period selects the offices that came into the funnel in it (their first step: listed in the
directory, or the ID request); what they reached is counted up to now.
"""

import itertools
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa

from backoffice.accounts.models import OrganizationKind, PortalUser
from backoffice.display import JST
from backoffice.extensions import db
from backoffice.onboarding import counts
from backoffice.onboarding.models import (
    CARE_STEPS,
    MEDICAL_STEPS,
    NO_SECURITY_EMAIL,
    REJECTED,
    OnboardingProgress,
    Step,
)
from backoffice.reports.figures import Durations

_P = OnboardingProgress

# The choice of kind on the page: which offices, and so which flow(s).
KINDS = {
    "": "すべて",
    "care_all": "介護事業所・みなし介護事業所",
    "care": "介護事業所",
    "deemed": "みなし介護事業所",
    "medical": "医療機関",
}
_CARE = (OrganizationKind.CARE, OrganizationKind.DEEMED)


@dataclass(frozen=True)
class FunnelScope:
    kind: str = ""  # a key of KINDS
    prefecture: str = ""  # a JIS code ("13"), or every prefecture
    start: date | None = None  # Japan dates (both included) the offices came into the funnel
    end: date | None = None

    def kinds(self, flow: tuple[OrganizationKind, ...]) -> tuple[OrganizationKind, ...]:
        if self.kind in ("", "care_all"):
            chosen = set(_CARE if self.kind else OrganizationKind)
        else:
            chosen = {OrganizationKind(self.kind)}
        return tuple(k for k in flow if k in chosen)

    def where(self, kinds: tuple[OrganizationKind, ...]) -> list[sa.ColumnElement[bool]]:
        """The funnel rows in scope; the list pages' filters say the same (backoffice.admin.funnel)."""
        clauses = [_P.kind.in_(kinds), *self.period()]
        if self.prefecture:
            clauses.append(_P.prefecture == self.prefecture)
        return clauses

    def period(self) -> list[sa.ColumnElement[bool]]:
        clauses = []
        if self.start is not None:
            clauses.append(_P.entered_at >= _jst_midnight(self.start))
        if self.end is not None:
            clauses.append(_P.entered_at < _jst_midnight(self.end + timedelta(days=1)))
        return clauses


def _jst_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=JST).astimezone(UTC)


@dataclass
class StepFigure:
    step: Step
    reached: int = 0
    at: int = 0  # at this step now: reached it and went no further
    previous: "StepFigure | None" = None
    days: Durations = field(default_factory=lambda: Durations("days"))
    expired: int | None = None  # of those at it: the registrant's initial password expired unused

    @property
    def conversion(self) -> str:
        if self.previous is None:
            return "—"
        if not self.previous.reached:
            return "—"
        return f"{self.reached * 100 / self.previous.reached:.1f}%"


@dataclass
class Flow:
    key: str  # "care" or "medical"
    title: str
    kinds: tuple[OrganizationKind, ...]
    steps: list[StepFigure]
    side: StepFigure  # ※3 or 却下: a branch off the main line, its offices counted in its own row
    after: str  # the step the side branch comes off

    @property
    def total(self) -> int:
        return sum(s.at for s in self.steps) + self.side.at


_FLOWS = (
    ("care", "介護事業所・みなし介護事業所", _CARE, CARE_STEPS, NO_SECURITY_EMAIL, "started"),
    ("medical", "医療機関", (OrganizationKind.MEDICAL,), MEDICAL_STEPS, REJECTED, "requested"),
)


def funnel(scope: FunnelScope, now: datetime) -> list[Flow]:
    """The flows the scope's kind has, with every figure filled."""
    flows = []
    for key, title, flow_kinds, steps, side, after in _FLOWS:
        kinds = scope.kinds(flow_kinds)
        if not kinds:
            continue
        figures = [StepFigure(s) for s in steps]
        for before, figure in itertools.pairwise(figures):
            figure.previous = before
        flow = Flow(key, title, kinds, figures, StepFigure(side), after)
        flow.side.previous = next(f for f in figures if f.step.key == after)
        _count(flow, _readings(flow, scope))
        _expired(flow, scope, now)
        flows.append(flow)
    return flows


def _readings(flow: Flow, scope: FunnelScope) -> Counter[tuple[str, int]]:
    """(measure, value) → offices, as backoffice.onboarding.counts keeps them: from those counts
    when no period is chosen, else from the rows that came in during the period."""
    if scope.start is None and scope.end is None:
        return counts.read(flow.kinds, scope.prefecture)
    where = scope.where(flow.kinds)
    found: Counter[tuple[str, int]] = Counter()
    for stage, count, ever in db.session.execute(
        sa.select(
            _P.stage,
            sa.func.count(),
            sa.func.sum(sa.case((_P.no_security_email_at.is_not(None), 1), else_=0)),
        )
        .where(*where)
        .group_by(_P.stage)
    ):
        found[(f"at:{stage}", 0)] += count
        found[("ever:no_security_email", 0)] += int(ever or 0)
    steps = [f.step.key for f in flow.steps[1:]]
    waits = [_P.__table__.c[f"{step}_wait"] for step in steps]
    if db.session.get_bind().dialect.name == "postgresql":
        # One pass, a grouping set per step; GROUPING() has a zero bit for the column grouped by.
        statement = (
            sa.select(sa.func.grouping(*waits), *waits, sa.func.count())
            .where(*where)
            .group_by(sa.func.grouping_sets(*(sa.tuple_(w) for w in waits)))
        )
        full = (1 << len(waits)) - 1
        for bits, *values, count in db.session.execute(statement):
            n = next(i for i in range(len(waits)) if full ^ bits == 1 << (len(waits) - 1 - i))
            if values[n] is not None:
                found[(f"wait:{steps[n]}", int(values[n]))] += count
        return found
    for step, wait in zip(steps, waits, strict=True):
        statement = sa.select(wait, sa.func.count()).where(*where, wait.is_not(None)).group_by(wait)
        for tenths, count in db.session.execute(statement):
            found[(f"wait:{step}", int(tenths))] += count
    return found


def _count(flow: Flow, read: Counter[tuple[str, int]]) -> None:
    """At each step; reached = at it or at any step after it on the main line (an office at the
    side branch reached the step it branched off, and the side counts those that ever stopped
    there, also when they went on later); the waits of each step."""
    at = Counter({m.removeprefix("at:"): n for (m, _v), n in read.items() if m.startswith("at:")})
    beyond = 0
    for figure in reversed(flow.steps):
        figure.at = at[figure.step.key]
        beyond += figure.at
        figure.reached = beyond
        if figure.step.key == flow.after:
            figure.reached += at[flow.side.step.key]
    # Before the branch, the side's offices reached every step too.
    for figure in flow.steps:
        if figure.step.key == flow.after:
            break
        figure.reached += at[flow.side.step.key]
    flow.side.at = at[flow.side.step.key]
    flow.side.reached = read[("ever:no_security_email", 0)] if flow.key == "care" else flow.side.at
    for figure in flow.steps[1:]:
        for (measure, value), n in read.items():
            if measure == f"wait:{figure.step.key}":
                figure.days.add(value, n, 0)


def _expired(flow: Flow, scope: FunnelScope, now: datetime) -> None:
    """Of those waiting for the first login, how many registrants' initial passwords expired (the
    operators re-issue those from the users' list)."""
    waiting = [f for f in flow.steps if f.step.key in ("password_mailed", "registered", "issued")]
    if not waiting:
        return
    counts = dict(
        db.session.execute(
            sa.select(_P.stage, sa.func.count())
            .join(PortalUser, PortalUser.organization_id == _P.organization_id)
            .where(
                *scope.where(flow.kinds),
                _P.stage.in_([f.step.key for f in waiting]),
                *expired_registrant(now),
            )
            .group_by(_P.stage)
        ).all()
    )
    for figure in waiting:
        figure.expired = counts.get(figure.step.key, 0)


def expired_registrant(now: datetime) -> list[sa.ColumnElement[bool]]:
    """A registrant whose initial password expired before they used it."""
    return [
        PortalUser.is_registrant,
        PortalUser.must_change_password,
        PortalUser.first_login_at.is_(None),
        PortalUser.initial_password_expires_at < now,
    ]


def flow_of(kind: OrganizationKind) -> str:
    return "medical" if kind is OrganizationKind.MEDICAL else "care"


def reached_clause(flow: str, step: str) -> sa.ColumnElement[bool]:
    """The offices of the flow that reached `step`, as `_count` adds them up. Raises KeyError."""
    for key, _, _, steps, side, after in _FLOWS:
        if key != flow:
            continue
        if step == side.key:
            return _P.no_security_email_at.is_not(None) if flow == "care" else _P.stage == step
        keys = [s.key for s in steps]
        reached = keys[keys.index(step) :]
        if keys.index(step) <= keys.index(after):
            reached.append(side.key)
        return _P.stage.in_(reached)
    raise KeyError(flow)
