"""Take one received message in: record it once, and do what it calls for.

The address it came to decides (backoffice/inbound/addresses.py): a ticket's reply address appends
the requester's reply to that ticket exactly as a web answer does (conversation.deliver, without an
acknowledgement: mail never answers mail); a bounce address marks the outbox mail it names. Headers
alone (In-Reply-To, References, a 受付番号 in the subject) only suggest a ticket to an operator.
Nothing here ever sends mail. One transaction per message, with the message's key unique: the same
message received twice, or by two fetchers at once, is one row and one message on the ticket.
"""

import re
from dataclasses import dataclass
from datetime import timedelta
from email import message_from_bytes
from email.message import Message

import sqlalchemy as sa
from cryptography.fernet import InvalidToken
from flask import current_app
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm.exc import StaleDataError

from backoffice import sealing
from backoffice.attachments import mail as attachment_mail
from backoffice.db import utcnow
from backoffice.extensions import db
from backoffice.inbound import addresses, bounces
from backoffice.inbound.models import InboundEmail, InboundSource, InboundState
from backoffice.inbound.parsing import MailUnreadable, ParsedMail, message_key, parse
from backoffice.inquiries import conversation
from backoffice.inquiries.actors import ProductActor
from backoffice.inquiries.models import Inquiry, InquiryEvent
from backoffice.inquiries.operations import REFERENCE_ALPHABET
from backoffice.inquiries.triage import add_event
from backoffice.inquiries.vocabulary import Channel, EventKind
from backoffice.mail.models import OutboundEmail
from backoffice.normalize import nfkc

MAIL = ProductActor("メール受信", "system")
ST = InboundState


@dataclass(frozen=True)
class Received:
    """What became of a message: `duplicate` when it had been received before (nothing changed)."""

    inbound_id: int
    state: InboundState
    duplicate: bool = False
    reason: str | None = None

    @property
    def unreadable(self) -> bool:
        """Whether it belongs in the error folder."""
        return self.state is ST.FAILED


def receive(
    raw: bytes, source: InboundSource, recipient: str | None = None, size: int | None = None
) -> Received:
    """Record `raw` and act on it (see the module's docstring). `recipient`: the envelope address the
    MTA delivered it to, when it says; `size`: the whole message's, when `raw` is only its headers (an
    IMAP message over INBOUND_MAX_BYTES is not downloaded). Commits; never raises for what is in the
    message (a database failure does raise: the message must then be offered again)."""
    for _attempt in range(3):
        row, mail = _read(raw, source, recipient, size)
        if (found := _received_before(row.message_key)) is not None:
            return found
        try:
            if mail is not None:
                _route(row, mail, recipient)
            db.session.add(row)
            db.session.commit()
        except StaleDataError:
            db.session.rollback()  # an operator saved the ticket meanwhile: again, on theirs
            continue
        except IntegrityError:
            db.session.rollback()
            if (found := _received_before(row.message_key)) is not None:
                return found  # another fetcher took the same message at this moment
            current_app.logger.exception("inbound mail %s refused by the database", row.message_key)
            return _keep_unreadable(raw, source, recipient, size)
        except SQLAlchemyError:
            db.session.rollback()  # the database failed: nothing is kept, the message comes again
            raise
        except Exception:
            # Our own failure on this one message: it is kept for an operator, so that one odd
            # message never stops the mail behind it.
            db.session.rollback()
            current_app.logger.exception("inbound mail %s could not be routed", row.message_key)
            return _keep_unreadable(raw, source, recipient, size)
        return Received(row.id, row.state, reason=row.reason)
    raise RuntimeError("the ticket kept changing while the mail was taken in")


def _keep_unreadable(
    raw: bytes, source: InboundSource, recipient: str | None, size: int | None
) -> Received:
    """Keep a message our routing failed on, or could not store (a constraint it broke), for an
    operator."""
    row, _mail = _read(raw, source, recipient, size)
    row.state, row.reason = ST.FAILED, "processing_error"
    db.session.add(row)
    db.session.commit()
    return Received(row.id, row.state, reason=row.reason)


