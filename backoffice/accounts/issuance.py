"""「アカウント発行」: medical institutions' accounts issued from ID発行申請 inquiries (docs/flows.md, 医療機関 step 1).

One reviewed action on the ticket creates, in one transaction, the organization (医療機関), its registrant
with an initial password (emailed), a public reply to the requester (without the password), the ticket's
history entry and status 解決済, and the audit event. The unique 医療機関コード and email make a second
issuance (a double click, two operators at once) fail cleanly: exactly one account exists.
"""

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from backoffice.accounts.errors import EmailTaken
from backoffice.accounts.models import Organization, OrganizationKind, PortalUser
from backoffice.accounts.users import UserDetails, create_user
from backoffice.audit.operations import record
from backoffice.codes import medical_code_check_digit_ok
from backoffice.domain_errors import DomainError
from backoffice.extensions import db
from backoffice.inquiries import replies, triage
from backoffice.inquiries.models import AccountRequestDetails, Inquiry
from backoffice.inquiries.vocabulary import EventKind, InquiryStatus
from backoffice.normalize import nfkc
from backoffice.onboarding import progress
from backoffice.operators.operations import OperatorActor


class IssuanceError(DomainError):
    """`str(error)` is the Japanese message for the operator."""


class NeedsAcknowledgement(IssuanceError):
    field = "acknowledge_check_digit"

    def __init__(self) -> None:
        super().__init__(
            "医療機関コードの検証番号が一致しません。依頼者に確認したうえで、"
            "「検証番号の不一致を確認した」にチェックを入れてください。"
        )


class AlreadyIssued(IssuanceError):
    def __init__(self, organization: Organization | None) -> None:
        self.organization = organization
        super().__init__(
            "この医療機関コードのアカウントは、すでに発行されています。"
            "依頼者には、登録者からユーザを追加してもらうよう回答してください（定型文があります）。"
        )


@dataclass(frozen=True)
class IssuanceInput:
    """The reviewed fields (normalised by the form, corrected by the operator where needed)."""

    medical_code: str
    institution_name: str
    institution_kana: str
    postal_code: str
    address: str
    name: str
    name_kana: str
    email: str
    phone: str
    department: str | None


def mask_email(address: str) -> str:
    """s***@c***.example.jp: enough to recognise, not enough to use."""
    local, _, domain = address.partition("@")
    first, _, rest = domain.partition(".")
    return f"{local[:1]}***@{first[:1]}***.{rest}" if rest else f"{local[:1]}***@{first[:1]}***"


@dataclass
class Duplicates:
    organization: Organization | None
    registrant_masked: str | None
    user_with_email: PortalUser | None
    open_requests: list[Inquiry]
    # The name the request gives, when it is not the issued organization's (a mistyped code?).
    other_name: str | None = None

    @property
    def blocking(self) -> bool:
        return self.organization is not None or self.user_with_email is not None


def _same_name(a: str, b: str) -> bool:
    return "".join(nfkc(a).split()) == "".join(nfkc(b).split())


def find_duplicates(
    inquiry: Inquiry, medical_code: str, email: str, institution_name: str = ""
) -> Duplicates:
    """What already exists for this code or email, shown before anything is created; and whether
    the organization issued with this code has another name than `institution_name`."""
    organization = db.session.scalar(
        sa.select(Organization).where(Organization.office_number == medical_code)
    )
    registrant = (
        next((u for u in organization.users if u.is_registrant), None) if organization else None
    )
    user = db.session.scalar(sa.select(PortalUser).where(PortalUser.email == email.lower()))
    others = db.session.scalars(
        sa.select(Inquiry)
        .join(AccountRequestDetails, AccountRequestDetails.inquiry_id == Inquiry.id)
        .where(
            AccountRequestDetails.medical_code == medical_code,
            Inquiry.id != inquiry.id,
            # 依頼者の回答待ち is not "open" for due dates, but it is still an unfinished request.
            Inquiry.status.in_(triage.OPEN_STATUSES | {InquiryStatus.WAITING}),
        )
        .order_by(Inquiry.created_at)
    ).all()
    other_name = (
        institution_name
        if organization is not None
        and institution_name
        and not _same_name(institution_name, organization.name)
        else None
    )
    return Duplicates(
        organization,
        mask_email(registrant.email) if registrant else None,
        user,
        list(others),
        other_name,
    )


