"""Moving an office along the onboarding funnel, inside the caller's transaction (the caller
commits, so a step is recorded exactly when the change that makes it is).

Each call keeps the first time a step was reached (`coalesce`) and sets `stage` again from all the
steps, so a row is always at exactly one step: the furthest it reached. Three short statements on
the row's unique key — an insert that does nothing when the row exists, the step, the stage — so
two requests for the same office never collide and nothing is read into Python.
"""

import itertools
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from backoffice.accounts.models import Organization, OrganizationKind, PortalUser
from backoffice.db import utcnow
from backoffice.extensions import db
from backoffice.onboarding import counts
from backoffice.onboarding.models import CARE_STEPS, MEDICAL_STEPS, OnboardingProgress

_T = OnboardingProgress.__table__
_C = _T.c


class day_tenths(FunctionElement):
    """Calendar days from the first timestamp to the second, in tenths, rounded half up."""

    type = sa.Integer()
    inherit_cache = True


@compiles(day_tenths, "postgresql")
def _day_tenths_pg(element: day_tenths, compiler: sa.sql.compiler.SQLCompiler, **kw: object) -> str:
    a, b = (compiler.process(c, **kw) for c in element.clauses)
    return f"CAST(FLOOR(EXTRACT(EPOCH FROM ({b} - {a})) / 8640 + 0.5) AS INTEGER)"


@compiles(day_tenths, "sqlite")
def _day_tenths_sqlite(
    element: day_tenths, compiler: sa.sql.compiler.SQLCompiler, **kw: object
) -> str:
    a, b = (compiler.process(c, **kw) for c in element.clauses)
    # Never negative where it is used (b >= a), so CAST's truncation is the floor.
    return f"CAST((julianday({b}) - julianday({a})) * 10 + 0.5 AS INTEGER)"


def _wait(before: str, step: str) -> sa.ColumnElement[int | None]:
    a, b = _C[f"{before}_at"], _C[f"{step}_at"]
    return sa.case((b >= a, day_tenths(a, b)), else_=None)


def derived() -> dict[str, sa.ColumnElement]:
    """What a row's steps decide: its stage and the waits between its flow's steps."""
    values: dict[str, sa.ColumnElement] = {"stage": stage_expression()}
    care = {b.key: a.key for a, b in itertools.pairwise(CARE_STEPS)}
    medical = {b.key: a.key for a, b in itertools.pairwise(MEDICAL_STEPS)}
    is_medical = _C.kind == OrganizationKind.MEDICAL
    for step in dict.fromkeys([*care, *medical]):
        if step in care and step in medical and care[step] != medical[step]:
            wait = sa.case((is_medical, _wait(medical[step], step)), else_=_wait(care[step], step))
        elif step in care and step in medical:
            wait = _wait(care[step], step)
        elif step in care:
            wait = sa.case((is_medical, None), else_=_wait(care[step], step))
        else:
            wait = sa.case((is_medical, _wait(medical[step], step)), else_=None)
        values[f"{step}_wait"] = wait
    return values


def stage_expression() -> sa.ColumnElement[str]:
    """The step a row is at, from the steps it reached (the order of backoffice.onboarding.models)."""
    medical = _C.kind == OrganizationKind.MEDICAL
    return sa.case(
        (_C.users_added_at.is_not(None), "users_added"),
        (_C.consented_at.is_not(None), "consented"),
        (sa.and_(sa.not_(medical), _C.password_changed_at.is_not(None)), "password_changed"),
        (_C.first_login_at.is_not(None), "first_login"),
        (
            medical,
            sa.case(
                (_C.issued_at.is_not(None), "issued"),
                (_C.rejected_at.is_not(None), "rejected"),
                else_="requested",
            ),
        ),
        (_C.password_mailed_at.is_not(None), "password_mailed"),
        (_C.registered_at.is_not(None), "registered"),
        (_C.otp_passed_at.is_not(None), "otp_passed"),
        (sa.and_(_C.started_at.is_not(None), _C.security_email_missing), "no_security_email"),
        (_C.started_at.is_not(None), "started"),
        else_="listed",
    )


def _insert() -> sa.Insert:
    dialect = db.session.get_bind().dialect.name
    return (pg_insert if dialect == "postgresql" else sqlite_insert)(_T)


def _ensure(office_number: str, kind: OrganizationKind, name: str | None, at: datetime) -> None:
    with db.session.no_autoflush:
        _insert_row(office_number, kind, name, at)


def _insert_row(office_number: str, kind: OrganizationKind, name: str | None, at: datetime) -> None:
    _counted_insert(
        _office(office_number),
        _insert()
        .values(
            office_number=office_number,
            kind=kind,
            prefecture=office_number[:2],
            name=name,
            stage="listed",
            entered_at=at,
        )
        .on_conflict_do_nothing(index_elements=["office_number"]),
    )


def _counted_insert(where: sa.ColumnElement[bool], statement: sa.Insert) -> None:
    """Insert a row unless its office has one, and count a new one at its first step."""
    # RETURNING, not rowcount: the drivers do not agree on a rowcount for ON CONFLICT DO NOTHING.
    if db.session.execute(statement.returning(_C.id)).first() is not None:
        counts.add(counts.contributions(where))


def _ensure_organization(organization_id: int, at: datetime) -> None:
    """The row of an organization registered before the funnel was recorded (see rebuild)."""
    with db.session.no_autoflush:
        _insert_organization_row(organization_id, at)


