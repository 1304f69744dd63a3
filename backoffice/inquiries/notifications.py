"""Emails about inquiries, queued in the outbox within the caller's transaction."""

from backoffice.inquiries.models import Inquiry
from backoffice.mail import outbox


def queue_acknowledgement(inquiry: Inquiry, status_url: str) -> None:
    """The 受付確認 email: 受付番号, a summary, and the status-page link (a bearer secret, so the body is
    scrubbed once delivered)."""
    outbox.enqueue(
        "inquiry_received",
        inquiry.email,
        {"inquiry": inquiry, "status_url": status_url},
        contains_secret=True,
    )


def queue_reply(inquiry: Inquiry, body: str) -> None:
    """An operator's public reply (the body as shown on the status page), to the requester."""
    outbox.enqueue("inquiry_reply", inquiry.email, {"inquiry": inquiry, "body": body})
