"""Public replies to a ticket's requester: the statuses a reply may leave it in, the reply itself
(its status change, history entry and mail in one transaction) and the exact mail before sending.
The history's writers stay in backoffice.inquiries.triage."""

from dataclasses import dataclass

from sqlalchemy.orm.exc import StaleDataError

from backoffice.attachments import operations as attachments
from backoffice.attachments.checks import Stored
from backoffice.attachments.operations import Upload
from backoffice.audit.operations import record
from backoffice.db import utcnow
from backoffice.extensions import db
from backoffice.inquiries import notifications
from backoffice.inquiries.models import Inquiry
from backoffice.inquiries.triage import (
    TRANSITIONS,
    InvalidTransition,
    StaleInquiry,
    TriageError,
    add_public_reply,
    commit,
    load,
    move_status,
    wait_for_requester,
)
from backoffice.inquiries.vocabulary import InquiryStatus
from backoffice.operators.operations import OperatorActor

S = InquiryStatus
# What an operator's reply may leave the ticket in; the first one allowed is the default.
REPLY_STATUSES = (S.WAITING, S.ANSWERED, S.RESOLVED)


def reply_statuses(status: InquiryStatus) -> list[InquiryStatus]:
    """The statuses a reply may leave a ticket in, from `status` (the current one is kept when none)."""
    return [s for s in REPLY_STATUSES if s is status or s in TRANSITIONS[status]]


def reply(
    inquiry_id: int,
    body: str,
    actor: OperatorActor,
    *,
    expected_version: int,
    next_status: InquiryStatus | None = None,
    uploads: list[Upload] | None = None,
) -> Inquiry:
    """A public reply: shown on the requester's status page and emailed through the outbox, with the
    link to that page. The ticket then moves to `next_status` (default: the first of
    `reply_statuses`, 依頼者の回答待ち where it may). Commits.

    Raises StaleInquiry, InvalidTransition (field `next_status`) or TriageError (empty body, field
    `body`), FileRefused (field `attachments`).
    """
    text = body.strip()
    if not text:
        raise TriageError("＊回答内容を入力してください。", field="body")
    files = attachments.take(uploads) if uploads else []
    inquiry = load(inquiry_id, expected_version)
    choices = reply_statuses(inquiry.status)
    target = next_status or (choices[0] if choices else None)
    if target is not None and target not in choices:
        db.session.rollback()
        raise InvalidTransition(
            f"「{inquiry.status.label}」のお問い合わせは、回答後に「{target.label}」にはできません。",
            field="next_status",
        )
    try:
        reply_in_transaction(inquiry, actor, text, target, files)
    except StaleDataError as error:  # an autoflush met another request's change
        db.session.rollback()
        raise StaleInquiry from error
    commit()
    return inquiry


def reply_in_transaction(
    inquiry: Inquiry,
    actor: OperatorActor,
    text: str,
    target: InquiryStatus | None,
    files: list[Stored] | None = None,
) -> None:
    """The reply's status change, then the reply and its mail, in the caller's transaction: the
    history reads 「ステータス：新規 → 回答済」 and then the reply that status was given with."""
    # The row changes with every reply (最終更新, and its version: a second send of the same page, or
    # of the same bulk form, is refused as stale even when the status stays as it was).
    inquiry.updated_at = utcnow()
    if target is S.WAITING:
        wait_for_requester(inquiry, actor)
    elif target is not None:
        move_status(inquiry, target, actor)
    add_public_reply(inquiry, actor, text, asks=target is S.WAITING, files=files)
    record("ticket.replied", **actor.audit(), target_type="inquiry", target_id=inquiry.id)


@dataclass(frozen=True)
class ReplyPreview:
    to: str
    subject: str
    text: str
    reference_number: str


def preview_reply(
    inquiry_id: int, body: str, *, next_status: InquiryStatus | None = None
) -> ReplyPreview:
    """The mail `reply` would send for this body and status, exactly (the status-page link, a secret
    minted at sending, as a placeholder). Changes nothing: rolls back whatever rendering touched.

    Raises TriageError (empty body, field `body`)."""
    text = body.strip()
    if not text:
        raise TriageError("＊回答内容を入力してください。", field="body")
    inquiry = load(inquiry_id, None)
    choices = reply_statuses(inquiry.status)
    target = next_status if next_status in choices else (choices[0] if choices else None)
    try:
        subject, mail = notifications.preview_reply(inquiry, text, asks=target is S.WAITING)
        return ReplyPreview(inquiry.email, subject, mail, inquiry.reference_number)
    finally:
        db.session.rollback()
