"""An organization's inquiries as マイページ shows them: those sent from its active users' addresses,
and the ID発行申請 its account was issued from (not every request naming its 医療機関コード: anyone
can type a code). Both are found by indexes (inquiries.email, ix_inquiry_events_account_issued)."""

import sqlalchemy as sa

from backoffice.accounts.models import Organization, OrganizationKind, PortalUser
from backoffice.extensions import db
from backoffice.inquiries.models import Inquiry, InquiryEvent
from backoffice.inquiries.vocabulary import EventKind

SHOWN = 50  # the newest; older ones stay reachable through their mails' links


def _clause(organization: Organization) -> sa.ColumnElement[bool]:
    emails = sa.select(PortalUser.email).where(
        PortalUser.organization_id == organization.id, PortalUser.is_active
    )
    clauses = [Inquiry.email.in_(emails)]
    if organization.kind is OrganizationKind.MEDICAL:
        clauses.append(
            Inquiry.id.in_(
                sa.select(InquiryEvent.inquiry_id).where(
                    InquiryEvent.kind == EventKind.ACCOUNT_ISSUED,
                    InquiryEvent.new_value == organization.office_number,
                )
            )
        )
    return sa.or_(*clauses)


def inquiries_of(organization: Organization) -> list[Inquiry]:
    return list(
        db.session.scalars(
            sa.select(Inquiry)
            .where(_clause(organization), Inquiry.merged_into_id.is_(None))
            .order_by(Inquiry.created_at.desc(), Inquiry.id.desc())
            .limit(SHOWN)
        )
    )


def find(organization: Organization, reference_number: str) -> Inquiry | None:
    """One of the organization's inquiries by 受付番号 (a merged one: the ticket it was merged into);
    another organization's is not found."""
    found = db.session.scalar(
        sa.select(Inquiry).where(
            Inquiry.reference_number == reference_number, _clause(organization)
        )
    )
    return found.surviving if found is not None else None
