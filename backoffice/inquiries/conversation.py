"""The requester's side of a ticket's conversation: a message sent on the status page, from マイページ,
or by mail (backoffice/inbound, which calls `deliver` in its own transaction).

A message goes to the same ticket and brings it back to work (回答済 or 依頼者の回答待ち → 対応中; 解決済
within INQUIRY_REOPEN_BUSINESS_DAYS → 対応中, reopened). On a finished ticket (完了, 却下, スパム, or
解決済 past that window) it starts a new ticket linked to the old one. The message key of the page it
was sent from makes a repeated send one message.
"""

from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from backoffice.alerts import operations as alerts
from backoffice.attachments import operations as attachments
from backoffice.attachments.checks import Stored
from backoffice.attachments.operations import Upload
from backoffice.audit.operations import record
from backoffice.business_days import business_days_between, due_date
from backoffice.db import utcnow
from backoffice.display import to_jst
from backoffice.domain_errors import DomainError
from backoffice.extensions import db
from backoffice.inquiries import links, notifications, targets
from backoffice.inquiries.actors import REQUESTER
from backoffice.inquiries.models import AccountRequestDetails, Inquiry, InquiryEvent
from backoffice.inquiries.operations import new_reference_number
from backoffice.inquiries.triage import add_event, move_status
from backoffice.inquiries.vocabulary import FINISHED, Channel, EventKind, InquiryStatus, Intake

S = InquiryStatus
BACK_TO_WORK = frozenset({S.ANSWERED, S.WAITING})


class MessageRefused(DomainError):
    field = "body"


@dataclass(frozen=True)
class Delivered:
    """Where a message went: `reference_number` is the ticket that holds it."""

    reference_number: str
    follow_up: bool = False  # a new ticket, linked to the finished one
    reopened: bool = False
    duplicate: bool = False  # sent before (the same page sent twice): nothing new was stored
    dropped: bool = False  # on a スパム ticket: answered as sent, stored nowhere


def notice(delivered: Delivered) -> str:
    """What the page says after sending."""
    if delivered.follow_up:
        return (
            "このお問い合わせは完了しているため、新しいお問い合わせ"
            f"（受付番号 {delivered.reference_number}）として受け付けました。"
            "新しいお問い合わせの確認ページのURLを、メールでお送りしました。"
        )
    if delivered.duplicate:
        return "このご連絡は送信済みです。同じ内容を二重に受け付けることはありません。"
    return "追加のご連絡を送信しました。担当者が確認のうえ、ご連絡します。"


def check_text(text: str) -> str:
    """The message as stored; raises MessageRefused (field `body`) for an empty or long one."""
    text = text.strip()
    if not text:
        raise MessageRefused("＊連絡内容を入力してください。")
    limit = current_app.config["INQUIRY_BODY_MAX_LENGTH"]
    if len(text) > limit:
        raise MessageRefused(
            f"＊連絡内容は{limit}文字以内で入力してください（現在{len(text)}文字）。"
        )
    return text


def is_finished(inquiry: Inquiry) -> bool:
    """Whether a message now starts a new ticket instead of going to this one."""
    if inquiry.status in FINISHED:
        return True
    return inquiry.status is S.RESOLVED and not _within_reopen_window(inquiry)


def _within_reopen_window(inquiry: Inquiry) -> bool:
    if inquiry.resolved_at is None:
        return True
    waited = business_days_between(to_jst(inquiry.resolved_at).date(), to_jst(utcnow()).date())
    return waited <= current_app.config["INQUIRY_REOPEN_BUSINESS_DAYS"]


def add_message(
    inquiry_id: int,
    text: str,
    *,
    channel: Channel,
    message_key: str,
    token: str | None = None,
    uploads: list[Upload] | None = None,
) -> Delivered:
    """Store the requester's message (see the module's docstring), its history entry and audit event,
    and queue a short acknowledgement mail. Commits; an operator's change at the same moment is
    retried over. `token`: the status link it came with, kept for later mails (links.remember). A
    message on a スパム ticket is answered as sent and dropped: the link must not make our mail a
    relay to the address a spammer typed. `uploads`: files sent with it (backoffice/attachments).
    Raises MessageRefused, FileRefused (field `attachments`)."""
    text = check_text(text)
    for _attempt in range(3):
        if (sent := _sent_before(inquiry_id, message_key)) is not None:
            return sent
        inquiry = db.session.get(Inquiry, inquiry_id)
        if inquiry is None:
            raise MessageRefused("お問い合わせが見つかりません。")
        if inquiry.status is S.SPAM:
            return Delivered(inquiry.reference_number, dropped=True)
        if token is not None:
            links.remember(inquiry, token)
        files = attachments.take(uploads) if uploads else []
        try:
            delivered = deliver(
                inquiry, text, channel=channel, message_key=message_key, files=files
            )
            db.session.commit()
        except StaleDataError:
            db.session.rollback()  # an operator saved the ticket meanwhile: do it again on theirs
            continue
        except IntegrityError:
            db.session.rollback()  # the same page sent twice at once: the other send stored it
            if (sent := _sent_before(inquiry_id, message_key)) is not None:
                return sent
            raise MessageRefused(
                "＊送信できませんでした。ページを読み込み直して、もう一度送信してください。"
            ) from None
        return delivered
    raise RuntimeError("the ticket kept changing while the message was stored")


