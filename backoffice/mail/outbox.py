"""Queue emails with the change that causes them; hand them to delivery once that change commits.

`enqueue` adds the rendered email to the caller's transaction (a secret-bearing body sealed). When the
transaction commits, the ids of what it queued are kept for the request, which hands them to
backoffice.mail.delivery after its response; a rolled-back transaction's emails are forgotten with it.
Services therefore never pass outbox ids around.
"""

from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from cryptography.fernet import InvalidToken
from flask import current_app, g, has_request_context
from sqlalchemy.orm import Session

from backoffice import sealing
from backoffice.db import utcnow
from backoffice.extensions import db
from backoffice.mail.models import OutboundEmail


def unseal(email: "OutboundEmail | sa.Row[Any]") -> tuple[str, str]:
    """The bodies to send. Raises InvalidToken when neither SECRET_KEY nor any of SECRET_KEY_FALLBACKS
    sealed them (backoffice/sealing.py)."""
    if not email.contains_secret or email.scrubbed_at is not None:
        return email.body_text, email.body_html
    return (
        sealing.unseal(sealing.OUTBOX, email.body_text),
        sealing.unseal(sealing.OUTBOX, email.body_html),
    )


def readable(email: OutboundEmail) -> tuple[str, str]:
    """The text and HTML bodies as they are (or were) sent, for people to read."""
    try:
        return unseal(email)
    except InvalidToken:
        return ("（この本文は別の鍵で保護されているため表示できません。）",) * 2


def render_mail(name: str, context: dict[str, Any]) -> tuple[str, str, str]:
    """Render `templates/mail/NAME.txt` and `.html`; the subject is `{% set subject = … %}` in the .txt."""
    env = current_app.jinja_env
    context = {"config": current_app.config, **context}
    text = env.get_template(f"mail/{name}.txt").make_module(context)
    html = env.get_template(f"mail/{name}.html").render(context)
    subject = " ".join(str(text.subject).split())
    return subject, str(text).strip() + "\n", html


def enqueue(
    name: str,
    to: str,
    context: dict[str, Any],
    *,
    contains_secret: bool = False,
    inquiry: Any = None,
    reply_to: str | None = None,
    files: list[Any] | None = None,
) -> OutboundEmail:
    """Add a rendered email to the current transaction; it is sent only if that transaction commits,
    and then, in a request, right after the response (see backoffice.mail.delivery). `inquiry`: the
    ticket it is about (its thread, and where a bounce shows); `reply_to`: where answers go; `files`:
    attachments (backoffice/attachments rows) it carries, read from the storage at delivery.

    Raises ValueError, and adds nothing, when the address or the subject holds a CR, LF or other
    control character (one that could end a mail header and start another)."""
    subject, text, html = render_mail(name, context)
    # The forms refuse such addresses and render_mail joins the subject onto one line; this keeps a
    # value from anywhere else out of the headers too. (Flask-Mail would refuse the message only at
    # delivery, as BadHeaderError, which the delivery does not treat as a failed attempt.)
    for value in (to, subject):
        if any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
            raise ValueError(f"a mail header value with a control character: {value!r}")
    if contains_secret:
        # A one-time password, initial password or bearer link never sits in the database in clear.
        text, html = sealing.seal(sealing.OUTBOX, text), sealing.seal(sealing.OUTBOX, html)
    email = OutboundEmail(
        to_address=to,
        kind=name,
        subject=subject,
        body_text=text,
        body_html=html,
        contains_secret=contains_secret,
        reply_to=reply_to,
    )
    if inquiry is not None:
        email.inquiry = inquiry
    if files:
        from backoffice.attachments.models import MailAttachment

        email.has_attachments = True
        db.session.add_all(MailAttachment(email=email, attachment=f) for f in files)
    db.session.add(email)
    db.session.info.setdefault(_PENDING, []).append(email)
    return email


# Mails added by `enqueue` and not yet committed (on the session) and, in a request, the ids of those
# whose transaction committed (on `g`): the request hands the latter to delivery when it answers.
_PENDING = "kip.outbox_pending"
_COMMITTED = "kip.outbox_committed"


@sa.event.listens_for(Session, "after_commit")
def _remember_committed(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a SAVEPOINT released: the outer transaction may still roll back
    pending = session.info.pop(_PENDING, None)
    if not pending or not has_request_context():
        return  # outside a request (the CLI, the demo) the worker delivers them
    # The identity key holds the id without loading the (now expired) row; a mail added in a SAVEPOINT
    # that rolled back has none.
    committed = g.setdefault(_COMMITTED, [])
    committed += [state.identity[0] for state in map(sa.inspect, pending) if state.has_identity]


@sa.event.listens_for(Session, "after_transaction_end")
def _forget_uncommitted(session: Session, transaction: sa.orm.SessionTransaction) -> None:
    # The outermost transaction ended: after its commit the list is gone already; what is left was
    # rolled back or closed with it.
    if transaction.parent is None:
        session.info.pop(_PENDING, None)


def take_committed() -> list[int]:
    """The ids of the emails this request's committed transactions queued, once (they are handed to
    delivery by backoffice.mail.delivery after the response)."""
    return g.pop(_COMMITTED, None) or []


class NotResendable(Exception):
    """The mail carries a secret (its body is not kept for a second send), is still queued, or was
    sent again a moment ago (a double click). `str(error)` is the operator's message."""

    def __init__(
        self, message: str = "このメールは再送できません（本文を保存していないか、送信待ちです）。"
    ) -> None:
        super().__init__(message)


# A second 再送 of the same mail within this time is taken for a double click.
RESEND_INTERVAL = timedelta(minutes=1)


def resend(email_id: int, actor: dict[str, Any]) -> OutboundEmail:
    """Queue the same mail again to the same address (a new outbox row; the first stays as it went),
    with its files, in the audit log. Commits. Raises LookupError for an unknown mail, NotResendable."""
    from backoffice.attachments.models import MailAttachment
    from backoffice.audit.operations import record
    from backoffice.mail.models import EmailStatus

    original = db.session.get(OutboundEmail, email_id)
    if original is None:
        raise LookupError(email_id)
    if original.contains_secret or original.status is EmailStatus.QUEUED:
        raise NotResendable
    again = db.session.scalar(
        sa.select(OutboundEmail.id).where(
            OutboundEmail.to_address == original.to_address,
            OutboundEmail.subject == original.subject,
            OutboundEmail.id > original.id,
            OutboundEmail.created_at > utcnow() - RESEND_INTERVAL,
        )
    )
    if again is not None:
        raise NotResendable("このメールは少し前に再送しました。届いたかどうかを確認してください。")
    email = OutboundEmail(
        to_address=original.to_address,
        kind=original.kind,
        subject=original.subject,
        body_text=original.body_text,
        body_html=original.body_html,
        reply_to=original.reply_to,
        inquiry_id=original.inquiry_id,
        has_attachments=original.has_attachments,
    )
    db.session.add(email)
    if original.has_attachments:
        files = db.session.scalars(
            sa.select(MailAttachment).where(MailAttachment.email_id == original.id)
        ).all()
        db.session.add_all(
            MailAttachment(email=email, attachment_id=f.attachment_id) for f in files
        )
    db.session.info.setdefault(_PENDING, []).append(email)
    db.session.flush()
    record(
        "mail.resent",
        **actor,
        target_type="outbound_email",
        target_id=email.id,
        detail={"original_id": original.id, "inquiry_id": original.inquiry_id},
    )
    db.session.commit()
    return email
