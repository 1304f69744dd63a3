"""Operators: creation, sign-in with password + authenticator code, sessions, (re-)enrolment.

Every function that writes commits its own transaction, audit event included.
"""

import base64
import io
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
import qrcode
import qrcode.image.svg
import sqlalchemy as sa
from flask import current_app

from backoffice import sealing
from backoffice.audit.models import Outcome
from backoffice.audit.operations import record, record_unknown_account
from backoffice.db import utcnow
from backoffice.extensions import db
from backoffice.lockout import count_failure
from backoffice.normalize import InvalidInput, check_email, normalize_email
from backoffice.operators.models import Operator, OperatorSession, Role
from backoffice.passwords import check_policy, hash_password, verify_password
from backoffice.sessions import SessionStore

ISSUER = "介護情報基盤ポータル 運営"


class OperatorExists(Exception):
    """An operator with this email address already exists."""


class SignInFailed(Exception):
    """Wrong email, password or code, a locked or disabled operator: one answer for all of them."""


@dataclass(frozen=True)
class OperatorActor:
    """Who did something, for audit events written by operator actions."""

    id: int
    label: str

    @classmethod
    def of(cls, operator: Operator) -> "OperatorActor":
        return cls(operator.id, operator.email)

    def audit(self) -> dict[str, object]:
        return {"actor_type": "operator", "actor_id": self.id, "actor_label": self.label}


def create_operator(email: str, name: str, role: Role, password: str) -> Operator:
    """Create an operator with a new authenticator secret.

    Raises InvalidInput (bad email), PasswordRejected (policy) or OperatorExists.
    """
    address = normalize_email(email).lower()
    check_email(address)
    check_policy(password, context=(address, name))
    if db.session.scalar(sa.select(Operator.id).where(Operator.email == address)) is not None:
        raise OperatorExists(address)
    operator = Operator(
        email=address,
        name=name.strip() or address,
        role=role,
        password_hash=hash_password(password),
        totp_secret=pyotp.random_base32(),
    )
    db.session.add(operator)
    db.session.flush()
    record(
        "operator.created",
        actor_type="system",
        target_type="operator",
        target_id=operator.id,
        detail={"role": role.value},
    )
    db.session.commit()
    return operator


def provisioning_uri(secret: str, email: str) -> str:
    """The otpauth:// URI an authenticator app reads (typed, or from the QR code)."""
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def qr_code_data_uri(uri: str) -> str:
    """The URI as an SVG QR code in a data: URI (allowed by the page's CSP)."""
    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    buffer = io.BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


