"""Operators correct and log tickets: re-file one under another 区分 (into ID発行申請 with the request's
details, so it can be issued), log a call, a fax or a visit as a ticket (an email is optional: without
one nothing is mailed), and correct a mistyped address (the acknowledgement goes again to the new
one with a new status link; the old link stops working). Each is one transaction with its history
entry and audit event; merging two tickets is backoffice.inquiries.merging."""

from dataclasses import asdict

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from backoffice.alerts import operations as alerts
from backoffice.audit.operations import record
from backoffice.extensions import db
from backoffice.inquiries import links, notifications, targets, triage
from backoffice.inquiries.models import AccountRequestDetails, Inquiry, InquiryCategory
from backoffice.inquiries.operations import (
    AccountRequestInput,
    InquiryInput,
    build_inquiry,
    find_by_submission_key,
)
from backoffice.inquiries.vocabulary import (
    FINISHED,
    LOGGED_INTAKES,
    EventKind,
    Intake,
)
from backoffice.mail.models import EmailStatus, OutboundEmail
from backoffice.onboarding import progress
from backoffice.operators.operations import OperatorActor


def _active_minor(category_id: int | None) -> InquiryCategory:
    category = db.session.get(InquiryCategory, category_id) if category_id else None
    if (
        category is None
        or category.parent is None
        or not (category.is_active and category.parent.is_active)
    ):
        raise triage.TriageError("＊お問い合わせ区分を選んでください。", field="category")
    return category


def change_category(
    inquiry_id: int,
    category_id: int | None,
    details: AccountRequestInput | None,
    actor: OperatorActor,
    *,
    expected_version: int,
) -> Inquiry:
    """Re-file the ticket under another 中カテゴリー. Into ID発行申請 a ticket without the request's
    details needs `details` (checked by the form as on the public form); out of it the details go
    (their values stay in the history entry), unless an account was issued from it. Commits.
    Raises triage.TriageError (fields `category`, `medical_code`) or triage.StaleInquiry."""
    inquiry = triage.load(inquiry_id, expected_version)
    category = _active_minor(category_id)
    old = inquiry.category
    if category.id == old.id:
        raise triage.TriageError("＊今と同じ区分です。変更先を選んでください。", field="category")
    note = None
    if category.is_account_request and inquiry.account_request is None:
        if details is None:
            raise triage.TriageError(
                "＊ID発行申請にするには、医療機関の情報を入力してください。", field="medical_code"
            )
        inquiry.account_request = AccountRequestDetails(**asdict(details))
        progress.requested(details.medical_code, details.institution_name)
        inquiry.organization_name = inquiry.organization_name or details.institution_name
    elif not category.is_account_request and inquiry.account_request is not None:
        if any(e.kind is EventKind.ACCOUNT_ISSUED for e in inquiry.events):
            raise triage.TriageError(
                "アカウントを発行したID発行申請は、ほかの区分に変更できません。", field="category"
            )
        gone = inquiry.account_request
        note = (
            f"ID発行申請の内容（変更により削除）：医療機関コード {gone.medical_code}、"
            f"{gone.institution_name}（{gone.institution_kana}）、〒{gone.postal_code} {gone.address}"
        )
        inquiry.account_request = None
    inquiry.category = category
    targets.retarget(inquiry, category)
    triage.add_event(
        inquiry,
        actor,
        EventKind.CATEGORY_CHANGED,
        old_value=old.path[:200],
        new_value=category.path[:200],
        body=note,
    )
    record(
        "ticket.recategorized",
        **actor.audit(),
        target_type="inquiry",
        target_id=inquiry.id,
        detail={"old": old.path, "new": category.path},
    )
    triage.commit()
    return inquiry


