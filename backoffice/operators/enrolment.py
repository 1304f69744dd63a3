"""Operators' credentials set by the operators themselves: enrolment links and the password change.

An admin never sees a secret. Inviting an operator, resetting their password or their authenticator mails
them a link (sealed in the outbox, like every mail carrying a bearer link) that works once and expires
after OPERATOR_ENROLMENT_HOURS; a newer link voids the older ones. What the link asks for follows from the
account: a new password for PASSWORD links (an invite, or an admin's password reset), the current password
for AUTHENTICATOR links; a code from the present authenticator while it is confirmed, else a new
authenticator (its QR code on the link's page) confirmed by a code. So whoever holds the mailbox alone
never gets both factors of an operator who still has them.
"""

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

import pyotp
import sqlalchemy as sa
from flask import current_app

from backoffice.audit.operations import record
from backoffice.db import utcnow
from backoffice.domain_errors import DomainError
from backoffice.extensions import db
from backoffice.mail import outbox
from backoffice.normalize import InvalidInput, check_email, normalize_email
from backoffice.operators.models import EnrolmentPurpose, Operator, OperatorEnrolment, Role
from backoffice.operators.operations import (
    SESSIONS,
    OperatorActor,
    OperatorExists,
    accept_code,
    record_failure,
    revoke_sessions,
)
from backoffice.passwords import check_policy, hash_password, verify_password
from backoffice.sessions import hash_key
from backoffice.urls import external_url


class LinkUnusable(DomainError):
    """The link is unknown, used, expired or replaced, or its operator is disabled."""

    def __init__(self) -> None:
        super().__init__(
            "このリンクは使えません。使用済みか、有効期限が切れたか、新しいリンクが送られています。"
            "管理者に、もう一度メールを送るよう依頼してください。"
        )


class WrongCode(DomainError):
    field = "code"

    def __init__(self) -> None:
        super().__init__(
            "＊確認コードが正しくありません。認証アプリに表示されている6桁の数字を入力してください。"
        )


class WrongPassword(DomainError):
    field = "current"

    def __init__(self) -> None:
        super().__init__("＊現在のパスワードが正しくありません。")


@dataclass(frozen=True)
class LinkNeeds:
    """What the link's page asks for."""

    new_password: bool
    current_password: bool
    current_code: bool  # a code from the authenticator the operator already has
    new_authenticator: bool  # the QR code of a new secret, confirmed by a code from it


def needs(enrolment: OperatorEnrolment) -> LinkNeeds:
    operator = enrolment.operator
    confirmed = operator.totp_confirmed_at is not None
    return LinkNeeds(
        new_password=enrolment.purpose is EnrolmentPurpose.PASSWORD,
        current_password=enrolment.purpose is EnrolmentPurpose.AUTHENTICATOR,
        current_code=confirmed,
        new_authenticator=not confirmed,
    )


def invite(email: str, name: str, role: Role, actor: OperatorActor) -> Operator:
    """A new operator with no usable password and a new authenticator secret, and the link that sets
    both. Commits. Raises InvalidInput (field `email`) or OperatorExists."""
    address = normalize_email(email).lower()
    check_email(address)
    if db.session.scalar(sa.select(Operator.id).where(Operator.email == address)) is not None:
        raise OperatorExists(address)
    operator = Operator(
        email=address,
        name=name.strip() or address,
        role=role,
        # Nobody knows this password: the operator sets theirs through the link.
        password_hash=hash_password(secrets.token_urlsafe(32)),
        totp_secret=pyotp.random_base32(),
    )
    db.session.add(operator)
    db.session.flush()
    record(
        "operators.invited",
        **actor.audit(),
        target_type="operators",
        target_id=operator.id,
        detail={"role": role.value},
    )
    _send(operator, EnrolmentPurpose.PASSWORD, actor)
    db.session.commit()
    return operator


def send_password_links(operator_ids: Iterable[int], actor: OperatorActor) -> None:
    """An admin's password reset: the old password stops working, every session ends, and each operator
    is mailed a link to set a new one. Commits."""
    for operator in _operators(operator_ids):
        operator.password_hash = hash_password(secrets.token_urlsafe(32))
        revoke_sessions(operator)
        record(
            "operators.password_reset",
            **actor.audit(),
            target_type="operators",
            target_id=operator.id,
        )
        _send(operator, EnrolmentPurpose.PASSWORD, actor)
    db.session.commit()


def send_authenticator_links(operator_ids: Iterable[int], actor: OperatorActor) -> None:
    """An admin's authenticator reset (a lost phone): a new secret, every session ends, and each
    operator is mailed a link to enrol it with their password. Commits."""
    for operator in _operators(operator_ids):
        operator.totp_secret = pyotp.random_base32()
        operator.totp_pending_secret = None
        operator.totp_confirmed_at = None
        operator.totp_last_step = 0
        revoke_sessions(operator)
        record(
            "operators.authenticator_reset",
            **actor.audit(),
            target_type="operators",
            target_id=operator.id,
        )
        _send(operator, EnrolmentPurpose.AUTHENTICATOR, actor)
    db.session.commit()


