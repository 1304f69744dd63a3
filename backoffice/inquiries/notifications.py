"""Emails about inquiries, queued in the outbox within the caller's transaction."""

from backoffice.extensions import db
from backoffice.inquiries.models import Inquiry
from backoffice.mail import outbox
from backoffice.mail.models import OutboundEmail


def queue_acknowledgement(inquiry: Inquiry, status_url: str) -> OutboundEmail:
    """The 受付確認 email: 受付番号, a summary, and the status-page link (a bearer secret, so the body is
    scrubbed once delivered)."""
    email = outbox.enqueue(
        "inquiry_received",
        inquiry.email,
        {"inquiry": inquiry, "status_url": status_url},
        contains_secret=True,
    )
    db.session.flush()
    return email
