"""What an operator does with a mail that waits for them (「未振り分けメール」, or held on a ticket): put
it on a ticket as the requester's message, make a new ticket of it, or mark it 対応不要. Each is one
transaction with its audit event; the mail is claimed by a conditional update, so two operators at
once cannot file it twice."""

from dataclasses import dataclass

import sqlalchemy as sa
from cryptography.fernet import InvalidToken
from sqlalchemy.orm.exc import StaleDataError

from backoffice import sealing
from backoffice.alerts import operations as alerts
from backoffice.attachments import mail as attachment_mail
from backoffice.audit.operations import record
from backoffice.db import utcnow
from backoffice.domain_errors import DomainError
from backoffice.extensions import db
from backoffice.inbound.models import FILEABLE, NEEDS_OPERATOR, InboundEmail, InboundState
from backoffice.inbound.receive import append, message_text, original_message
from backoffice.inquiries import links, notifications
from backoffice.inquiries.models import Inquiry, InquiryCategory
from backoffice.inquiries.operations import InquiryInput, build_inquiry
from backoffice.inquiries.vocabulary import CategoryKind, InquiryStatus, Intake
from backoffice.mail.models import EmailStatus, OutboundEmail
from backoffice.operators.operations import OperatorActor


class FilingError(DomainError):
    field = None


class AlreadyHandled(FilingError):
    pass


class UnknownTicket(FilingError):
    field = "reference_number"


class NewTicketRefused(FilingError):
    pass


def waiting() -> "sa.Select[tuple[InboundEmail]]":
    """The mails that wait for an operator, newest first."""
    return (
        sa.select(InboundEmail)
        .where(InboundEmail.state.in_(NEEDS_OPERATOR))
        .order_by(InboundEmail.received_at.desc(), InboundEmail.id.desc())
    )


def waiting_count() -> int:
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(InboundEmail)
        .where(InboundEmail.state.in_(NEEDS_OPERATOR))
    )


def file_to_ticket(inbound_id: int, reference_number: str, actor: OperatorActor) -> Inquiry:
    """Put the mail on the ticket `reference_number` as the requester's message (it comes back to
    work as with any answer). Commits. Raises UnknownTicket, AlreadyHandled."""
    for _attempt in range(3):
        inquiry = db.session.scalar(
            sa.select(Inquiry).where(Inquiry.reference_number == reference_number)
        )
        if inquiry is None:
            raise UnknownTicket("＊その受付番号のお問い合わせはありません。")
        if inquiry.status is InquiryStatus.SPAM:
            raise UnknownTicket("＊スパムとしたお問い合わせには追加できません。")
        row = _claim(inbound_id, actor)
        append(row, inquiry)
        row.state = InboundState.FILED
        record(
            "mail.filed",
            **actor.audit(),
            target_type="inbound_email",
            target_id=row.id,
            detail={"inquiry_id": row.inquiry_id},
        )
        try:
            db.session.commit()
        except StaleDataError:
            db.session.rollback()
            continue
        return row.inquiry
    raise RuntimeError("the ticket kept changing while the mail was filed")


@dataclass(frozen=True)
class NewTicket:
    category_id: int
    requester_name: str
    email: str
    organization_name: str | None = None
    acknowledge: bool = False  # mail the 受付確認 (with the status link) to the requester


_PARENT = sa.orm.aliased(InquiryCategory)


def ticket_categories() -> list[InquiryCategory]:
    """The 中カテゴリー a ticket made from a mail may go in (an ID発行申請 needs its form's fields)."""
    return list(
        db.session.scalars(
            sa.select(InquiryCategory)
            .join(_PARENT, InquiryCategory.parent_id == _PARENT.id)
            .where(
                InquiryCategory.is_active.is_(True),
                InquiryCategory.kind == CategoryKind.GENERAL,
                _PARENT.is_active.is_(True),
            )
            .order_by(InquiryCategory.parent_id, InquiryCategory.position, InquiryCategory.id)
        )
    )


