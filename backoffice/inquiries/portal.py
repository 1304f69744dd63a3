"""An organization's inquiries as マイページ shows them: those sent from its active users' addresses,
and, for a 医療機関, the ID発行申請 for its 医療機関コード (the request its account was issued from).
Both are found by indexes (inquiries.email, inquiry_account_requests.medical_code)."""

import sqlalchemy as sa

from backoffice.accounts.models import Organization, OrganizationKind, PortalUser
from backoffice.extensions import db
from backoffice.inquiries.models import AccountRequestDetails, Inquiry

SHOWN = 50  # the newest; older ones stay reachable through their mails' links


def _clause(organization: Organization) -> sa.ColumnElement[bool]:
    emails = sa.select(PortalUser.email).where(
        PortalUser.organization_id == organization.id, PortalUser.is_active
    )
    clauses = [Inquiry.email.in_(emails)]
    if organization.kind is OrganizationKind.MEDICAL:
        clauses.append(
            Inquiry.id.in_(
                sa.select(AccountRequestDetails.inquiry_id).where(
                    AccountRequestDetails.medical_code == organization.office_number
                )
            )
        )
    return sa.or_(*clauses)


def inquiries_of(organization: Organization) -> list[Inquiry]:
    return list(
        db.session.scalars(
            sa.select(Inquiry)
            .where(_clause(organization))
            .order_by(Inquiry.created_at.desc(), Inquiry.id.desc())
            .limit(SHOWN)
        )
    )


def find(organization: Organization, reference_number: str) -> Inquiry | None:
    """One of the organization's inquiries by 受付番号; another organization's is not found."""
    return db.session.scalar(
        sa.select(Inquiry).where(
            Inquiry.reference_number == reference_number, _clause(organization)
        )
    )