def _received_before(key: str) -> Received | None:
    found = db.session.execute(
        sa.select(InboundEmail.id, InboundEmail.state).where(InboundEmail.message_key == key)
    ).one_or_none()
    return None if found is None else Received(found.id, found.state, duplicate=True)


def _read(
    raw: bytes, source: InboundSource, recipient: str | None, size: int | None
) -> tuple[InboundEmail, ParsedMail | None]:
    """The row for `raw` (not added yet) and the parsed mail, or None when it cannot be read."""
    limit = current_app.config["INBOUND_MAX_BYTES"]
    size = len(raw) if size is None else size
    kept = raw
    mail: ParsedMail | None = None
    reason = None
    if size > limit:
        # Kept: the headers, to say whose it was; the whole message stays in the IMAP error folder.
        ends = [i for i in (raw.find(b"\r\n\r\n"), raw.find(b"\n\n")) if i >= 0]
        kept = raw[: min([*ends, 65536])]
        try:
            partial = parse(kept + b"\n\n")
        except MailUnreadable as error:
            partial = error.partial  # type: ignore[attr-defined]
        except Exception:
            partial = ParsedMail(message_key="", message_id=None)
        partial.message_key = message_key(raw, partial.message_id, partial.message)
        reason = "too_large"
    else:
        try:
            mail = partial = parse(raw)
        except MailUnreadable as error:
            partial, reason = error.partial, error.reason  # type: ignore[attr-defined]
        except Exception:  # the parser's own failure on a hostile message: keep it for an operator
            current_app.logger.exception("inbound mail could not be parsed")
            partial = ParsedMail(message_key=message_key(raw, None, None), message_id=None)
            reason = "malformed"
    row = InboundEmail(
        message_key=partial.message_key,
        message_id=partial.message_id,
        source=source,
        state=ST.FAILED if reason else ST.UNMATCHED,
        reason=reason,
        flags=None if partial.message_id else ["no_message_id"],
        from_address=partial.from_address,
        from_name=partial.from_name,
        recipient=(recipient or next(iter(partial.recipients), ""))[:254],
        subject=partial.subject,
        body_text=redact(partial.reply),
        full_text=redact(partial.text),
        raw_sealed=sealing.seal_bytes(sealing.INBOUND_RAW, kept),
        raw_size=size,
    )
    return row, mail


def _route(row: InboundEmail, mail: ParsedMail, recipient: str | None) -> None:
    tag = next(
        (t for a in [recipient or "", *mail.recipients] if (t := addresses.read(a)) is not None),
        None,
    )
    if tag is not None and tag.bounced_email_id is not None:
        email = db.session.get(OutboundEmail, tag.bounced_email_id)
        _bounce_or_auto_reply(row, mail, email, verified=True)
        return
    if mail.report:  # a report to another address: the original's Message-ID may name our mail
        _bounce_or_auto_reply(row, mail, bounces.original_email(mail.message), verified=False)
        return
    inquiry = None
    if tag is not None:
        inquiry = db.session.scalar(
            sa.select(Inquiry).where(Inquiry.reply_token == tag.reply_token)
        )
        # A merged ticket's reply address leads to the ticket it was merged into.
        inquiry = inquiry.surviving if inquiry is not None else None
    if addresses.is_ours(mail.from_address):
        _set(row, ST.AUTOMATIC, "own_mail", inquiry)
        return
    if _too_frequent(mail.from_address):
        _set(row, ST.THROTTLED, "throttled", inquiry)  # and no history entry: a loop or a flood
        return
    if mail.automatic:
        _set(row, ST.AUTOMATIC, mail.automatic, inquiry)
        if inquiry is not None:
            _event(row, inquiry, EventKind.MAIL_AUTO_REPLY, row.body_text)
        return
    suggested = _suggested_ticket(mail)
    if inquiry is None:
        _set(row, ST.UNMATCHED, "unknown_token" if tag else "no_token", None)
        row.header_inquiry_id = suggested
        return
    if suggested is not None and suggested != inquiry.id:
        # The token decides; a reply whose headers name another ticket is flagged, never moved.
        row.header_inquiry_id = suggested
        row.flags = [*(row.flags or []), "header_mismatch"]
    if not inquiry.email or mail.from_address != inquiry.email.lower():
        _set(row, ST.HELD, "sender_mismatch", inquiry)
        _event(row, inquiry, EventKind.MAIL_HELD, row.from_address or "（不明）")
        return
    append(row, inquiry, mail.message)


