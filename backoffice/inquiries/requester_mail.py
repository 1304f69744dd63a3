"""Every mail to a ticket's requester goes through here: it is about the ticket (its thread, where a
bounce shows) and, when an inbound mailbox is configured, answering it by mail reaches the ticket."""

from backoffice.attachments.mail import split_for_mail
from backoffice.attachments.models import Attachment
from backoffice.inbound import addresses
from backoffice.inbound.reply import REPLY_MARKER
from backoffice.inquiries.models import Inquiry
from backoffice.mail import outbox


def queue_to_requester(
    kind: str, inquiry: Inquiry, *, files: list[Attachment] | None = None, **context: object
) -> None:
    """Queue `templates/mail/KIND` to the requester in the caller's transaction (sealed: every such
    mail carries the status-page link); the mail says whether replying to it reaches the ticket, and
    above which line to write. `files`: the message's attachments — those that fit are carried,
    the others only named (the status page has them). A ticket without an email (logged from a
    call) gets nothing: the operator tells the requester otherwise."""
    if not inquiry.email:
        return
    reply_to, carried, full = _context(inquiry, files, context)
    outbox.enqueue(
        kind,
        inquiry.email,
        full,
        contains_secret=True,
        inquiry=inquiry,
        reply_to=reply_to,
        files=carried,
    )


def render_for_requester(kind: str, inquiry: Inquiry, **context: object) -> tuple[str, str]:
    """The subject and text of the mail queue_to_requester would queue with this context, queuing
    nothing (the reply box's preview). The caller rolls back: it may mint the ticket's reply token."""
    _reply_to, _carried, full = _context(inquiry, None, context)
    subject, text, _html = outbox.render_mail(kind, full)
    return subject, text


def _context(
    inquiry: Inquiry, files: list[Attachment] | None, context: dict[str, object]
) -> tuple[str | None, list[Attachment], dict[str, object]]:
    reply_to = addresses.reply_address(inquiry)
    carried, named = split_for_mail(files or [])
    full = {
        "inquiry": inquiry,
        "reply_marker": REPLY_MARKER if reply_to else None,
        "carried": carried,
        "named": named,
        **context,
    }
    return reply_to, carried, full