def make_ticket(inbound_id: int, new: NewTicket, actor: OperatorActor) -> Inquiry:
    """A new ticket (新規) whose body is the mail's text, from its sender. Commits. Raises
    NewTicketRefused, AlreadyHandled."""
    category = db.session.get(InquiryCategory, new.category_id)
    if category is None or category not in ticket_categories():
        raise NewTicketRefused("＊お問い合わせ区分を選んでください。")
    row = _claim(inbound_id, actor)
    text, flags = message_text(row.body_text or row.full_text)
    data = InquiryInput(
        category_id=category.id,
        requester_name=new.requester_name,
        requester_kana="",
        organization_name=new.organization_name or None,
        email=new.email,
        phone="",
        body=text,
    )
    inquiry = build_inquiry(data, category, f"mail:{row.message_key[:40]}", created_by=actor)
    inquiry.intake = Intake.MAIL
    links.new_token(inquiry)
    db.session.add(inquiry)
    db.session.flush()
    alerts.note_new_ticket(inquiry, actor)
    if files := attachment_mail.files_in(original_message(row)):
        attachment_mail.take_from_mail(files, actor, inquiry=inquiry, event=None)
    row.inquiry = inquiry
    row.state = InboundState.FILED
    row.flags = [*(row.flags or []), *flags] or None
    if new.acknowledge:
        notifications.queue_acknowledgement(inquiry, links.status_url(inquiry))
    record(
        "mail.ticket_created",
        **actor.audit(),
        target_type="inbound_email",
        target_id=row.id,
        detail={"inquiry_id": inquiry.id, "acknowledged": new.acknowledge},
    )
    db.session.commit()
    return inquiry


def dismiss(inbound_id: int, actor: OperatorActor) -> None:
    """Nothing to do (spam, a newsletter): it leaves the list. Commits. Raises AlreadyHandled."""
    row = _claim(inbound_id, actor)
    row.state = InboundState.DISMISSED
    record("mail.dismissed", **actor.audit(), target_type="inbound_email", target_id=row.id)
    db.session.commit()


def _claim(inbound_id: int, actor: OperatorActor) -> InboundEmail:
    """Mark the mail handled by `actor` if it still waits (caller's transaction), or raise."""
    claimed = db.session.execute(
        sa.update(InboundEmail)
        .where(InboundEmail.id == inbound_id, InboundEmail.state.in_(FILEABLE))
        .values(handled_by_id=actor.id, handled_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        db.session.rollback()
        raise AlreadyHandled("このメールは、ほかの担当者が処理済みです。")
    return db.session.get(InboundEmail, inbound_id, populate_existing=True)


def original(inbound_id: int, actor: OperatorActor) -> bytes:
    """The message as received (for an operator to open), with an audit event. Commits."""
    row = db.session.get(InboundEmail, inbound_id)
    if row is None:
        raise FilingError("メールが見つかりません。")
    if row.raw_purged_at is not None:
        raise FilingError("保存期間を過ぎたため、このメールの原文は削除しました。")
    try:
        raw = sealing.unseal_bytes(sealing.INBOUND_RAW, row.raw_sealed)
    except InvalidToken:
        raise FilingError("このメールは別の鍵で保護されているため開けません。") from None
    record("mail.original_opened", **actor.audit(), target_type="inbound_email", target_id=row.id)
    db.session.commit()
    return raw


@dataclass(frozen=True)
class TicketMail:
    """What the ticket page shows of mail: held mails, the bounce of the latest mail to the
    requester's address (none once a later one went through), and each mail message's source."""

    held: list[InboundEmail]
    bounced: OutboundEmail | None
    sources: dict[int, int]  # history entry id → inbound mail id


def on_ticket(inquiry: Inquiry) -> TicketMail:
    rows = list(
        db.session.scalars(
            sa.select(InboundEmail)
            .where(InboundEmail.inquiry_id == inquiry.id)
            .order_by(InboundEmail.id)
        )
    )
    latest = db.session.scalar(
        sa.select(OutboundEmail)
        .where(
            OutboundEmail.inquiry_id == inquiry.id,
            OutboundEmail.to_address == inquiry.email,
            OutboundEmail.status.in_((EmailStatus.SENT, EmailStatus.BOUNCED)),
        )
        .order_by(OutboundEmail.id.desc())
        .limit(1)
    )
    return TicketMail(
        held=[r for r in rows if r.state in NEEDS_OPERATOR],
        bounced=latest if latest is not None and latest.status is EmailStatus.BOUNCED else None,
        sources={r.event_id: r.id for r in rows if r.event_id is not None},
    )


def reseal_originals(batch: int = 200) -> int:
    """Seal every kept original under the current SECRET_KEY (after a rotation), `batch` per commit;
    one no configured key opens is left as it is. Returns how many."""
    done, after = 0, 0
    while ids := db.session.scalars(
        sa.select(InboundEmail.id)
        .where(InboundEmail.id > after, InboundEmail.raw_purged_at.is_(None))
        .order_by(InboundEmail.id)
        .limit(batch)
    ).all():
        for inbound_id in ids:
            row = db.session.get(InboundEmail, inbound_id)
            try:
                row.raw_sealed = sealing.reseal_bytes(sealing.INBOUND_RAW, row.raw_sealed)
            except InvalidToken:
                continue
            done += 1
        db.session.commit()
        db.session.expunge_all()
        after = ids[-1]
    return done