def append(row: InboundEmail, inquiry: Inquiry, message: Message | None = None) -> None:
    """Put the mail on `inquiry` as the requester's message, in the caller's transaction (also for an
    operator filing a held or unmatched mail): on the follow-up ticket when it is finished and has
    one, on a new linked ticket when it has none (conversation.deliver), and nowhere on a スパム one.
    Its attachments go with it (`message`, or the kept original when not given), each checked like
    an upload; those not taken are noted on the message."""
    inquiry = _open_ticket(inquiry)
    _forget_token(row, inquiry)
    text, flags = message_text(row.body_text)
    row.flags = [*(row.flags or []), *flags] or None
    # The conversation's key for the message (its follow-up ticket's submission key holds it too);
    # the colon keeps it apart from the keys the status page makes.
    key = f"mail:{row.message_key[:40]}"
    delivered = conversation.deliver(
        inquiry, text, channel=Channel.EMAIL, message_key=key, acknowledge=False
    )
    if delivered.dropped:
        _set(row, ST.DISMISSED, "spam_ticket", inquiry)
        return
    db.session.flush()
    event = db.session.scalar(sa.select(InquiryEvent).where(InquiryEvent.message_key == key))
    if event is None:  # a follow-up ticket: the message is its body
        target = db.session.scalar(
            sa.select(Inquiry).where(Inquiry.reference_number == delivered.reference_number)
        )
    else:
        target = event.inquiry
        row.event_id = event.id
    files = attachment_mail.files_in(message if message is not None else original_message(row))
    if files and target is not None:
        attachment_mail.take_from_mail(files, MAIL, inquiry=target, event=event)
    _set(row, ST.APPENDED, None, target)


def original_message(row: InboundEmail) -> Message | None:
    """The kept original, parsed again (for an operator filing a mail: its attachments)."""
    if row.raw_purged_at is not None:
        return None
    try:
        return message_from_bytes(sealing.unseal_bytes(sealing.INBOUND_RAW, row.raw_sealed))
    except InvalidToken:
        return None


def _open_ticket(inquiry: Inquiry) -> Inquiry:
    """Where a reply to `inquiry` belongs: its newest follow-up while it is finished (a requester who
    answers the old mail again must not open one ticket per mail)."""
    for _hop in range(10):
        if not conversation.is_finished(inquiry):
            return inquiry
        follow_up = db.session.scalar(
            sa.select(Inquiry)
            .where(Inquiry.previous_id == inquiry.id)
            .order_by(Inquiry.id.desc())
            .limit(1)
        )
        if follow_up is None:
            return inquiry
        inquiry = follow_up
    return inquiry


def _forget_token(row: InboundEmail, inquiry: Inquiry) -> None:
    """Take the ticket's own status token out of the kept text wherever it stands (a link the
    requester's program wrapped escapes the pattern of `redact`)."""
    if not inquiry.status_token_sealed:
        return
    try:
        token = sealing.unseal(sealing.STATUS_TOKEN, inquiry.status_token_sealed)
    except InvalidToken:
        return
    row.body_text = row.body_text.replace(token, "（省略）")
    row.full_text = row.full_text.replace(token, "（省略）")