def deliver(
    inquiry: Inquiry,
    text: str,
    *,
    channel: Channel,
    message_key: str,
    acknowledge: bool = True,
    files: list[Stored] | None = None,
) -> Delivered:
    """add_message's work in the caller's transaction, for a message already checked: on this ticket,
    or on a new one when it is finished; on a スパム ticket nothing is stored. `acknowledge`: queue the
    short mail saying it arrived (never for a mail: mail must not answer mail); `files`: stored
    attachments of the message."""
    if inquiry.status is S.SPAM:
        return Delivered(inquiry.reference_number, dropped=True)
    if is_finished(inquiry):
        return _follow_up(inquiry, text, channel, message_key, acknowledge, files or [])
    return _append(inquiry, text, channel, message_key, acknowledge, files or [])


def _sent_before(inquiry_id: int, message_key: str) -> Delivered | None:
    """The message this page sent already, on this ticket or as its follow-up (the key comes from the
    browser: a key of another ticket finds nothing)."""
    number = db.session.scalar(
        sa.select(Inquiry.reference_number)
        .join(InquiryEvent, InquiryEvent.inquiry_id == Inquiry.id)
        .where(InquiryEvent.message_key == message_key, Inquiry.id == inquiry_id)
    )
    if number is not None:
        return Delivered(number, duplicate=True)
    number = db.session.scalar(
        sa.select(Inquiry.reference_number).where(
            Inquiry.submission_key == f"message:{message_key}",
            Inquiry.previous_id == inquiry_id,
        )
    )
    return None if number is None else Delivered(number, follow_up=True, duplicate=True)


def _append(
    inquiry: Inquiry,
    text: str,
    channel: Channel,
    message_key: str,
    acknowledge: bool,
    files: list[Stored],
) -> Delivered:
    event = add_event(
        inquiry,
        REQUESTER,
        EventKind.REQUESTER_MESSAGE,
        body=text,
        channel=channel,
        message_key=message_key,
    )
    attachments.attach(files, REQUESTER, inquiry=inquiry, event=event)
    inquiry.requester_replied_at = inquiry.requester_replied_at or utcnow()
    reopened = inquiry.status is S.RESOLVED
    if reopened or inquiry.status in BACK_TO_WORK:
        move_status(inquiry, S.IN_PROGRESS, REQUESTER)
    record(
        "ticket.requester_message",
        **REQUESTER.audit(),
        target_type="inquiry",
        target_id=inquiry.id,
        detail={"channel": channel.value, "reopened": reopened},
    )
    alerts.note_answer(inquiry, REQUESTER)
    if acknowledge:
        notifications.queue_message_received(inquiry)
    return Delivered(inquiry.reference_number, reopened=reopened)


def _follow_up(
    old: Inquiry,
    text: str,
    channel: Channel,
    message_key: str,
    acknowledge: bool,
    files: list[Stored],
) -> Delivered:
    """A new ticket (新規) in the old one's category, from the same requester, linked to it; the
    message is its body, and the message key its submission key."""
    category = old.category
    new = Inquiry(
        reference_number=new_reference_number(),
        submission_key=f"message:{message_key}",
        category=category,
        status=S.NEW,
        due_on=due_date(to_jst(utcnow()).date(), category.target_business_days),
        requester_name=old.requester_name,
        requester_kana=old.requester_kana,
        organization_name=old.organization_name,
        email=old.email,
        phone=old.phone,
        body=text,
        previous=old,
        intake=Intake.MAIL if channel is Channel.EMAIL else Intake.FORM,
        requester_replied_at=utcnow(),
        account_request=(
            AccountRequestDetails(
                medical_code=details.medical_code,
                medical_code_check_ok=details.medical_code_check_ok,
                institution_name=details.institution_name,
                institution_kana=details.institution_kana,
                postal_code=details.postal_code,
                address=details.address,
                department=details.department,
            )
            if (details := old.account_request) is not None
            else None
        ),
    )
    targets.start(new, category, utcnow())
    links.new_token(new)
    new.events.append(
        InquiryEvent(kind=EventKind.CREATED, actor=REQUESTER.label, new_value=S.NEW.value)
    )
    db.session.add(new)
    attachments.attach(files, REQUESTER, inquiry=new)
    db.session.flush()
    # The old ticket's assignee hears of the answer; a ticket nobody had is new to its watchers.
    if old.assignee is not None:
        alerts.note_answer(new, REQUESTER, assignee=old.assignee)
    else:
        alerts.note_new_ticket(new, REQUESTER)
    record(
        "ticket.requester_message",
        **REQUESTER.audit(),
        target_type="inquiry",
        target_id=new.id,
        detail={"channel": channel.value, "follow_up_of": old.id},
    )
    if acknowledge:
        notifications.queue_message_received(new, previous=old)
    return Delivered(new.reference_number, follow_up=True)