def _insert_organization_row(organization_id: int, at: datetime) -> None:
    org = Organization.__table__.c
    _counted_insert(
        _organization(organization_id),
        _insert()
        .from_select(
            [
                "office_number",
                "kind",
                "prefecture",
                "name",
                "organization_id",
                "stage",
                "entered_at",
            ],
            sa.select(
                org.office_number,
                org.kind,
                sa.func.substr(org.office_number, 1, 2),
                org.name,
                org.id,
                sa.literal("listed"),
                sa.literal(at, OnboardingProgress.entered_at.type),
            ).where(org.id == organization_id),
        )
        .on_conflict_do_nothing(index_elements=["office_number"]),
    )
    # A row the directory import made before the organization existed in the funnel.
    number = sa.select(org.office_number).where(org.id == organization_id).scalar_subquery()
    db.session.execute(
        sa.update(_T)
        .where(_C.office_number == number, _C.organization_id.is_(None))
        .values(organization_id=organization_id)
    )


def _reach(where: sa.ColumnElement[bool], at: datetime, *steps: str, **values: object) -> None:
    """Record `steps` as reached at `at` (unless reached before), set `values`, then the stage
    and the counts. Without autoflush: the caller's pending changes (a ticket with its version
    check) are flushed where the caller handles their errors, not here."""
    moment = sa.literal(at, _C.entered_at.type)  # as the column stores it, never as a zoned time
    first = {f"{step}_at": sa.func.coalesce(_C[f"{step}_at"], moment) for step in steps}
    with db.session.no_autoflush:
        before = counts.contributions(where)
        db.session.execute(
            sa.update(_T)
            .where(where)
            .values(
                **first,
                **values,
                entered_at=sa.case((_C.entered_at > moment, moment), else_=_C.entered_at),
            )
        )
        db.session.execute(sa.update(_T).where(where).values(**derived()))
        after = counts.contributions(where)
        after.subtract(before)
        counts.add(after)


def _office(office_number: str) -> sa.ColumnElement[bool]:
    return _C.office_number == office_number


def _organization(organization_id: int) -> sa.ColumnElement[bool]:
    return _C.organization_id == organization_id


# 介護事業所・みなし介護事業所


def listed(offices: list[tuple[str, OrganizationKind, str]], at: datetime) -> None:
    """These offices (事業所番号, kind, name) are in the e-claims directory: one import batch, in
    the same few statements whatever its size."""
    if not offices:
        return
    numbers = {number for number, _, _ in offices}
    known = set(
        db.session.scalars(sa.select(_C.office_number).where(_C.office_number.in_(numbers)))
    )
    db.session.execute(
        _insert()
        .values(
            [
                {
                    "office_number": number,
                    "kind": kind,
                    "prefecture": number[:2],
                    "name": name,
                    "stage": "listed",
                    "entered_at": at,
                }
                for number, kind, name in offices
            ]
        )
        .on_conflict_do_nothing(index_elements=["office_number"])
    )
    if new := numbers - known:
        counts.add(counts.contributions(_C.office_number.in_(new)))
    _reach(_C.office_number.in_(numbers), at, "listed")


def started(office_number: str, kind: OrganizationKind, name: str, *, security_email: bool) -> None:
    """The office proved its e-claims ID and password; without a security email it stops at ※3."""
    now = utcnow()
    _ensure(office_number, kind, name, now)
    steps = ("started",) if security_email else ("started", "no_security_email")
    _reach(_office(office_number), now, *steps, security_email_missing=not security_email)


def otp_passed(office_number: str) -> None:
    now = utcnow()
    _reach(_office(office_number), now, "otp_passed")


def registered(organization: Organization) -> None:
    """The organization exists: ユーザ登録 of a care office, or ID発行 of a 医療機関."""
    now = utcnow()
    _ensure(organization.office_number, organization.kind, organization.name, now)
    _reach(
        _office(organization.office_number),
        now,
        "issued" if organization.kind is OrganizationKind.MEDICAL else "registered",
        organization_id=organization.id,
        kind=organization.kind,
        name=organization.name,
    )


def password_mailed(address: str, at: datetime) -> None:
    """A mail with an initial password was sent to `address`: a step only for a registrant's first."""
    registrant = sa.select(PortalUser.organization_id).where(
        PortalUser.email == address, PortalUser.is_registrant
    )
    _reach(_C.organization_id.in_(registrant.scalar_subquery()), at, "password_mailed")


# 医療機関


def requested(medical_code: str, institution_name: str) -> None:
    """An ID request for the code; one after a rejection makes it pending again."""
    now = utcnow()
    _ensure(medical_code, OrganizationKind.MEDICAL, institution_name, now)
    _reach(_office(medical_code), now, "requested", rejected_at=None)


def rejected(medical_code: str) -> None:
    """The request was rejected; an office already issued stays issued (the stage says so)."""
    now = utcnow()
    _reach(_office(medical_code), now, "rejected")


# Both: the registrant's first login and its steps, and the users added


def _registrant_step(user: PortalUser, step: str) -> None:
    if not user.is_registrant:
        return
    now = utcnow()
    _ensure_organization(user.organization_id, now)
    _reach(_organization(user.organization_id), now, step)


def logged_in(user: PortalUser) -> None:
    _registrant_step(user, "first_login")


def password_changed(user: PortalUser) -> None:
    _registrant_step(user, "password_changed")


def consented(user: PortalUser) -> None:
    _registrant_step(user, "consented")


def user_added(organization_id: int) -> None:
    now = utcnow()
    _ensure_organization(organization_id, now)
    _reach(_organization(organization_id), now, "users_added")