def message_text(reply: str) -> tuple[str, list[str]]:
    """The reply as a ticket message: within INQUIRY_BODY_MAX_LENGTH (the whole mail stays with the
    mail), and never empty."""
    limit = current_app.config["INQUIRY_BODY_MAX_LENGTH"]
    if not reply.strip():
        return "（本文のないメールです。元のメールを確認してください。）", ["empty"]
    if len(reply) > limit:
        notice = "\n（長いため省略しました。続きは元のメールを確認してください。）"
        return reply[: limit - len(notice)] + notice, ["truncated"]
    return reply, []


def _bounce_or_auto_reply(
    row: InboundEmail, mail: ParsedMail, email: OutboundEmail | None, *, verified: bool
) -> None:
    """A report (or an answer to a return path) about outbox mail `email`. Only a report to the
    mail's own VERP address (`verified`) about its own recipient marks it 不達; any other is kept
    for an operator to read."""
    inquiry = email.inquiry if email is not None else None
    row.outbound_email_id = email.id if email is not None else None
    failure = bounces.failure(mail.message) if mail.message is not None else None
    if failure is None and not mail.report:
        # A person's or a program's answer to the return path, not a report: recorded, never answered.
        _set(row, ST.AUTOMATIC, "to_return_path", inquiry)
        if inquiry is not None:
            _event(row, inquiry, EventKind.MAIL_AUTO_REPLY, row.body_text)
        return
    if email is None:
        _set(row, ST.BOUNCE, "unknown_mail", None)
    elif failure is None or not failure.permanent:
        _set(row, ST.BOUNCE, "delayed", inquiry)
    elif not verified:
        _set(row, ST.BOUNCE, "unverified", inquiry)
    elif not failure.names(email.to_address):
        _set(row, ST.BOUNCE, "other_recipient", inquiry)  # where the requester forwards mail to
    else:
        _set(row, ST.BOUNCE, "permanent", inquiry)
        if bounces.mark(email, failure.detail) and inquiry is not None:
            _event(row, inquiry, EventKind.MAIL_BOUNCED, failure.detail, new_value=str(email.id))


def _set(
    row: InboundEmail, state: InboundState, reason: str | None, inquiry: Inquiry | None
) -> None:
    row.state, row.reason = state, reason
    row.inquiry = inquiry


def _event(row: InboundEmail, inquiry: Inquiry, kind: EventKind, body: str, **values: str) -> None:
    """A history entry on the ticket for mail that is not the requester's answer."""
    event = add_event(inquiry, MAIL, kind, body=redact(body)[:2000], **values)
    db.session.flush()
    row.event_id = event.id


def _too_frequent(address: str) -> bool:
    since = utcnow() - timedelta(hours=1)
    count = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(InboundEmail)
        .where(InboundEmail.from_address == address, InboundEmail.received_at >= since)
    )
    return count >= current_app.config["INBOUND_SENDER_HOURLY_LIMIT"]


_REFERENCE = re.compile(f"[{REFERENCE_ALPHABET}]{{4}}-[{REFERENCE_ALPHABET}]{{4}}")


def _suggested_ticket(mail: ParsedMail) -> int | None:
    """The ticket the headers point to: a mail of ours it answers, or a 受付番号 in its subject."""
    if (found := bounces.inquiry_of(mail.references)) is not None:
        return found
    for number in _REFERENCE.findall(nfkc(mail.subject).upper()):
        found = db.session.scalar(sa.select(Inquiry.id).where(Inquiry.reference_number == number))
        if found is not None:
            return found
    return None


# A status-page link quoted back to us: the token is a bearer secret, never kept in clear.
_STATUS_LINK = re.compile(r"(/inquiry/status/)[A-Za-z0-9_\-]{16,}")


def redact(text: str) -> str:
    return _STATUS_LINK.sub(r"\1（省略）", text)
