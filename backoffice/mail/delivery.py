"""Deliver queued emails once, with retries: right after the response of the request that queued them
(a thread of the web worker), and by the `flask mail deliver` worker for whatever is left.

Delivery claims a row with one conditional UPDATE (a lease), commits, talks to the SMTP server outside any
transaction, then records the outcome. The conditional UPDATE is atomic on SQLite and PostgreSQL alike, so
several `flask mail deliver` workers never send the same mail twice; a worker that dies mid-send leaves a
lease that runs out, after which the mail is tried again.
"""

import atexit
import logging
import os
import queue
import secrets
import smtplib
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parseaddr
from typing import Any

import sqlalchemy as sa
from cryptography.fernet import InvalidToken
from flask import Flask, current_app
from flask.wrappers import Response
from markupsafe import escape

from backoffice.db import utcnow
from backoffice.extensions import db
from backoffice.inbound.addresses import envelope_sender
from backoffice.mail.models import EmailStatus, OutboundEmail
from backoffice.mail.outbox import take_committed, unseal
from backoffice.mail.smtp import Message, SmtpSession

log = logging.getLogger(__name__)

SCRUBBED_NOTICE = "（このメールは配信済みのため、本文をサーバーから削除しました。）"


def init_app(app: Flask) -> None:
    """Deliver, after each response, what the request's committed transactions queued."""
    app.after_request(_deliver_committed)


def _deliver_committed(response: Response) -> Response:
    """Try to send the emails this request committed once the response has gone out, so the user never
    waits for the SMTP server. Whatever fails stays queued for `flask mail deliver`.

    With MAIL_DELIVER_IN_BACKGROUND (the default) a thread of this process sends them, so the worker
    takes its next request at once even when the SMTP server is slow or hangs (up to MAIL_TIMEOUT per
    email); otherwise the worker sends them itself after the response. Either way an email the process
    never gets to (it stops, it dies) is still in the outbox for `flask mail deliver`."""
    ids = take_committed()
    if not ids or not current_app.config["MAIL_SERVER"]:
        return response
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if app.config["MAIL_DELIVER_IN_BACKGROUND"]:
        response.call_on_close(lambda: _sender(app).put(ids))
    else:
        response.call_on_close(lambda: _deliver_in_context(app, ids))
    return response


_SENDER = "kip.mail_sender"


def _sender(app: Flask) -> "queue.SimpleQueue[list[int] | None]":
    """This process's queue to its sending thread (started on first use: gunicorn forks workers after
    the app may have been created, and a thread does not survive a fork)."""
    with _SENDER_LOCK:
        found = app.extensions.get(_SENDER)
        if found and found[0] == os.getpid() and found[2].is_alive():
            return found[1]
        pending: queue.SimpleQueue[list[int] | None] = queue.SimpleQueue()
        thread = threading.Thread(
            target=_send_forever, args=(app, pending), name="mail-sender", daemon=True
        )
        thread.start()
        app.extensions[_SENDER] = (os.getpid(), pending, thread)
        # A worker that stops (gunicorn's graceful shutdown ends in sys.exit) first finishes what it
        # was given, so no email is left half-sent under a lease until the lease runs out.
        atexit.register(_finish, pending, thread, app.config["MAIL_TIMEOUT"])
        return pending


def _finish(
    pending: "queue.SimpleQueue[list[int] | None]", thread: threading.Thread, timeout: float
) -> None:
    pending.put(None)
    thread.join(timeout + 5)


_SENDER_LOCK = threading.Lock()


# The sending thread takes whatever is waiting, up to this many emails, over one SMTP connection.
_BATCH = 50


def _send_forever(app: Flask, pending: "queue.SimpleQueue[list[int] | None]") -> None:
    stop = False
    while not stop and (ids := pending.get()) is not None:
        while len(ids) < _BATCH and not stop:  # and whatever else is waiting
            try:
                more = pending.get_nowait()
            except queue.Empty:
                break
            stop = more is None
            ids += more or []
        try:
            _deliver_in_context(app, ids)
        except Exception:
            log.exception("background delivery of %s failed; left to `flask mail deliver`", ids)