def open_link(token: str) -> OperatorEnrolment:
    """The live enrolment of this token. Raises LinkUnusable."""
    enrolment = db.session.scalar(
        sa.select(OperatorEnrolment).where(OperatorEnrolment.token_hash == hash_key(token))
    )
    if (
        enrolment is None
        or enrolment.used_at is not None
        or enrolment.expires_at <= utcnow()
        or not enrolment.operator.is_active
    ):
        raise LinkUnusable
    return enrolment


def complete(
    token: str, *, new_password: str = "", current_password: str = "", code: str = ""
) -> Operator:
    """Use the link once: check what it needs (`needs`), then set the password and/or confirm the
    authenticator. Commits. Raises LinkUnusable, PasswordRejected (`new`), WrongPassword (`current`)
    or WrongCode (`code`)."""
    enrolment = open_link(token)
    operator, wants, now = enrolment.operator, needs(enrolment), utcnow()
    if wants.new_password:
        check_policy(
            new_password,
            context=(operator.email, operator.name),
            label="新しいパスワード",
            field="new",
        )
    if wants.current_password and not verify_password(operator.password_hash, current_password):
        record_failure(operator, now, "wrong_password_enrolment")
        raise WrongPassword
    if not accept_code(operator, operator.totp_secret, code, now):
        record_failure(operator, now, "wrong_code_enrolment")
        raise WrongCode
    # Used once, even by two requests at the same instant.
    used = db.session.execute(
        sa.update(OperatorEnrolment)
        .where(OperatorEnrolment.id == enrolment.id, OperatorEnrolment.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if used != 1:
        db.session.rollback()
        raise LinkUnusable
    if wants.new_password:
        operator.password_hash = hash_password(new_password)
    operator.totp_confirmed_at = operator.totp_confirmed_at or now
    operator.failed_attempts = 0
    operator.locked_until = None
    record(
        "operator.enrolled",
        **OperatorActor.of(operator).audit(),
        detail={"purpose": enrolment.purpose.value},
    )
    db.session.commit()
    return operator


def change_own_password(
    operator: Operator, current_password: str, code: str, new_password: str, ip_address: str | None
) -> str:
    """The operator's own password change, behind the current password and a code. Every other session
    ends and this one gets a new key (returned); the operator is told by mail. Commits. Raises
    WrongPassword (`current`), WrongCode (`code`) or PasswordRejected (`new`)."""
    now = utcnow()
    if not verify_password(operator.password_hash, current_password):
        record_failure(operator, now, "wrong_password_change")
        raise WrongPassword
    if not accept_code(operator, operator.totp_secret, code, now):
        record_failure(operator, now, "wrong_code_change")
        raise WrongCode
    check_policy(
        new_password, context=(operator.email, operator.name), label="新しいパスワード", field="new"
    )
    if verify_password(operator.password_hash, new_password):
        raise InvalidInput(
            "＊新しいパスワードには、現在のパスワードと違うものを入力してください。", field="new"
        )
    operator.password_hash = hash_password(new_password)
    SESSIONS.revoke_all(operator)
    record("operator.password_changed", **OperatorActor.of(operator).audit())
    outbox.enqueue("operator_password_changed", operator.email, {"operator": operator, "at": now})
    db.session.commit()
    return SESSIONS.start(operator, ip_address)


def _operators(operator_ids: Iterable[int]) -> list[Operator]:
    return list(db.session.scalars(sa.select(Operator).where(Operator.id.in_(operator_ids))))


def _send(operator: Operator, purpose: EnrolmentPurpose, actor: OperatorActor) -> None:
    """Void the operator's open links, add a new one and mail it, in the caller's transaction."""
    now = utcnow()
    db.session.execute(
        sa.update(OperatorEnrolment)
        .where(OperatorEnrolment.operator_id == operator.id, OperatorEnrolment.used_at.is_(None))
        .values(expires_at=now)
        .execution_options(synchronize_session=False)
    )
    token = secrets.token_urlsafe(32)
    hours = current_app.config["OPERATOR_ENROLMENT_HOURS"]
    enrolment = OperatorEnrolment(
        operator_id=operator.id,
        purpose=purpose,
        token_hash=hash_key(token),
        created_by_id=actor.id,
        expires_at=now + timedelta(hours=hours),
    )
    db.session.add(enrolment)
    outbox.enqueue(
        "operator_enrolment",
        operator.email,
        {
            "operator": operator,
            "purpose": purpose.value,
            "link": external_url("admin_credentials.enrolment_link", token=token),
            "expires_at": enrolment.expires_at,
        },
        contains_secret=True,
    )
