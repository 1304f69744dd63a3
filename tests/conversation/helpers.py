"""Walking the conversation like its people: the operator's reply form, the requester's status page."""

import io
import re

import sqlalchemy as sa
from flask.testing import FlaskClient

from backoffice.extensions import db
from backoffice.inquiries.models import Inquiry
from backoffice.mail.models import OutboundEmail
from backoffice.mail.outbox import readable
from tests.builders.web import csrf_token

STATUS_LINK = re.compile(r"https?://[^/\s]+(/inquiry/status/[A-Za-z0-9_-]+)")


def mails_to(address: str) -> list[OutboundEmail]:
    return list(
        db.session.scalars(
            sa.select(OutboundEmail)
            .where(OutboundEmail.to_address == address)
            .order_by(OutboundEmail.id)
        )
    )


def link_in(mail: OutboundEmail) -> str:
    """The status-page path in a mail (each carries one)."""
    return STATUS_LINK.search(readable(mail)[0]).group(1)


def _with_files(data: dict, field: str, files: list[tuple[bytes, str]] | None) -> dict:
    """The form as multipart with `files` ((contents, name) pairs) in `field`, when there are any."""
    if files:
        data[field] = [(io.BytesIO(contents), name) for contents, name in files]
    return data


def operator_reply(
    client: FlaskClient,
    inquiry: Inquiry,
    body: str,
    next_status: str | None = None,
    *,
    files: list[tuple[bytes, str]] | None = None,
):
    page = client.get(f"/admin/tickets/{inquiry.id}/")
    db.session.refresh(inquiry)
    data = {
        "csrf_token": csrf_token(page.text),
        "reply-body": body,
        "reply-version": str(inquiry.version),
    }
    if next_status:
        data["reply-next_status"] = next_status
    return client.post(
        f"/admin/tickets/{inquiry.id}/",
        data=_with_files(data, "reply-attachments", files),
        content_type="multipart/form-data" if files else None,
    )


def message_key(html: str) -> str:
    return re.search(r'name="message_key" type="hidden" value="([^"]+)"', html).group(1)


def requester_message(
    client: FlaskClient,
    link: str,
    body: str,
    *,
    key: str | None = None,
    files: list[tuple[bytes, str]] | None = None,
):
    """「追加で連絡する」 on the status page; `key` sends a page already sent (a repeat)."""
    page = client.get(link)
    data = {
        "csrf_token": csrf_token(page.text),
        "message_key": key or message_key(page.text),
        "body": body,
    }
    return client.post(
        link,
        data=_with_files(data, "attachments", files),
        content_type="multipart/form-data" if files else None,
    )