def log_contact(
    data: InquiryInput,
    intake: Intake,
    actor: OperatorActor,
    *,
    acknowledge: bool,
    form_key: str,
) -> Inquiry:
    """A ticket for an inquiry by phone, FAX or at the counter (新規, made by `actor`, who becomes
    its 担当者). With an email and `acknowledge`, the 受付確認 with the status link is mailed; without
    an email nothing ever is. `form_key` (the form's one-time key) makes a repeated send the ticket
    already made. Commits. Raises triage.TriageError (field `category`, `intake`)."""
    submission_key = f"desk:{form_key}"
    if existing := find_by_submission_key(submission_key):
        return existing
    if intake not in LOGGED_INTAKES:
        raise triage.TriageError("＊受付経路を選んでください。", field="intake")
    category = _active_minor(data.category_id)
    if category.is_account_request != (data.account_request is not None):
        raise triage.TriageError(
            "＊ID発行申請には医療機関の情報が必要です（ほかの区分には不要です）。", field="category"
        )
    inquiry = build_inquiry(data, category, submission_key, created_by=actor)
    inquiry.intake = intake
    token = links.new_token(inquiry)
    db.session.add(inquiry)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()  # the same form sent twice at once: the other send made it
        if existing := find_by_submission_key(submission_key):
            return existing
        raise
    triage.assign_to_actor(inquiry, actor)
    alerts.note_new_ticket(inquiry, actor)
    if inquiry.email and acknowledge:
        notifications.queue_acknowledgement(inquiry, links.url_for_token(token))
    record(
        "ticket.logged",
        **actor.audit(),
        target_type="inquiry",
        target_id=inquiry.id,
        detail={"channel": intake.value, "acknowledged": bool(inquiry.email and acknowledge)},
    )
    db.session.commit()
    return inquiry


def correct_email(
    inquiry_id: int, email: str, actor: OperatorActor, *, expected_version: int
) -> Inquiry:
    """Replace a mistyped address (or give a logged ticket one): a new status link — the old one
    stops working, and so does the old reply address — and the acknowledgement again, to the new
    address only. Commits. Raises triage.TriageError (field `email`) or triage.StaleInquiry."""
    inquiry = triage.load(inquiry_id, expected_version)
    if inquiry.status in FINISHED:
        raise triage.TriageError(
            "完了・却下・スパムのお問い合わせのメールアドレスは訂正できません。", field="email"
        )
    if inquiry.email == email:
        raise triage.TriageError("＊今と同じメールアドレスです。", field="email")
    old = inquiry.email
    inquiry.email = email
    token = links.new_token(inquiry)
    inquiry.reply_token = None  # a new reply address with the next mail
    links.void_merged(inquiry)
    # Mail still waiting to go to the mistyped address is not sent there.
    db.session.execute(
        sa.update(OutboundEmail)
        .where(
            OutboundEmail.inquiry_id == inquiry.id,
            OutboundEmail.to_address == old,
            OutboundEmail.status == EmailStatus.QUEUED,
        )
        .values(status=EmailStatus.FAILED, last_error="宛先の訂正により送信を取り消しました")
        .execution_options(synchronize_session=False)
    )
    # The addresses go in the body: an address may be longer than a history value.
    triage.add_event(
        inquiry, actor, EventKind.EMAIL_CORRECTED, body=f"{old or '（なし）'} → {email}"
    )
    notifications.queue_acknowledgement(inquiry, links.url_for_token(token))
    record(
        "ticket.email_corrected",
        **actor.audit(),
        target_type="inquiry",
        target_id=inquiry.id,
        detail={"old": old, "new": email},
    )
    triage.commit()
    return inquiry


def categories() -> list[InquiryCategory]:
    """The active 中カテゴリー a ticket can be filed under, in the form's order."""
    parent = sa.orm.aliased(InquiryCategory)
    return list(
        db.session.scalars(
            sa.select(InquiryCategory)
            .join(parent, InquiryCategory.parent_id == parent.id)
            .where(InquiryCategory.is_active, parent.is_active)
            .order_by(parent.position, parent.id, InquiryCategory.position, InquiryCategory.id)
        )
    )
