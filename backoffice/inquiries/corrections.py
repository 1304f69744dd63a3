"""差し戻し of an ID発行申請: the operator names the fields that are wrong and says why; the requester
corrects exactly those on the status page; the corrected values replace the old ones (which stay in
the history) and the ticket returns to work. The email address, the future login ID, is never among
them: a token holder must not be able to redirect the account."""

from dataclasses import dataclass

from flask import current_app
from sqlalchemy.orm.exc import StaleDataError

from backoffice.audit.operations import record
from backoffice.codes import medical_code_check_digit_ok
from backoffice.db import utcnow
from backoffice.domain_errors import DomainError
from backoffice.extensions import db
from backoffice.inquiries import notifications, triage
from backoffice.inquiries.actors import REQUESTER
from backoffice.inquiries.models import Inquiry, InquiryEvent
from backoffice.inquiries.vocabulary import Channel, EventKind, InquiryStatus
from backoffice.operators.operations import OperatorActor

S = InquiryStatus
# What a 差し戻し may ask for, in the form's order, with the form's labels.
FIELDS = {
    "medical_code": "医療機関コード",
    "institution_name": "医療機関名",
    "institution_kana": "医療機関名（フリガナ）",
    "postal_code": "郵便番号",
    "address": "所在地",
    "department": "部署名",
}
ASKABLE = frozenset({S.NEW, S.IN_PROGRESS, S.ON_HOLD, S.ANSWERED, S.WAITING})


class CorrectionClosed(DomainError):
    """Nothing is asked any more (corrected already, or the 差し戻し was never made)."""

    def __init__(self) -> None:
        super().__init__("この修正は送信済みです。担当者が確認のうえ、ご連絡します。")


@dataclass(frozen=True)
class Change:
    field: str
    old: str | None
    new: str | None

    @property
    def label(self) -> str:
        return FIELDS[self.field]


def request_correction(
    inquiry_id: int,
    fields: list[str],
    reason: str,
    actor: OperatorActor,
    *,
    expected_version: int,
) -> Inquiry:
    """Ask the requester to correct `fields`, saying `reason`: a public reply (mailed, with the link)
    that lists them, a history entry, and 依頼者の回答待ち. Commits. Raises triage.TriageError (fields
    `fields`, `reason`) or triage.StaleInquiry."""
    asked = [name for name in FIELDS if name in fields]
    if not asked or len(asked) != len(set(fields)):
        raise triage.TriageError("＊修正を依頼する項目を選んでください。", field="fields")
    text = reason.strip()
    if not text:
        raise triage.TriageError("＊修正を依頼する理由を入力してください。", field="reason")
    inquiry = triage.load(inquiry_id, expected_version)
    if inquiry.account_request is None or inquiry.status not in ASKABLE or not inquiry.email:
        raise triage.TriageError("このお問い合わせには差し戻しができません。", field="fields")
    inquiry.account_request.correction_fields = asked
    labels = "、".join(FIELDS[name] for name in asked)
    triage.add_public_reply(
        inquiry,
        actor,
        f"{text}\n\n修正をお願いする項目：{labels}\n"
        "確認ページの「修正をお願いしている項目」から、正しい内容をお送りください。",
        asks=True,
    )
    triage.add_event(
        inquiry, actor, EventKind.CORRECTION_REQUESTED, new_value=",".join(asked), body=text
    )
    triage.wait_for_requester(inquiry, actor)
    record(
        "ticket.correction_requested",
        **actor.audit(),
        target_type="inquiry",
        target_id=inquiry.id,
        detail={"fields": asked},
    )
    triage.commit()
    return inquiry


class CorrectionChanged(DomainError):
    """The operator asked for other fields since the page was shown."""

    def __init__(self) -> None:
        super().__init__(
            "修正をお願いしている項目が変わりました。内容をご確認のうえ、もう一度送信してください。"
        )


def asked_fields(inquiry: Inquiry) -> list[str]:
    """What is asked now: nothing once the ticket has left work (却下, 完了, 解決済 after issuance)."""
    details = inquiry.account_request
    if details is None or inquiry.status not in ASKABLE:
        return []
    return list(details.correction_fields or [])


def apply_correction(inquiry_id: int, values: dict[str, str | None]) -> list[Change]:
    """The requester's corrected values (already checked by the form) replace the asked fields; the
    old ones stay in the history entry; the ticket returns to work. Commits; an operator's change at
    the same moment is retried over. Raises CorrectionClosed or CorrectionChanged (other fields are
    asked than `values` holds)."""
    for _attempt in range(3):
        inquiry = db.session.get(Inquiry, inquiry_id, populate_existing=True)
        asked = asked_fields(inquiry) if inquiry else []
        if not asked:
            db.session.rollback()
            raise CorrectionClosed
        if set(asked) != set(values):
            db.session.rollback()
            raise CorrectionChanged
        details = inquiry.account_request
        changes = [Change(name, getattr(details, name), values.get(name) or None) for name in asked]
        for change in changes:
            setattr(details, change.field, change.new)
        details.medical_code_check_ok = medical_code_check_digit_ok(details.medical_code)
        inquiry.organization_name = details.institution_name
        details.correction_fields = None
        inquiry.events.append(
            InquiryEvent(
                kind=EventKind.CORRECTED,
                actor=REQUESTER.label,
                channel=Channel.WEB,
                body="\n".join(
                    f"{c.label}：{c.old or '（なし）'} → {c.new or '（なし）'}" for c in changes
                ),
            )
        )
        inquiry.requester_replied_at = inquiry.requester_replied_at or utcnow()
        if inquiry.status in (S.WAITING, S.ANSWERED):
            triage.move_status(inquiry, S.IN_PROGRESS, REQUESTER)
        record(
            "ticket.corrected",
            **REQUESTER.audit(),
            target_type="inquiry",
            target_id=inquiry.id,
            detail={"fields": asked},
        )
        notifications.queue_message_received(inquiry)
        try:
            db.session.commit()
        except StaleDataError:
            db.session.rollback()
            continue
        current_app.logger.info("inquiry %s corrected: %s", inquiry.reference_number, asked)
        return changes
    raise RuntimeError("the ticket kept changing while the correction was stored")


def latest_changes(inquiry: Inquiry) -> InquiryEvent | None:
    """The requester's last correction, for the issuance review."""
    corrected = [e for e in inquiry.events if e.kind is EventKind.CORRECTED]
    return corrected[-1] if corrected else None