def _deliver_in_context(app: Flask, ids: list[int]) -> None:
    with app.app_context():
        deliver_many(ids)


@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0


def deliver_due(limit: int = 100) -> DeliveryReport:
    """Send every queued email whose next attempt is due, up to `limit`; returns what happened."""
    report = DeliveryReport()
    if not current_app.config["MAIL_SERVER"]:
        return report
    now = utcnow()
    ids = db.session.scalars(
        sa.select(OutboundEmail.id)
        .where(
            OutboundEmail.status == EmailStatus.QUEUED,
            OutboundEmail.next_attempt_at <= now,
            sa.or_(OutboundEmail.claimed_until.is_(None), OutboundEmail.claimed_until < now),
        )
        .order_by(OutboundEmail.next_attempt_at, OutboundEmail.id)
        .limit(limit)
    ).all()
    db.session.rollback()  # end the read transaction before the SMTP conversations
    return deliver_many(ids)


def deliver_many(ids: Iterable[int]) -> DeliveryReport:
    """Deliver these emails one by one (each claimed, sent and recorded on its own, as deliver_one
    does) over one SMTP connection, opened when the first is claimed."""
    report = DeliveryReport()
    with SmtpSession() as smtp:
        for email_id in ids:
            outcome = _deliver(email_id, smtp)
            if outcome is True:
                report.sent += 1
            elif outcome is False:
                report.failed += 1
    return report


def deliver_one(email_id: int) -> bool | None:
    """Claim, send and record one email. True: sent; False: failed (retried later); None: not ours to
    send (already sent, or claimed by another worker)."""
    with SmtpSession() as smtp:
        return _deliver(email_id, smtp)


def _deliver(email_id: int, smtp: SmtpSession) -> bool | None:
    """deliver_one over a connection that may stay open for the next email."""
    claimed = _claim(email_id)
    if claimed is None:
        return None
    token, email = claimed
    attempts = email.attempts + 1
    try:
        text, html = unseal(email)
    except InvalidToken as error:
        # Never send a placeholder: the worker must run with the app's SECRET_KEY.
        _record_failure(
            email_id, token, attempts, RuntimeError(f"sealed under another SECRET_KEY ({error!r})")
        )
        return False
    message = Message(
        subject=email.subject,
        recipients=[email.to_address],
        body=text,
        html=html,
        sender=current_app.config["MAIL_DEFAULT_SENDER"],
        reply_to=_named(email.reply_to) if email.reply_to else None,
        # One thread per ticket in the requester's mail program.
        extra_headers=(
            {"In-Reply-To": thread_id(email.inquiry_id), "References": thread_id(email.inquiry_id)}
            if email.inquiry_id is not None
            else None
        ),
    )
    if email.has_attachments:
        _attach_files(message, email.id)
    # The same Message-ID on every attempt, so a receiver can drop a copy sent twice.
    message.msgId = message_id(email)
    try:
        smtp.send(message, envelope_sender(email.id))
    except (smtplib.SMTPException, OSError) as error:
        _record_failure(email_id, token, attempts, error)
        return False
    _record_success(email, token, attempts)
    return True


def _attach_files(message: Message, email_id: int) -> None:
    """The files the mail carries, read now; those retention deleted since it was queued are named
    in it instead."""
    from backoffice.attachments.mail import files_of_mail, gone_notice

    files, gone = files_of_mail(email_id)
    db.session.rollback()  # no transaction stays open while talking to the SMTP server
    for item in files:
        message.attach(item.filename, item.content_type, item.data)
    if gone:
        notice = gone_notice(gone)
        message.body = f"{message.body}\n{notice}"
        if message.html:
            message.html = f"{message.html}<p>{escape(notice)}</p>"


def message_id(email: Any) -> str:
    """`<outbox id.created time@sender's domain>`: stable across retries, unique across databases."""
    return f"<{email.id}.{email.created_at:%Y%m%d%H%M%S%f}@{mail_domain()}>"


def thread_id(inquiry_id: int) -> str:
    """The root every mail about one ticket refers to (it is never sent itself)."""
    return f"<inquiry.{inquiry_id}.thread@{mail_domain()}>"


