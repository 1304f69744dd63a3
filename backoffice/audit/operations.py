"""Writing audit events inside the caller's transaction (so they share its fate)."""

import hashlib
import hmac
import re
from typing import Any

from flask import current_app, has_request_context, request

from backoffice.audit.models import AuditEvent, Outcome
from backoffice.extensions import db
from backoffice.normalize import WHOLE_EMAIL_RE

# Keys that must never reach the log, whatever a caller passes in `detail`.
_FORBIDDEN = ("password", "token", "secret", "otp")


def record(
    action: str,
    *,
    outcome: Outcome = Outcome.SUCCESS,
    actor_type: str = "anonymous",
    actor_id: int | None = None,
    actor_label: str | None = None,
    target_type: str | None = None,
    target_id: str | int | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an audit event to the current transaction; the caller commits.

    Raises ValueError when `detail` carries a key that looks like a secret.
    """
    if detail and any(part in key.lower() for key in detail for part in _FORBIDDEN):
        raise ValueError("audit details never carry secrets")
    event = AuditEvent(
        action=action,
        outcome=outcome,
        actor_type=actor_type,
        actor_id=actor_id,
        actor_label=actor_label,
        ip_address=request.remote_addr if has_request_context() else None,
        target_type=target_type,
        target_id=None if target_id is None else str(target_id),
        detail=detail,
    )
    db.session.add(event)
    return event


def typed_label(value: str, shape: re.Pattern[str]) -> str:
    """What someone typed into an ID field, as the audit log may keep it: the value itself when it has
    the identifier's `shape`, else a keyed hash, so that a password typed into the wrong field never
    reaches the log while repeated tries of the same text still match."""
    if shape.fullmatch(value):
        return value[:254]
    key = current_app.config["SECRET_KEY"].encode()
    digest = hmac.new(key, b"typed-id:" + value.encode(), hashlib.sha256).hexdigest()
    return f"（IDの形でない入力 {digest[:12]}）"


def record_unknown_account(action: str, typed_address: str) -> None:
    """A failure for an address without a usable account (unknown or disabled), in the caller's
    transaction: the address as typed, or its marker (`typed_label`)."""
    record(
        action,
        outcome=Outcome.FAILURE,
        actor_label=typed_label(typed_address, WHOLE_EMAIL_RE),
        detail={"reason": "unknown_or_disabled"},
    )