def _matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The 30-second step (window ±1) whose code this is, or None."""
    code = "".join(code.split())
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in (current - 1, current, current + 1):
        if secrets.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def sign_in(email: str, password: str, code: str, *, now: datetime | None = None) -> Operator:
    """Check email, password and authenticator code together; each code is accepted once.

    Raises SignInFailed for every kind of failure, after recording it (and a lockout) in the audit log.
    """
    now = now or utcnow()
    address = normalize_email(email).lower()
    operator = db.session.scalar(sa.select(Operator).where(Operator.email == address))
    password_ok = verify_password(operator.password_hash if operator else None, password)
    if operator is None or not operator.is_active:
        record_unknown_account("operator.login", address)
        db.session.commit()
        raise SignInFailed
    if operator.locked_until and operator.locked_until > now:
        record(
            "operator.login",
            outcome=Outcome.FAILURE,
            **OperatorActor.of(operator).audit(),
            detail={"reason": "locked"},
        )
        db.session.commit()
        raise SignInFailed
    if not (password_ok and accept_code(operator, operator.totp_secret, code, now)):
        record_failure(operator, now, "wrong_password" if not password_ok else "wrong_code")
        raise SignInFailed
    operator.failed_attempts = 0
    operator.locked_until = None
    operator.last_login_at = now
    operator.totp_confirmed_at = operator.totp_confirmed_at or now
    record("operator.login", **OperatorActor.of(operator).audit())
    db.session.commit()
    return operator


def accept_code(operator: Operator, secret: str, code: str, now: datetime) -> bool:
    """Whether `code` is right for `secret` now and newer than every code the operator used before; the
    step is then recorded (in the caller's transaction). The conditional UPDATE makes "each code once"
    hold even for two requests in the same instant."""
    step = _matching_step(secret, code, now)
    return (
        step is not None
        and db.session.execute(
            sa.update(Operator)
            .where(Operator.id == operator.id, Operator.totp_last_step < step)
            .values(totp_last_step=step)
            .execution_options(synchronize_session=False)
        ).rowcount
        == 1
    )


def record_failure(operator: Operator, now: datetime, reason: str) -> None:
    count_failure(
        operator,
        now=now,
        threshold=current_app.config["OPERATOR_LOCKOUT_THRESHOLD"],
        prefix="operator",
        actor=OperatorActor.of(operator).audit(),
        reason=reason,
    )


# --- sessions -------------------------------------------------------------------------------------


SESSIONS = SessionStore(
    model=OperatorSession,
    owner_column="operator_id",
    idle_minutes_key="OPERATOR_IDLE_MINUTES",
    absolute_hours_key="OPERATOR_ABSOLUTE_HOURS",
    is_usable=lambda operator: operator.is_active,
)


def start_session(operator: Operator, ip_address: str | None) -> str:
    """A new server-side session; returns the key for the cookie."""
    return SESSIONS.start(operator, ip_address)


def load_session(key: str | None, *, now: datetime | None = None) -> Operator | None:
    """The signed-in operator for this key, or None (see SessionStore.load)."""
    return SESSIONS.load(key, now=now)


def end_session(key: str | None) -> None:
    """Logout: the session stops working on the server, so a copied cookie is useless afterwards."""
    if (operator := SESSIONS.end(key)) is not None:
        record("operator.logout", **OperatorActor.of(operator).audit())
    db.session.commit()


def revoke_sessions(operator: Operator) -> None:
    """End every session of the operator (in the caller's transaction)."""
    SESSIONS.revoke_all(operator)


# --- enrolment ------------------------------------------------------------------------------------


def first_enrolment(email: str, password: str) -> Operator:
    """An operator who has never used a code may see the QR code after a password check.

    Raises SignInFailed otherwise (also when the authenticator is already confirmed: re-enrolment then
    happens inside the back office, behind password + code).
    """
    address = normalize_email(email).lower()
    operator = db.session.scalar(sa.select(Operator).where(Operator.email == address))
    password_ok = verify_password(operator.password_hash if operator else None, password)
    locked = (
        operator is not None
        and operator.locked_until is not None
        and operator.locked_until > utcnow()
    )
    if operator is None or not operator.is_active or locked or not password_ok:
        if operator is not None and operator.is_active and not password_ok:
            record_failure(operator, utcnow(), "wrong_password")
        raise SignInFailed
    if operator.totp_confirmed_at is not None or not _may_enrol_with_password(operator):
        raise SignInFailed
    record("operator.enrolment_shown", **OperatorActor.of(operator).audit())
    db.session.commit()
    return operator


def _may_enrol_with_password(operator: Operator) -> bool:
    """Only an operator made by `flask operators create` who has never signed in, for
    OPERATOR_ENROLMENT_HOURS: anyone else enrols through a mailed link (backoffice/operators/enrolment.py)."""
    hours = current_app.config["OPERATOR_ENROLMENT_HOURS"]
    return operator.last_login_at is None and operator.created_at > utcnow() - timedelta(
        hours=hours
    )


def begin_reenrolment(operator: Operator, password: str) -> str:
    """Start replacing the authenticator: check the password again, keep a new secret pending.

    Returns the new secret. Raises SignInFailed for a wrong password.
    """
    if not verify_password(operator.password_hash, password):
        record_failure(operator, utcnow(), "wrong_password")
        raise SignInFailed
    operator.totp_pending_secret = pyotp.random_base32()
    record("operator.reenrolment_started", **OperatorActor.of(operator).audit())
    db.session.commit()
    return operator.totp_pending_secret


def confirm_reenrolment(operator: Operator, code: str, *, now: datetime | None = None) -> None:
    """Switch to the pending secret once a code from it is right. Raises InvalidInput otherwise."""
    now = now or utcnow()
    secret = operator.totp_pending_secret
    step = _matching_step(secret, code, now) if secret else None
    if step is None:
        raise InvalidInput(
            "＊確認コードが正しくありません。認証アプリに表示されている6桁の数字を入力してください。",
            field="code",
        )
    operator.totp_secret = secret
    operator.totp_pending_secret = None
    operator.totp_last_step = step
    operator.totp_confirmed_at = now
    record("operator.reenrolled", **OperatorActor.of(operator).audit())
    db.session.commit()


# --- an admin's actions on other operators (運営担当者) -------------------------------------------


def unlock_operators(operator_ids: Iterable[int], actor: OperatorActor) -> None:
    """Lift the sign-in lock of these operators (the failure count starts again). Commits."""
    for operator in db.session.scalars(sa.select(Operator).where(Operator.id.in_(operator_ids))):
        operator.failed_attempts = 0
        operator.locked_until = None
        record(
            "operators.unlocked", **actor.audit(), target_type="operators", target_id=operator.id
        )
    db.session.commit()


def reseal_totp_seeds() -> int:
    """Seal every operator's seeds under the current SECRET_KEY (after a key rotation). Commits;
    returns how many operators were resealed."""
    operators = db.session.scalars(sa.select(Operator)).all()
    for operator in operators:
        operator.totp_secret_sealed = sealing.reseal(sealing.TOTP_SEED, operator.totp_secret_sealed)
        if operator.totp_pending_secret_sealed:
            operator.totp_pending_secret_sealed = sealing.reseal(
                sealing.TOTP_SEED, operator.totp_pending_secret_sealed
            )
    db.session.commit()
    return len(operators)
