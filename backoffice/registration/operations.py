"""初回利用登録 for 介護事業所・みなし介護事業所 (docs/flows.md, steps 1–3).

The office proves it holds its 電子請求受付システム ID and password; a one-time password goes to the
セキュリティ用メールアドレス registered there (and the セキュリティコード is asked only where one is set); then the
person registers, and the organization and its registrant (with an initial password by email) are created
in one transaction. Each attempt is a server-side flow: 30 minutes in all, steps only in order, never twice.
"""

import secrets
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from backoffice.accounts.errors import EmailTaken
from backoffice.accounts.issuance import mask_email
from backoffice.accounts.models import Organization
from backoffice.accounts.users import UserDetails, create_user
from backoffice.audit.models import Outcome
from backoffice.audit.operations import record, typed_label
from backoffice.codes import ECLAIMS_ID_RE
from backoffice.db import utcnow
from backoffice.domain_errors import DomainError
from backoffice.eclaims.directory import OfficeIdentity, directory
from backoffice.eclaims.importer import normalize_eclaims_id
from backoffice.extensions import db
from backoffice.onboarding import progress
from backoffice.otp import operations as otp
from backoffice.otp.models import Purpose
from backoffice.registration.models import RegistrationFlow, Step
from backoffice.sessions import hash_key


class RegistrationError(DomainError):
    """`str(error)` is the Japanese message."""


class CredentialsRejected(RegistrationError):
    def __init__(self) -> None:
        super().__init__(
            "＊電子請求受付システムのIDまたはパスワードが正しくありません。"
            "続けて間違えると、しばらく登録できなくなります。"
        )


class NoSecurityEmail(RegistrationError):
    """docs/flows.md ※3: no セキュリティ用メールアドレス on file; nothing is created."""


class AlreadyRegistered(RegistrationError):
    def __init__(self, registrant_masked: str | None) -> None:
        self.registrant_masked = registrant_masked
        super().__init__("この事業所は、すでに介護情報基盤ポータルに登録されています。")


class FlowExpired(RegistrationError):
    def __init__(self) -> None:
        super().__init__(
            "登録の手続きが中断されたか、30分の有効時間が過ぎました。最初からやり直してください。"
        )


@dataclass(frozen=True)
class Started:
    flow_key: str
    otp_binding: str
    masked_email: str
    has_security_code: bool
    notice: str | None = None  # why no new one-time password was mailed (otp.Issued.notice)


def _audit(
    action: str, office: OfficeIdentity | None, outcome: Outcome = Outcome.SUCCESS, **detail: object
) -> None:
    record(
        action,
        outcome=outcome,
        actor_type="anonymous",
        actor_label=office.eclaims_id if office else None,
        target_type="eclaims_office",
        target_id=office.office_id if office else None,
        detail=detail or None,
    )


def _existing(office: OfficeIdentity) -> Organization | None:
    return db.session.scalar(
        sa.select(Organization).where(
            sa.or_(
                Organization.eclaims_id == office.eclaims_id,
                Organization.office_number == office.office_number,
            )
        )
    )


def _already(organization: Organization) -> AlreadyRegistered:
    registrant = next((u for u in organization.users if u.is_registrant), None)
    return AlreadyRegistered(mask_email(registrant.email) if registrant else None)


def _started(office: OfficeIdentity) -> None:
    progress.started(
        office.office_number,
        office.kind,
        office.office_name,
        security_email=office.security_email is not None,
    )


def start(eclaims_id: str, password: str, *, current: str | None = None) -> Started:
    """Step 1: the e-claims ID and password (`current`: the browser's open one-time password, kept
    within the cooldown). Commits.

    Raises CredentialsRejected (unknown ID, wrong password, locked: the same), NoSecurityEmail or
    AlreadyRegistered.
    """
    typed = normalize_eclaims_id(eclaims_id)
    office = directory.authenticate(typed, password)
    if office is None:
        label = typed_label(typed, ECLAIMS_ID_RE)
        record("registration.credentials", outcome=Outcome.FAILURE, actor_label=label)
        db.session.commit()
        raise CredentialsRejected
    if office.security_email is None:
        _audit("registration.no_security_email", office, Outcome.FAILURE)
        if _existing(office) is None:  # ※3 is a step of offices not registered yet
            _started(office)
        db.session.commit()
        raise NoSecurityEmail
    if (organization := _existing(office)) is not None:
        _audit("registration.already_registered", office, Outcome.FAILURE)
        db.session.commit()
        raise _already(organization)
    _started(office)
    key = secrets.token_urlsafe(32)
    db.session.add(
        RegistrationFlow(key_hash=hash_key(key), eclaims_office_id=office.office_id, step=Step.OTP)
    )
    issued = otp.issue(Purpose.REGISTRATION, office.security_email, current=current)
    if issued.notice is None:
        _audit("registration.otp_sent", office)
    db.session.commit()
    return Started(
        key,
        issued.binding,
        mask_email(office.security_email),
        office.has_security_code,
        issued.notice,
    )