def mail_domain() -> str:
    sender = str(current_app.config["MAIL_DEFAULT_SENDER"])
    return sender.rpartition("@")[2].rstrip(">").strip() or "localhost"


def _named(address: str) -> tuple[str, str] | str:
    """The reply address with the inbound mailbox's display name, as the requester's program shows it."""
    name = parseaddr(current_app.config["INBOUND_ADDRESS"] or "")[0]
    return (name, address) if name else address


_OUTBOX = OutboundEmail.__table__
# What sending needs, returned by the claim itself (no second query).
_CLAIMED = [
    _OUTBOX.c[name]
    for name in (
        "id",
        "to_address",
        "subject",
        "body_text",
        "body_html",
        "contains_secret",
        "scrubbed_at",
        "kind",
        "attempts",
        "created_at",
        "reply_to",
        "inquiry_id",
        "has_attachments",
    )
]


def _claim(email_id: int) -> tuple[str, sa.Row[Any]] | None:
    """Take the lease on a queued email and commit, so no other worker sends it meanwhile; the claim
    token and the email, or None when it is sent already or another worker holds it."""
    now = utcnow()
    token = secrets.token_hex(16)
    email = db.session.execute(
        sa.update(_OUTBOX)
        .where(
            _OUTBOX.c.id == email_id,
            _OUTBOX.c.status == EmailStatus.QUEUED,
            sa.or_(_OUTBOX.c.claimed_until.is_(None), _OUTBOX.c.claimed_until < now),
        )
        .values(
            claimed_until=now + timedelta(seconds=current_app.config["MAIL_LEASE_SECONDS"]),
            claim_token=token,
        )
        .returning(*_CLAIMED)
    ).one_or_none()
    db.session.commit()  # also: no transaction stays open while talking to the SMTP server
    return None if email is None else (token, email)


def _record_success(email: sa.Row[Any], token: str, attempts: int) -> None:
    now = utcnow()
    values: dict[str, Any] = {
        "status": EmailStatus.SENT,
        "sent_at": now,
        "attempts": attempts,
        "claimed_until": None,
        "claim_token": None,
        "last_error": None,
    }
    if email.contains_secret:
        values |= {"body_text": SCRUBBED_NOTICE, "body_html": SCRUBBED_NOTICE, "scrubbed_at": now}
    written = _update_claimed(email.id, token, values)
    log.info("mail %s sent", email.id)
    if written and email.kind == "initial_password":
        _funnel_mailed(email.to_address, now)


def _funnel_mailed(address: str, now: datetime) -> None:
    """The onboarding funnel's 初期パスワードをメールで送付, after the sending is recorded: a failure here
    must never undo that record (the mail would go again); `flask onboarding rebuild` finds it."""
    from backoffice.onboarding import progress

    try:
        progress.password_mailed(address, now)
        db.session.commit()
    except sa.exc.SQLAlchemyError:
        db.session.rollback()
        log.exception("onboarding step of a sent initial password not recorded")


def _record_failure(email_id: int, token: str, attempts: int, error: Exception) -> None:
    config = current_app.config
    delay = min(
        config["MAIL_RETRY_BASE_SECONDS"] * 2 ** (attempts - 1), config["MAIL_RETRY_MAX_SECONDS"]
    )
    gave_up = attempts >= config["MAIL_MAX_ATTEMPTS"]
    _update_claimed(
        email_id,
        token,
        {
            "status": EmailStatus.FAILED if gave_up else EmailStatus.QUEUED,
            "attempts": attempts,
            "next_attempt_at": utcnow() + timedelta(seconds=delay),
            "claimed_until": None,
            "claim_token": None,
            "last_error": f"{type(error).__name__}: {error}"[:500],
        },
    )
    log.warning("mail %s not sent (attempt %s): %s", email_id, attempts, type(error).__name__)


def _update_claimed(email_id: int, token: str, values: dict[str, Any]) -> bool:
    """Write the outcome only while the claim is still ours (a lease that ran out may be re-claimed);
    whether it was. Commits."""
    written = db.session.execute(
        sa.update(_OUTBOX)
        .where(_OUTBOX.c.id == email_id, _OUTBOX.c.claim_token == token)
        .values(**values)
    ).rowcount
    db.session.commit()
    return bool(written)