def issue_account(
    inquiry_id: int, data: IssuanceInput, actor: OperatorActor, *, check_digit_acknowledged: bool
) -> Organization:
    """Create the account and answer the inquiry, all or nothing. Returns the organization. Raises
    NeedsAcknowledgement, AlreadyIssued, EmailTaken or IssuanceError."""
    inquiry = db.session.get(Inquiry, inquiry_id)
    if inquiry is None or not inquiry.category.is_account_request:
        raise IssuanceError("ID発行申請のお問い合わせではありません。")
    if inquiry.merged_into_id is not None:
        raise IssuanceError(
            "統合済みのお問い合わせからは発行できません。統合先で発行してください。"
        )
    if not medical_code_check_digit_ok(data.medical_code) and not check_digit_acknowledged:
        raise NeedsAcknowledgement
    existing = db.session.scalar(
        sa.select(Organization).where(Organization.office_number == data.medical_code)
    )
    if existing is not None:
        raise AlreadyIssued(existing)
    try:
        organization = Organization(
            kind=OrganizationKind.MEDICAL,
            name=data.institution_name,
            name_kana=data.institution_kana,
            office_number=data.medical_code,
            postal_code=data.postal_code,
            address=data.address,
        )
        db.session.add(organization)
        db.session.flush()
        registrant = create_user(
            organization,
            UserDetails(
                name=data.name,
                name_kana=data.name_kana,
                email=data.email,
                phone=data.phone,
                department=data.department,
            ),
            is_registrant=True,
        )
        reply_text = (
            f"介護情報基盤ポータルのアカウントを発行しました。\n"
            f"ID（メールアドレス）：{registrant.email}\n"
            "初期パスワードは、上記のメールアドレスに別のメールでお送りしました。"
            "初期パスワードの有効期限内に、ログインしてパスワードを変更してください。"
        )
        # The issuer answers for the issued account: they become the ticket's 担当者.
        triage.assign_to_actor(inquiry, actor)
        triage.add_event(
            inquiry, actor, EventKind.ACCOUNT_ISSUED, new_value=organization.office_number
        )
        replies.reply_in_transaction(inquiry, actor, reply_text, InquiryStatus.RESOLVED)
        progress.registered(organization)
        record(
            "account.issued",
            **actor.audit(),
            target_type="organization",
            target_id=organization.id,
            detail={
                "inquiry": inquiry.reference_number,
                "medical_code": organization.office_number,
            },
        )
        db.session.commit()
    except IntegrityError as error:
        # Someone issued the same code or email in the meantime: theirs stands.
        db.session.rollback()
        existing = db.session.scalar(
            sa.select(Organization).where(Organization.office_number == data.medical_code)
        )
        if existing is not None:
            raise AlreadyIssued(existing) from error
        raise EmailTaken from error
    except triage.TriageError as error:
        db.session.rollback()
        raise IssuanceError(str(error)) from error
    except BaseException:
        db.session.rollback()  # all or nothing: no organization without its registrant
        raise
    return organization


def merge_into(duplicate_id: int, main_id: int, actor: OperatorActor) -> None:
    """A second request for the same code: note both tickets and resolve the duplicate. Commits."""
    duplicate, main = db.session.get(Inquiry, duplicate_id), db.session.get(Inquiry, main_id)
    if duplicate is None or main is None or duplicate.id == main.id:
        raise IssuanceError("統合するお問い合わせが見つかりません。")
    triage.add_internal_note(duplicate, actor, f"受付番号 {main.reference_number} に統合しました。")
    triage.add_internal_note(main, actor, f"受付番号 {duplicate.reference_number} を統合しました。")
    try:
        triage.move_status(duplicate, InquiryStatus.RESOLVED, actor)
    except triage.TriageError as error:
        db.session.rollback()
        raise IssuanceError(str(error)) from error
    record(
        "ticket.merged",
        **actor.audit(),
        target_type="inquiry",
        target_id=duplicate.id,
        detail={"into": main.reference_number},
    )
    db.session.commit()


def reject_request(inquiry_id: int, body: str, actor: OperatorActor) -> None:
    """却下 with a reason (often a canned reply), mailed to the requester as a public reply. Commits.
    Raises IssuanceError (no such inquiry, an empty reason for the field `body`, a status that cannot
    become 却下)."""
    inquiry = db.session.get(Inquiry, inquiry_id)
    if inquiry is None:
        raise IssuanceError("お問い合わせが見つかりません。")
    if inquiry.merged_into_id is not None:
        raise IssuanceError("統合済みのお問い合わせは却下できません。統合先で対応してください。")
    text = body.strip()
    if not text:
        raise IssuanceError("＊却下の理由を入力してください。", field="body")
    triage.add_public_reply(inquiry, actor, text)
    try:
        triage.move_status(inquiry, InquiryStatus.REJECTED, actor)
    except triage.TriageError as error:
        db.session.rollback()
        raise IssuanceError(str(error)) from error
    record("account.request_rejected", **actor.audit(), target_type="inquiry", target_id=inquiry.id)
    db.session.commit()
