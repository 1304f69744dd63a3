"""`flask onboarding rebuild`: the funnel's rows computed again from what the product holds — the
e-claims directory, the registration audit events, the organizations and their users, the ID
requests and the sent mail — for a database that had offices before the funnel was recorded, or
to check the live record (tests/admin/test_funnel.py compares the two).

Read in grouped queries, folded per office in Python (a command, not a page) and written in one
transaction, so the funnel never shows a half-built state. The directory keeps no import time:
an entry counts as listed from its last update (`updated_at`).
"""

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa

from backoffice.accounts.models import Organization, OrganizationKind, PortalUser
from backoffice.audit.models import AuditEvent
from backoffice.eclaims.models import EClaimsOffice
from backoffice.extensions import db
from backoffice.inquiries.models import AccountRequestDetails, Inquiry
from backoffice.inquiries.vocabulary import InquiryStatus
from backoffice.mail.models import EmailStatus, OutboundEmail
from backoffice.onboarding import counts
from backoffice.onboarding.models import OnboardingProgress
from backoffice.onboarding.progress import derived

BATCH = 1000


@dataclass
class _Row:
    office_number: str
    kind: OrganizationKind
    name: str | None
    steps: dict[str, datetime] = field(default_factory=dict)
    organization_id: int | None = None
    security_email_missing: bool = False

    def reach(self, step: str, at: datetime | None) -> None:
        if at is not None and (step not in self.steps or at < self.steps[step]):
            self.steps[step] = at

    def values(self) -> dict[str, object]:
        return {
            "office_number": self.office_number,
            "kind": self.kind,
            "prefecture": self.office_number[:2],
            "name": self.name,
            "organization_id": self.organization_id,
            "security_email_missing": self.security_email_missing,
            "stage": "listed",
            "entered_at": min(self.steps.values()),
            **{f"{s}_at": self.steps.get(s) for s in _STEP_COLUMNS},
        }


_STEP_COLUMNS = [
    c.name.removesuffix("_at")
    for c in OnboardingProgress.__table__.columns
    if c.name.endswith("_at") and c.name != "entered_at"
]


def _directory(rows: dict[str, _Row]) -> dict[int, str]:
    """The directory's entries; returns the office number of each entry id (for the audit events)."""
    numbers: dict[int, str] = {}
    for entry_id, number, kind, name, updated in db.session.execute(
        sa.select(
            EClaimsOffice.id,
            EClaimsOffice.office_number,
            EClaimsOffice.kind,
            EClaimsOffice.office_name,
            EClaimsOffice.updated_at,
        ).order_by(EClaimsOffice.id)
    ):
        numbers[entry_id] = number
        rows.setdefault(number, _Row(number, kind, name)).reach("listed", updated)
    return numbers


def _registrations(rows: dict[str, _Row], numbers: dict[int, str]) -> None:
    latest: dict[str, tuple[datetime, bool]] = {}
    for action, target, at in db.session.execute(
        sa.select(AuditEvent.action, AuditEvent.target_id, AuditEvent.occurred_at)
        .where(
            AuditEvent.action.in_(
                (
                    "registration.otp_sent",
                    "registration.no_security_email",
                    "registration.otp_passed",
                )
            ),
            AuditEvent.target_type == "eclaims_office",
        )
        .order_by(AuditEvent.id)
    ):
        number = numbers.get(int(target)) if target and target.isdigit() else None
        if number is None or number not in rows:
            continue
        row = rows[number]
        if action == "registration.otp_passed":
            row.reach("otp_passed", at)
            continue
        missing = action == "registration.no_security_email"
        row.reach("started", at)
        if missing:
            row.reach("no_security_email", at)
        if number not in latest or at >= latest[number][0]:
            latest[number] = (at, missing)
    for number, (_, missing) in latest.items():
        rows[number].security_email_missing = missing


def _requests(rows: dict[str, _Row]) -> None:
    """Each code's ID requests (not spam, not merged); it stays rejected when its latest was."""
    latest: dict[str, tuple[datetime, InquiryStatus, datetime | None]] = {}
    for code, name, created, status, resolved in db.session.execute(
        sa.select(
            AccountRequestDetails.medical_code,
            AccountRequestDetails.institution_name,
            Inquiry.created_at,
            Inquiry.status,
            Inquiry.resolved_at,
        )
        .join(Inquiry, Inquiry.id == AccountRequestDetails.inquiry_id)
        .where(Inquiry.status != InquiryStatus.SPAM, Inquiry.merged_into_id.is_(None))
        .order_by(Inquiry.created_at, Inquiry.id)
    ):
        rows.setdefault(code, _Row(code, OrganizationKind.MEDICAL, name)).reach(
            "requested", created
        )
        latest[code] = (created, status, resolved)
    for code, (created, status, resolved) in latest.items():
        if status is InquiryStatus.REJECTED:
            rows[code].reach("rejected", resolved or created)


def _organizations(rows: dict[str, _Row]) -> dict[int, _Row]:
    by_id: dict[int, _Row] = {}
    for org_id, kind, number, name, created in db.session.execute(
        sa.select(
            Organization.id,
            Organization.kind,
            Organization.office_number,
            Organization.name,
            Organization.created_at,
        )
    ):
        row = rows.setdefault(number, _Row(number, kind, name))
        row.kind, row.name, row.organization_id = kind, name, org_id
        row.reach("issued" if kind is OrganizationKind.MEDICAL else "registered", created)
        by_id[org_id] = row
    return by_id


def _users(by_id: dict[int, _Row]) -> None:
    registrants: dict[str, _Row] = {}
    for (
        org_id,
        email,
        is_registrant,
        created,
        first_login,
        changed,
        consented,
    ) in db.session.execute(
        sa.select(
            PortalUser.organization_id,
            PortalUser.email,
            PortalUser.is_registrant,
            PortalUser.created_at,
            PortalUser.first_login_at,
            PortalUser.password_changed_at,
            PortalUser.terms_accepted_at,
        )
    ):
        row = by_id[org_id]
        if not is_registrant:
            row.reach("users_added", created)
            continue
        registrants[email] = row
        row.reach("first_login", first_login)
        row.reach("password_changed", changed)
        row.reach("consented", consented)
    for address, sent in db.session.execute(
        sa.select(OutboundEmail.to_address, sa.func.min(OutboundEmail.sent_at))
        .where(OutboundEmail.kind == "initial_password", OutboundEmail.status == EmailStatus.SENT)
        .group_by(OutboundEmail.to_address)
    ):
        if (row := registrants.get(address)) is not None:
            row.reach("password_mailed", sent)


def rebuild() -> int:
    """Replace every row of the funnel with what the data says. Commits; the number of rows."""
    if db.session.get_bind().dialect.name == "postgresql":
        # Steps recorded while reading would be lost by the replace: they wait for it instead.
        db.session.execute(
            sa.text("LOCK TABLE onboarding_progress, onboarding_counts IN EXCLUSIVE MODE")
        )
    rows: dict[str, _Row] = {}
    numbers = _directory(rows)
    _registrations(rows, numbers)
    _requests(rows)
    _users(_organizations(rows))
    table = OnboardingProgress.__table__
    db.session.execute(sa.delete(table))
    values = [row.values() for row in rows.values() if row.steps]
    for start in range(0, len(values), BATCH):
        db.session.execute(sa.insert(table), values[start : start + BATCH])
    db.session.execute(sa.update(table).values(**derived()))
    counts.rebuild()
    db.session.commit()
    return len(values)
