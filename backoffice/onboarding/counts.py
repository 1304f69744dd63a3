"""The funnel's rows counted per kind and prefecture, kept in the same transaction as each row's
change (backoffice.onboarding.progress reads the rows it changes before and after, and adds the
difference), so the funnel without a period reads a few thousand counts.

Each row counts once at its step, once if it ever stopped at ※3, and once per step it waited for,
by the tenths of a day it waited.
"""

from collections import Counter
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from backoffice.extensions import db
from backoffice.onboarding.models import OnboardingCount, OnboardingProgress

_P = OnboardingProgress.__table__
_T = OnboardingCount.__table__
WAITS = [c.name.removesuffix("_wait") for c in _P.columns if c.name.endswith("_wait")]
_READ = [_P.c.kind, _P.c.prefecture, _P.c.stage, _P.c.no_security_email_at] + [
    _P.c[f"{step}_wait"] for step in WAITS
]
# (kind, prefecture, measure, value)
Key = tuple[Any, str, str, int]


def readings(row: Any) -> list[tuple[str, int]]:
    """What one funnel row counts in: (measure, value)."""
    found = [(f"at:{row.stage}", 0)]
    if row.no_security_email_at is not None:
        found.append(("ever:no_security_email", 0))
    for step in WAITS:
        if (wait := getattr(row, f"{step}_wait")) is not None:
            found.append((f"wait:{step}", wait))
    return found


def contributions(where: sa.ColumnElement[bool]) -> Counter[Key]:
    found: Counter[Key] = Counter()
    for row in db.session.execute(sa.select(*_READ).where(where)):
        found.update((row.kind, row.prefecture, m, v) for m, v in readings(row))
    return found


def add(delta: Counter[Key]) -> None:
    """Add `delta`, in key order (two transactions never wait on each other in opposite order)."""
    dialect = db.session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    for key in sorted((k for k, n in delta.items() if n), key=lambda k: (k[0].value, *k[1:])):
        kind, prefecture, measure, value = key
        statement = insert(_T).values(
            kind=kind, prefecture=prefecture, measure=measure, value=value, count=delta[key]
        )
        db.session.execute(
            statement.on_conflict_do_update(
                index_elements=["kind", "prefecture", "measure", "value"],
                set_={"count": _T.c.count + statement.excluded.count},
            )
        )


def rebuild() -> None:
    """Count every funnel row again (the caller commits)."""
    db.session.execute(sa.delete(_T))
    counted = contributions(sa.true())
    rows = [
        {"kind": k, "prefecture": p, "measure": m, "value": v, "count": n}
        for (k, p, m, v), n in counted.items()
    ]
    for start in range(0, len(rows), 1000):
        db.session.execute(sa.insert(_T), rows[start : start + 1000])


def read(kinds: tuple[Any, ...], prefecture: str) -> Counter[tuple[str, int]]:
    """The counts of these kinds (and one prefecture, or all): (measure, value) → count."""
    statement = (
        sa.select(_T.c.measure, _T.c.value, sa.func.sum(_T.c.count))
        .where(_T.c.kind.in_(kinds))
        .group_by(_T.c.measure, _T.c.value)
    )
    if prefecture:
        statement = statement.where(_T.c.prefecture == prefecture)
    return Counter({(m, v): int(n) for m, v, n in db.session.execute(statement)})
