"""The inbound mailbox's addresses: `support+<tag>@domain` (INBOUND_ADDRESS, INBOUND_DELIMITER).

- a ticket's reply address: the tag is the ticket's reply token (16 letters of a-z and 2-7, so a mail
  system that lowercases the address keeps it). It finds the ticket, and grants nothing else;
- an outbox mail's envelope sender (VERP): `bounce-<id>-<mac>`, so a bounce names the mail it answers.
  The MAC (keyed by SECRET_KEY) keeps anyone from marking our mails bounced by writing to the address.
"""

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from email.utils import parseaddr

from flask import current_app

from backoffice.inquiries.models import Inquiry

_TOKEN_LENGTH = 16
_BOUNCE = "bounce-"


def mailbox() -> tuple[str, str] | None:
    """The inbound mailbox as (local part, domain), or None when INBOUND_ADDRESS is unset."""
    address = parseaddr(current_app.config["INBOUND_ADDRESS"] or "")[1]
    local, at, domain = address.rpartition("@")
    return (local, domain.lower()) if at and local and domain else None


def _address(tag: str) -> str | None:
    if (box := mailbox()) is None:
        return None
    local, domain = box
    return f"{local}{current_app.config['INBOUND_DELIMITER']}{tag}@{domain}"


def reply_address(inquiry: Inquiry) -> str | None:
    """The ticket's Reply-To; mints its token in the caller's transaction the first time."""
    if mailbox() is None:
        return None
    if inquiry.reply_token is None:
        raw = secrets.token_bytes(10)
        inquiry.reply_token = base64.b32encode(raw).decode().lower()[:_TOKEN_LENGTH]
    return _address(inquiry.reply_token)


def envelope_sender(email_id: int) -> str | None:
    """The VERP return path of outbox mail `email_id`."""
    return _address(f"{_BOUNCE}{email_id}-{_mac(email_id, current_app.config['SECRET_KEY'])}")


def _mac(email_id: int, key: str) -> str:
    digest = hmac.new(f"verp:{key}".encode(), str(email_id).encode(), hashlib.sha256).digest()
    return base64.b32encode(digest).decode().lower()[:10]


@dataclass(frozen=True)
class Tag:
    """What the address a mail came to says: a ticket's reply token, or the outbox mail it bounced."""

    reply_token: str | None = None
    bounced_email_id: int | None = None


def read(address: str) -> Tag | None:
    """The tag of one of our addresses, None for any other address (or an untagged one)."""
    if (box := mailbox()) is None:
        return None
    local, at, domain = parseaddr(address)[1].rpartition("@")
    prefix = box[0] + current_app.config["INBOUND_DELIMITER"]
    if not at or domain.lower() != box[1] or not local.lower().startswith(prefix.lower()):
        return None
    tag = local[len(prefix) :].lower()
    if tag.startswith(_BOUNCE):
        number, _, mac = tag[len(_BOUNCE) :].partition("-")
        if not number.isdigit():
            return None
        config = current_app.config
        keys = [config["SECRET_KEY"], *(config.get("SECRET_KEY_FALLBACKS") or [])]
        if any(hmac.compare_digest(mac, _mac(int(number), key)) for key in keys):
            return Tag(bounced_email_id=int(number))
        return None
    if len(tag) == _TOKEN_LENGTH and tag.isalnum():
        return Tag(reply_token=tag)
    return None


def is_ours(address: str) -> bool:
    """Whether an address is the inbound mailbox (tagged or not) or the sender of our mail."""
    address = parseaddr(address)[1].lower()
    if not address:
        return False
    sender = parseaddr(current_app.config["MAIL_DEFAULT_SENDER"] or "")[1].lower()
    if address == sender:
        return True
    box = mailbox()
    if box is None:
        return False
    local, _, domain = address.rpartition("@")
    return domain == box[1] and (
        local == box[0].lower()
        or local.startswith(box[0].lower() + current_app.config["INBOUND_DELIMITER"])
    )
