"""Delivery status reports about our mail: which outbox mail they answer, whether its failure is
permanent (flufl.bounce, GNU Mailman's detectors for the many formats MTAs write), and marking it."""

import re
from dataclasses import dataclass
from email.message import Message

from flask import current_app
from flufl.bounce import all_failures

from backoffice.db import utcnow
from backoffice.extensions import db
from backoffice.inquiries.models import Inquiry
from backoffice.mail.delivery import mail_domain, message_id
from backoffice.mail.models import EmailStatus, OutboundEmail


@dataclass(frozen=True)
class Failure:
    permanent: bool
    detail: str  # the report's status and diagnostic, for operators
    recipients: frozenset[str] = frozenset()  # the addresses it says failed (lower case)

    def names(self, address: str) -> bool:
        """Whether the report is about `address` (a report that names nobody is taken as about it)."""
        return not self.recipients or address.lower() in self.recipients


def failure(message: Message) -> Failure | None:
    """What a report says, or None when it is not a delivery report at all."""
    try:
        temporary, permanent = all_failures(message)
    except Exception:  # a detector's failure on an odd report: read it as no report
        current_app.logger.exception("bounce detection failed")
        temporary, permanent = frozenset(), frozenset()
    detail = _diagnostic(message)
    named = frozenset(
        a.decode("utf-8", "replace").lower() if isinstance(a, bytes) else str(a).lower()
        for a in (*permanent, *temporary)
    ) | _final_recipients(message)
    if permanent or (detail and detail.startswith("5")):
        return Failure(True, detail or "宛先に届きませんでした", named)
    if temporary or detail:
        return Failure(False, detail or "配信が遅れています", named)
    return None


def _final_recipients(message: Message) -> frozenset[str]:
    """The Final-Recipient and Original-Recipient addresses of a delivery-status part."""
    found = set()
    for part in message.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        for fields in part.get_payload() or []:
            if not isinstance(fields, Message):
                continue
            for name in ("Final-Recipient", "Original-Recipient"):
                value = str(fields.get(name, ""))
                if ";" in value:
                    found.add(value.partition(";")[2].strip().strip("<>").lower())
    return frozenset(found)


def _diagnostic(message: Message) -> str:
    """`Status` and `Diagnostic-Code` of the first recipient of a delivery-status part."""
    for part in message.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        for fields in part.get_payload() or []:
            if not isinstance(fields, Message) or fields.get("Status") is None:
                continue
            status = str(fields.get("Status", "")).strip()
            diagnostic = " ".join(str(fields.get("Diagnostic-Code", "")).split())
            return f"{status} {diagnostic}".strip()[:500]
    return ""


_OUR_ID = re.compile(r"<(\d+)\.(\d{20})@")
_THREAD = re.compile(r"<inquiry\.(\d+)\.thread@")


def original_email(message: Message | None) -> OutboundEmail | None:
    """The outbox mail a report carries the headers of (message/rfc822 or text/rfc822-headers)."""
    if message is None:
        return None
    for part in message.walk():
        kind = part.get_content_type()
        if kind == "message/rfc822":
            inner = part.get_payload()
            headers = inner[0] if isinstance(inner, list) and inner else None
            value = str(headers.get("Message-ID", "")) if isinstance(headers, Message) else ""
        elif kind == "text/rfc822-headers":
            text = (part.get_payload(decode=True) or b"").decode("ascii", errors="replace")
            value = next(
                (line for line in text.splitlines() if line.lower().startswith("message-id:")), ""
            )
        else:
            continue
        if (email := _outbox_email(value)) is not None:
            return email
    return None


def _outbox_email(value: str) -> OutboundEmail | None:
    match = _OUR_ID.search(value)
    if match is None:
        return None
    email = db.session.get(OutboundEmail, int(match.group(1)))
    # The creation time in the id tells our mail from another database's with the same number.
    if email is None or message_id(email).strip("<>") not in value:
        return None
    return email


def inquiry_of(references: list[str]) -> int | None:
    """The ticket that the mails a reply names (In-Reply-To, References) are about."""
    for value in references:
        if (email := _outbox_email(value)) is not None and email.inquiry_id is not None:
            return email.inquiry_id
        match = _THREAD.search(value)
        if (
            match is not None
            and value.endswith(f"@{mail_domain()}>")
            and (inquiry := db.session.get(Inquiry, int(match.group(1)))) is not None
        ):
            return inquiry.id
    return None


def mark(email: OutboundEmail, detail: str) -> bool:
    """Record a permanent failure on a sent mail (caller's transaction); False when it was marked
    before (a second report about the same mail)."""
    if email.status is EmailStatus.BOUNCED:
        return False
    email.status = EmailStatus.BOUNCED
    email.bounced_at = utcnow()
    email.bounce_detail = detail[:500]
    return True
