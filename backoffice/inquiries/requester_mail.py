"""Every mail to a ticket's requester goes through here: it is about the ticket (its thread, where a
bounce shows) and, when an inbound mailbox is configured, answering it by mail reaches the ticket."""

from backoffice.inbound import addresses
from backoffice.inbound.reply import REPLY_MARKER
from backoffice.inquiries.models import Inquiry
from backoffice.mail import outbox


def queue_to_requester(kind: str, inquiry: Inquiry, **context: object) -> None:
    """Queue `templates/mail/KIND` to the requester in the caller's transaction (sealed: every such
    mail carries the status-page link); the mail says whether replying to it reaches the ticket, and
    above which line to write."""
    reply_to = addresses.reply_address(inquiry)
    outbox.enqueue(
        kind,
        inquiry.email,
        {"inquiry": inquiry, "reply_marker": REPLY_MARKER if reply_to else None, **context},
        contains_secret=True,
        inquiry=inquiry,
        reply_to=reply_to,
    )