def flow(key: str | None, step: Step) -> tuple[RegistrationFlow, OfficeIdentity]:
    """The live flow of this browser at `step`. Raises FlowExpired, or WrongStep with the step it is at."""
    row = (
        db.session.scalar(
            sa.select(RegistrationFlow).where(RegistrationFlow.key_hash == hash_key(key))
        )
        if key
        else None
    )
    limit = timedelta(minutes=current_app.config["REGISTRATION_FLOW_MINUTES"])
    if row is None or row.step is Step.DONE or utcnow() - row.started_at > limit:
        raise FlowExpired
    if row.step is not step:
        raise WrongStep(row.step)
    office = directory.identity(row.eclaims_office_id)
    if office is None:
        raise FlowExpired
    return row, office


class WrongStep(RegistrationError):
    def __init__(self, at: Step) -> None:
        self.at = at
        super().__init__(at.value)


def _wrong_pair(left: int) -> otp.OtpError:
    return otp.OtpError(
        f"＊ワンタイムパスワードまたはセキュリティコードが正しくありません。あと{left}回間違えると、"
        "このワンタイムパスワードは使えなくなります。"
    )


def verify(key: str | None, binding: str | None, code: str, security_code: str) -> None:
    """Step 2: the one-time password, and the セキュリティコード where one is set (a wrong code counts as a
    try of the one-time password). Where a セキュリティコード is set, every wrong pair gets the same
    answer, so the answer never tells whether the セキュリティコード was right. Commits. Raises
    FlowExpired, WrongStep, otp.OtpError."""
    row, office = flow(key, Step.OTP)
    if office.has_security_code and not directory.check_security_code(
        office.office_id, security_code
    ):
        _audit("registration.security_code_failed", office, Outcome.FAILURE)
        raise _wrong_pair(otp.count_failure(binding, Purpose.REGISTRATION))
    try:
        otp.verify(binding, Purpose.REGISTRATION, code)
    except otp.OtpWrong as wrong:
        _audit("registration.otp_failed", office, Outcome.FAILURE)
        db.session.commit()
        if office.has_security_code:
            raise _wrong_pair(wrong.remaining) from wrong
        raise
    except otp.OtpError:
        _audit("registration.otp_failed", office, Outcome.FAILURE)
        db.session.commit()
        raise
    row.step = Step.DETAILS
    _audit("registration.otp_passed", office)
    progress.otp_passed(office.office_number)
    db.session.commit()


def register(key: str | None, details: UserDetails) -> Organization:
    """Step 3: the organization and its registrant, in one transaction; the initial password goes to the
    address just entered. Commits. Raises FlowExpired, WrongStep, AlreadyRegistered, EmailTaken."""
    row, office = flow(key, Step.DETAILS)
    try:
        organization = Organization(
            kind=office.kind,
            name=office.office_name,
            office_number=office.office_number,
            eclaims_id=office.eclaims_id,
        )
        db.session.add(organization)
        db.session.flush()
        user = create_user(organization, details, is_registrant=True)
        row.step = Step.DONE
        row.completed_at = utcnow()
        row.registered_email = user.email
        _audit("registration.completed", office, organization=organization.id)
        progress.registered(organization)
        db.session.commit()
    except IntegrityError as error:
        # Someone else registered the same office a moment ago: theirs stands.
        db.session.rollback()
        existing = _existing(office)
        if existing is not None:
            raise _already(existing) from error
        raise EmailTaken from error
    except BaseException:
        db.session.rollback()
        raise
    return organization


def resend(key: str | None, binding: str | None) -> None:
    """A new one-time password for step 2. Raises FlowExpired, WrongStep, otp.OtpError."""
    flow(key, Step.OTP)
    otp.resend(binding, Purpose.REGISTRATION)


def completed(key: str | None) -> RegistrationFlow | None:
    row = (
        db.session.scalar(
            sa.select(RegistrationFlow).where(RegistrationFlow.key_hash == hash_key(key))
        )
        if key
        else None
    )
    return row if row is not None and row.step is Step.DONE else None
