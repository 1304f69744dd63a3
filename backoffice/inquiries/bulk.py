"""Changes and replies to many tickets at once (the list's bulk actions), each ticket under the same
rules and in its own transaction as on its own page (backoffice.inquiries.triage)."""

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy.orm.exc import StaleDataError

from backoffice.extensions import db
from backoffice.inquiries.models import Inquiry
from backoffice.inquiries.replies import ReplyPreview, reply_in_transaction, reply_statuses
from backoffice.inquiries.replies import preview_reply as one_preview
from backoffice.inquiries.triage import (
    InquiryChanges,
    TriageError,
    commit,
    update_inquiry,
)
from backoffice.inquiries.vocabulary import InquiryStatus
from backoffice.operators.operations import OperatorActor


@dataclass
class BulkResult:
    changed: int = 0
    refused: list[str] = field(default_factory=list)


def bulk_update(
    inquiry_ids: Iterable[int], changes: InquiryChanges, actor: OperatorActor
) -> BulkResult:
    """The same changes on many tickets, each under the same rules; refused tickets are listed by 受付番号
    with the reason, the others are changed."""
    result = BulkResult()
    for inquiry_id in inquiry_ids:
        inquiry = db.session.get(Inquiry, inquiry_id)
        if inquiry is None:
            continue
        number = inquiry.reference_number
        try:
            update_inquiry(inquiry_id, changes, actor, expected_version=inquiry.version)
        except TriageError as error:
            result.refused.append(f"{number}：{error}")
        else:
            result.changed += 1
    return result


def preview_reply(seen: dict[int, int], body: str, *, next_status: InquiryStatus) -> ReplyPreview:
    """The mail of the first ticket that takes a reply to `next_status` (else of the first one), as
    bulk_reply would send it. Raises TriageError (empty body, field `body`)."""
    chosen = min(seen)
    for inquiry_id in sorted(seen):
        inquiry = db.session.get(Inquiry, inquiry_id)
        if inquiry is not None and next_status in reply_statuses(inquiry.status):
            chosen = inquiry_id
            break
    return one_preview(chosen, body, next_status=next_status)


def bulk_reply(
    seen: dict[int, int],
    body: str,
    actor: OperatorActor,
    *,
    next_status: InquiryStatus,
) -> BulkResult:
    """The same reply to many tickets (`seen`: each ticket's id and the version the operator saw),
    each in its own transaction: its own mail, history entry and status, as `reply` makes them. A
    ticket changed since it was seen, or whose status takes no reply to `next_status`, is refused by
    受付番号 with the reason; so sending the same form twice replies once.

    Raises TriageError (empty body, field `body`) before any ticket is touched."""
    text = body.strip()
    if not text:
        raise TriageError("＊回答内容を入力してください。", field="body")
    result = BulkResult()
    for inquiry_id, version in seen.items():
        inquiry = db.session.get(Inquiry, inquiry_id)
        if inquiry is None:
            continue
        number = inquiry.reference_number
        if inquiry.version != version:
            db.session.rollback()
            result.refused.append(f"{number}：表示したあとに更新されたため、回答しませんでした。")
            continue
        if next_status not in reply_statuses(inquiry.status):
            label = inquiry.status.label
            db.session.rollback()
            result.refused.append(
                f"{number}：「{label}」のお問い合わせは、回答後に「{next_status.label}」にはできません。"
            )
            continue
        try:
            reply_in_transaction(inquiry, actor, text, next_status)
            commit()
        except StaleDataError:  # changed by another request between the check and the flush
            db.session.rollback()
            result.refused.append(f"{number}：表示したあとに更新されたため、回答しませんでした。")
        except TriageError as error:
            db.session.rollback()
            result.refused.append(f"{number}：{error}")
        else:
            result.changed += 1
    return result
