"""Emails about inquiries, queued in the outbox within the caller's transaction. Every one carries the
status-page link (a bearer secret: the bodies are scrubbed once delivered), and replies to it go to
the ticket's reply address (backoffice/inbound/addresses.py)."""

from datetime import date

from backoffice.attachments.models import Attachment
from backoffice.inquiries import links
from backoffice.inquiries.models import Inquiry
from backoffice.inquiries.requester_mail import queue_to_requester, render_for_requester

# Where the preview of a mail shows the status-page link: a bearer secret, minted only when sent.
STATUS_URL_PLACEHOLDER = "（確認ページのURL：送信するメールに記載されます）"


def _queue(kind: str, inquiry: Inquiry, **context: object) -> None:
    queue_to_requester(kind, inquiry, status_url=links.status_url(inquiry), **context)


def queue_acknowledgement(inquiry: Inquiry, status_url: str) -> None:
    """The 受付確認 email: 受付番号, a summary, and the status-page link."""
    queue_to_requester("inquiry_received", inquiry, status_url=status_url)


def queue_reply(
    inquiry: Inquiry, body: str, *, asks: bool = False, files: list[Attachment] | None = None
) -> None:
    """An operator's public reply (the body as shown on the status page), to the requester; `asks`:
    it waits for their answer; `files`: its attachments (carried up to ATTACHMENT_MAIL_MAX_BYTES,
    the others named with the link)."""
    _queue("inquiry_reply", inquiry, body=body, asks=asks, files=files or [])


def preview_reply(inquiry: Inquiry, body: str, *, asks: bool) -> tuple[str, str]:
    """The subject and text queue_reply would mail for this body, the link shown as a placeholder."""
    return render_for_requester(
        "inquiry_reply",
        inquiry,
        status_url=STATUS_URL_PLACEHOLDER,
        body=body,
        asks=asks,
    )


def queue_message_received(inquiry: Inquiry, previous: Inquiry | None = None) -> None:
    """A short acknowledgement of the requester's message; `previous` when it started a new ticket."""
    _queue("inquiry_message_received", inquiry, previous=previous)


def queue_reminder(inquiry: Inquiry, closes_on: date) -> None:
    """ご回答のお願い: the question is still open, and the day the ticket closes without an answer."""
    _queue("inquiry_reminder", inquiry, closes_on=closes_on)


def queue_closed_unanswered(inquiry: Inquiry) -> None:
    """The ticket was closed for want of an answer, and how to go on."""
    _queue("inquiry_closed", inquiry)
