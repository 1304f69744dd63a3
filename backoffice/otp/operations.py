"""Email one-time passwords: issue, verify, resend (docs/security.md).

A code is 6 random digits (from `secrets`), stored only as an HMAC, valid 10 minutes, single use, bound to
the purpose and to the browser session that asked for it (the caller keeps the binding in the session), and
void after 5 wrong tries. Every mail of a code, first or resent, passes the same gate per address and purpose
(`_hold`): a cooldown between mails and a cap per hour; a code that passes voids the earlier ones. Decoys for
unknown addresses pass the same gate, so its answers never tell whether an address has an account. Email
OTP proves control of the mailbox; it is not a possession factor.
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm.attributes import set_committed_value

from backoffice.db import utcnow
from backoffice.domain_errors import DomainError
from backoffice.extensions import db
from backoffice.mail import outbox
from backoffice.otp.models import OtpChallenge, Purpose
from backoffice.sessions import hash_key


class OtpError(DomainError):
    """`str(error)` is the Japanese message for the ワンタイムパスワード field (`code`)."""

    field = "code"


class OtpWrong(OtpError):
    def __init__(self, remaining: int) -> None:
        super().__init__(
            f"＊ワンタイムパスワードが正しくありません。あと{remaining}回間違えると、このワンタイムパスワードは使えなくなります。"
        )
        self.remaining = remaining


class OtpExpired(OtpError):
    def __init__(self) -> None:
        super().__init__(
            "＊ワンタイムパスワードの有効期限が切れています。「ワンタイムパスワードを再送する」を押してください。"
        )


class OtpExhausted(OtpError):
    def __init__(self) -> None:
        super().__init__(
            "＊間違いが続いたため、このワンタイムパスワードは使えなくなりました。"
            "「ワンタイムパスワードを再送する」を押して、新しいワンタイムパスワードを受け取ってください。"
        )


class OtpUnavailable(OtpError):
    """No challenge for this browser and purpose (never asked, already used, or another browser)."""

    def __init__(self) -> None:
        super().__init__("＊はじめからやり直してください。")


class ResendRefused(OtpError):
    pass


@dataclass(frozen=True)
class Issued:
    challenge: OtpChallenge
    binding: str  # for the browser's session only
    # Why no new code was mailed (the cooldown or the hourly cap), to be shown on the next page.
    notice: str | None = None


def _code_hash(code: str, binding_hash: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"{binding_hash}:{code}".encode(), hashlib.sha256).hexdigest()


def _new_code() -> str:
    digits = current_app.config["OTP_DIGITS"]
    return f"{secrets.randbelow(10**digits):0{digits}d}"


def _queue_mail(challenge: OtpChallenge, code: str) -> None:
    outbox.enqueue(
        "otp",
        challenge.sent_to,
        {
            "code": code,
            "minutes": current_app.config["OTP_TTL_MINUTES"],
            "expires_at": challenge.expires_at,
            "purpose": challenge.purpose,
        },
        contains_secret=True,
    )


def issue(
    purpose: Purpose,
    sent_to: str,
    *,
    portal_user_id: int | None = None,
    send: bool = True,
    current: str | None = None,
    now: datetime | None = None,
) -> Issued:
    """A new challenge and its email, in the caller's transaction (the caller commits).

    With `send=False` no email goes out: a decoy for an unknown address, so that the next page behaves
    exactly as for a known one. Within the cooldown or over the hourly cap nothing is mailed and no
    earlier code is voided: the browser keeps its open challenge (`current`, its session's binding) or
    gets one that was never mailed, and `notice` says why.
    """
    now = now or utcnow()
    _lock_mailbox(purpose, sent_to)
    if notice := _hold(purpose, sent_to, now):
        kept = find(current, purpose)
        if current and kept and kept.sent_to == sent_to and kept.expires_at > now:
            return Issued(kept, current, notice)
        challenge, binding, _ = _add_challenge(purpose, sent_to, portal_user_id, now, sends=0)
        return Issued(challenge, binding, notice)
    _void_open(purpose, sent_to, now)
    challenge, binding, code = _add_challenge(purpose, sent_to, portal_user_id, now, sends=1)
    if send:
        _queue_mail(challenge, code)
    return Issued(challenge, binding)


def _add_challenge(
    purpose: Purpose, sent_to: str, portal_user_id: int | None, now: datetime, *, sends: int
) -> tuple[OtpChallenge, str, str]:
    binding = secrets.token_urlsafe(32)
    binding_hash = hash_key(binding)
    code = _new_code()
    challenge = OtpChallenge(
        purpose=purpose,
        portal_user_id=portal_user_id,
        sent_to=sent_to,
        # A challenge held by the gate was never mailed: no code matches it, so guessing is pointless.
        code_hash=_code_hash(code, binding_hash) if sends else "",
        binding_hash=binding_hash,
        expires_at=now + timedelta(minutes=current_app.config["OTP_TTL_MINUTES"]),
        last_sent_at=now,
        sends=sends,
    )
    db.session.add(challenge)
    db.session.flush()
    return challenge, binding, code


def _lock_mailbox(purpose: Purpose, sent_to: str) -> None:
    """Serialise the gate per address and purpose until the caller commits, so that requests sent at
    once cannot all pass it. PostgreSQL: a transaction-level advisory lock; SQLite serialises writers."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    digest = hashlib.sha256(f"otp:{purpose.value}:{sent_to}".encode()).digest()
    db.session.execute(
        sa.select(sa.func.pg_advisory_xact_lock(int.from_bytes(digest[:8], "big", signed=True)))
    )


def _hold(purpose: Purpose, sent_to: str, now: datetime) -> str | None:
    """Why no code may be mailed to `sent_to` for `purpose` now, or None. Counts every challenge (decoys
    too) whose last mail is within the hour; a challenge mailed more than once counts each mail, so the
    cap can only be overestimated."""
    config = current_app.config
    last, recent = db.session.execute(
        sa.select(
            sa.func.max(OtpChallenge.last_sent_at),
            sa.func.coalesce(sa.func.sum(OtpChallenge.sends), 0),
        ).where(
            OtpChallenge.sent_to == sent_to,
            OtpChallenge.purpose == purpose,
            OtpChallenge.sends > 0,
            OtpChallenge.last_sent_at > now - timedelta(hours=1),
        )
    ).one()
    if recent >= config["OTP_HOURLY_CAP"]:
        return "短時間に何度もワンタイムパスワードを送信したため、しばらく新しいワンタイムパスワードをお送りできません。1時間ほどたってからお試しください。"
    if last is not None:
        wait = config["OTP_RESEND_SECONDS"] - (now - last).total_seconds()
        if wait > 0:
            return f"直前にワンタイムパスワードをお送りしたため、新しいワンタイムパスワードはお送りしていません。届いたメールをご確認ください。再送は{int(wait) + 1}秒後からできます。"
    return None


def _void_open(purpose: Purpose, sent_to: str, now: datetime) -> None:
    """A new code ends every earlier one for the same address and purpose, in any browser."""
    db.session.execute(
        sa.update(OtpChallenge)
        .where(
            OtpChallenge.sent_to == sent_to,
            OtpChallenge.purpose == purpose,
            OtpChallenge.consumed_at.is_(None),
            OtpChallenge.expires_at > now,
        )
        .values(expires_at=now)
        .execution_options(synchronize_session="fetch")
    )


def find(binding: str | None, purpose: Purpose) -> OtpChallenge | None:
    """The open challenge of this browser for this purpose."""
    if not binding:
        return None
    return db.session.scalar(
        sa.select(OtpChallenge).where(
            OtpChallenge.binding_hash == hash_key(binding),
            OtpChallenge.purpose == purpose,
            OtpChallenge.consumed_at.is_(None),
        )
    )


def verify(
    binding: str | None,
    purpose: Purpose,
    code: str,
    *,
    now: datetime | None = None,
    challenge: OtpChallenge | None = None,
) -> OtpChallenge:
    """Consume the challenge when `code` is right (caller commits). A wrong code is counted and
    committed at once. `challenge`: the one `find` gave the caller for this binding and purpose, so as
    not to read it again. Raises OtpUnavailable, OtpExpired, OtpExhausted or OtpWrong."""
    now = now or utcnow()
    if challenge is None or challenge.purpose is not purpose:
        challenge = find(binding, purpose)
    if challenge is None:
        raise OtpUnavailable
    max_attempts = current_app.config["OTP_MAX_ATTEMPTS"]
    if challenge.attempts >= max_attempts:
        raise OtpExhausted
    if challenge.expires_at <= now:
        raise OtpExpired
    if not hmac.compare_digest(challenge.code_hash, _code_hash(code, challenge.binding_hash)):
        challenge.attempts += 1
        db.session.commit()
        if challenge.attempts >= max_attempts:
            raise OtpExhausted
        raise OtpWrong(max_attempts - challenge.attempts)
    # Single use even against two requests at once: only one UPDATE finds it unconsumed.
    consumed = db.session.execute(
        sa.update(OtpChallenge)
        .where(OtpChallenge.id == challenge.id, OtpChallenge.consumed_at.is_(None))
        .values(consumed_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if consumed != 1:
        raise OtpUnavailable
    set_committed_value(challenge, "consumed_at", now)  # as written: nothing left to flush
    return challenge


def count_failure(binding: str | None, purpose: Purpose) -> int:
    """Count a failed try against the challenge without checking its code (a wrong セキュリティコード entered
    with it counts too). Commits. Returns the tries left; raises OtpUnavailable or OtpExhausted."""
    challenge = find(binding, purpose)
    if challenge is None:
        raise OtpUnavailable
    challenge.attempts += 1
    db.session.commit()
    left = current_app.config["OTP_MAX_ATTEMPTS"] - challenge.attempts
    if left <= 0:
        raise OtpExhausted
    return left


def resend(binding: str | None, purpose: Purpose, *, now: datetime | None = None) -> Issued:
    """A new code for the same challenge (every earlier code stops working), through the same gate as
    `issue`. Commits. Raises OtpUnavailable or ResendRefused."""
    now = now or utcnow()
    challenge = find(binding, purpose)
    if challenge is None or binding is None:
        raise OtpUnavailable
    _lock_mailbox(purpose, challenge.sent_to)
    if notice := _hold(purpose, challenge.sent_to, now):
        db.session.rollback()
        raise ResendRefused(f"＊{notice}")
    _void_open(purpose, challenge.sent_to, now)
    code = _new_code()
    challenge.code_hash = _code_hash(code, challenge.binding_hash)
    challenge.expires_at = now + timedelta(minutes=current_app.config["OTP_TTL_MINUTES"])
    challenge.attempts = 0
    challenge.last_sent_at = now
    challenge.sends += 1
    # A decoy (unknown address) stays silent on resend too.
    if challenge.portal_user_id or purpose is Purpose.REGISTRATION:
        _queue_mail(challenge, code)
    db.session.commit()
    return Issued(challenge, binding)
