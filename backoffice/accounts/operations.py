"""Portal accounts: users with initial passwords, login with a one-time password, the first-login steps
(password change, 利用規約), sessions, and adding users from マイページ.

Every function that writes commits its own transaction, audit event and emails included.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app

from backoffice.accounts.models import Organization, PortalSession, PortalUser, TermsVersion
from backoffice.audit.models import Outcome
from backoffice.audit.operations import record
from backoffice.db import utcnow
from backoffice.display import format_datetime
from backoffice.extensions import db
from backoffice.lockout import count_failure
from backoffice.mail import outbox
from backoffice.normalize import normalize_email
from backoffice.otp import operations as otp
from backoffice.otp.models import Purpose
from backoffice.passwords import (
    check_policy,
    generate_initial_password,
    hash_password,
    verify_password,
)
from backoffice.sessions import SessionStore
from backoffice.urls import external_url

SESSIONS = SessionStore(
    model=PortalSession,
    owner_column="portal_user_id",
    idle_minutes_key="PORTAL_IDLE_MINUTES",
    absolute_hours_key="PORTAL_ABSOLUTE_HOURS",
    is_usable=lambda user: user.usable,
)


class AccountError(Exception):
    """`str(error)` is the Japanese message for the user."""


class LoginFailed(AccountError):
    """Unknown ID, wrong password or a locked account: one answer for all of them."""

    def __init__(self) -> None:
        super().__init__(
            "＊ID（メールアドレス）またはパスワードが正しくありません。"
            "続けて間違えると、しばらくログインできなくなります。"
        )


class InitialPasswordExpired(AccountError):
    def __init__(self) -> None:
        super().__init__(
            "＊初期パスワードの有効期限が切れています。医療機関の方はお問い合わせフォームから、"
            "追加されたユーザの方は登録者の方（マイページ）に、初期パスワードの再発行を依頼してください。"
        )


class UserLimitReached(AccountError):
    pass


class EmailTaken(AccountError):
    def __init__(self) -> None:
        super().__init__(
            "＊このメールアドレスは、すでにほかのユーザが使っています。別のメールアドレスを入力してください。"
        )


def _actor(user: PortalUser) -> dict[str, object]:
    return {"actor_type": "portal_user", "actor_id": user.id, "actor_label": user.email}


# --- users and initial passwords -------------------------------------------------------------------


@dataclass(frozen=True)
class UserDetails:
    name: str
    name_kana: str
    email: str
    phone: str
    department: str | None


def _email_taken(email: str) -> bool:
    return db.session.scalar(sa.select(PortalUser.id).where(PortalUser.email == email)) is not None


def create_user(
    organization: Organization, details: UserDetails, *, is_registrant: bool
) -> tuple[PortalUser, int]:
    """A user with an initial password, emailed to them (never shown to anyone), in the caller's
    transaction. Returns the user and the email's outbox id. Raises EmailTaken."""
    email = normalize_email(details.email).lower()
    if _email_taken(email):
        raise EmailTaken
    user = PortalUser(
        organization=organization,
        email=email,
        name=details.name,
        name_kana=details.name_kana,
        phone=details.phone,
        department=details.department,
        is_registrant=is_registrant,
        password_hash="",
    )
    db.session.add(user)
    email_id = _set_initial_password(user)
    return user, email_id


def reissue_initial_password(user: PortalUser, *, reveal: bool = False) -> str | None:
    """A new initial password (72 h) for a user who has not set their own, emailed to them. Commits.
    Returns the password only with `reveal` (the development demo prints it), else None."""
    password = _set_initial_password(user, return_password=True)
    record(
        "portal.initial_password_reissued",
        actor_type="system",
        target_type="portal_user",
        target_id=user.id,
    )
    db.session.commit()
    return password if reveal else None


def _set_initial_password(user: PortalUser, *, return_password: bool = False) -> Any:
    password = generate_initial_password()
    user.password_hash = hash_password(password)
    user.must_change_password = True
    user.initial_password_expires_at = utcnow() + timedelta(
        hours=current_app.config["INITIAL_PASSWORD_HOURS"]
    )
    email = outbox.enqueue(
        "initial_password",
        user.email,
        {
            "user": user,
            "password": password,
            "expires": format_datetime(user.initial_password_expires_at),
            "login_url": external_url("portal.login"),
            "max_added": current_app.config["MAX_ADDED_USERS"],
        },
        contains_secret=True,
    )
    db.session.flush()
    return password if return_password else email.id


# --- login -----------------------------------------------------------------------------------------


def begin_login(email: str, password: str, *, now: datetime | None = None) -> otp.Issued:
    """Check ID and password; send a one-time password. Commits.

    Raises LoginFailed (unknown, wrong, locked, disabled: the same) or InitialPasswordExpired (only after
    the right password, so it reveals nothing to a guesser).
    """
    now = now or utcnow()
    address = normalize_email(email).lower()
    user = db.session.scalar(sa.select(PortalUser).where(PortalUser.email == address))
    password_ok = verify_password(user.password_hash if user else None, password)
    if user is None or not user.usable:
        record(
            "portal.login",
            outcome=Outcome.FAILURE,
            actor_label=address[:254],
            detail={"reason": "unknown_or_disabled"},
        )
        db.session.commit()
        raise LoginFailed
    if user.locked_until and user.locked_until > now:
        record("portal.login", outcome=Outcome.FAILURE, **_actor(user), detail={"reason": "locked"})
        db.session.commit()
        raise LoginFailed
    if not password_ok:
        _count_failure(user, now, "wrong_password")
        raise LoginFailed
    if (
        user.must_change_password
        and user.initial_password_expires_at
        and (user.initial_password_expires_at <= now)
    ):
        record(
            "portal.login",
            outcome=Outcome.FAILURE,
            **_actor(user),
            detail={"reason": "initial_password_expired"},
        )
        db.session.commit()
        raise InitialPasswordExpired
    issued = otp.issue(Purpose.LOGIN, user.email, portal_user_id=user.id)
    record("portal.otp_sent", **_actor(user), detail={"purpose": "login"})
    db.session.commit()
    return issued


def _count_failure(user: PortalUser, now: datetime, reason: str) -> None:
    count_failure(
        user,
        now=now,
        threshold=current_app.config["PORTAL_LOCKOUT_THRESHOLD"],
        prefix="portal",
        actor=_actor(user),
        reason=reason,
    )


def finish_login(binding: str | None, code: str, ip_address: str | None) -> tuple[PortalUser, str]:
    """Check the one-time password; start the server-side session. Returns the user and the new session
    key. A wrong code counts toward the account's lockout. Raises otp.OtpError."""
    challenge = otp.find(binding, Purpose.LOGIN)
    user = db.session.get(PortalUser, challenge.portal_user_id) if challenge else None
    try:
        otp.verify(binding, Purpose.LOGIN, code)
    except otp.OtpWrong:
        if user is not None:
            record("portal.otp_failed", outcome=Outcome.FAILURE, **_actor(user))
            _count_failure(user, utcnow(), "wrong_otp")
        raise
    if user is None or not user.usable:
        raise otp.OtpUnavailable
    now = utcnow()
    user.failed_attempts = 0
    user.locked_until = None
    user.last_login_at = now
    user.first_login_at = user.first_login_at or now
    record("portal.otp_passed", **_actor(user))
    record("portal.login", **_actor(user))
    db.session.commit()
    return user, SESSIONS.start(user, ip_address)


def load_session(key: str | None) -> PortalUser | None:
    return SESSIONS.load(key)


def logout(key: str | None) -> None:
    if (user := SESSIONS.end(key)) is not None:
        record("portal.logout", **_actor(user))
    db.session.commit()


# --- first-login steps -----------------------------------------------------------------------------


def current_terms() -> TermsVersion | None:
    return db.session.scalar(
        sa.select(TermsVersion)
        .where(TermsVersion.published_at.is_not(None))
        .order_by(TermsVersion.published_at.desc(), TermsVersion.id.desc())
        .limit(1)
    )


def needs_consent(user: PortalUser) -> bool:
    terms = current_terms()
    return terms is not None and user.terms_version_id != terms.id


def change_password(user: PortalUser, current: str, new: str, *, keep_session: str | None) -> None:
    """Set a new password (policy of DESIGN §6; never the initial one again); end the user's other
    sessions. Raises AccountError with the message for the field it concerns."""
    if not verify_password(user.password_hash, current):
        raise AccountError("＊現在のパスワードが正しくありません。")
    if new == current:
        raise AccountError("＊新しいパスワードには、現在のパスワードと違うものを入力してください。")
    check_policy(
        new,
        context=(
            user.email,
            user.name,
            user.name_kana,
            user.organization.office_number,
            user.organization.name,
        ),
        label="新しいパスワード",
    )
    user.password_hash = hash_password(new)
    user.must_change_password = False
    user.initial_password_expires_at = None
    user.password_changed_at = utcnow()
    SESSIONS.revoke_all(user, keep=keep_session)
    record("portal.password_changed", **_actor(user))
    db.session.commit()


def accept_terms(user: PortalUser, terms: TermsVersion) -> None:
    user.terms_version = terms
    user.terms_accepted_at = utcnow()
    record("portal.terms_accepted", **_actor(user), detail={"terms_version": terms.version})
    db.session.commit()


# --- マイページ: users of the organization ------------------------------------------------------------


def active_added_users(organization: Organization) -> int:
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(PortalUser)
        .where(
            PortalUser.organization_id == organization.id,
            PortalUser.is_active,
            PortalUser.is_registrant.is_(False),
        )
    )


def places_left(organization: Organization) -> int:
    return max(current_app.config["MAX_ADDED_USERS"] - active_added_users(organization), 0)


def add_user(registrant: PortalUser, details: UserDetails) -> tuple[PortalUser, int]:
    """ユーザ新規登録: at most MAX_ADDED_USERS active users besides the registrant. The organization row is
    updated first, which locks it (PostgreSQL row lock, SQLite write lock), so concurrent adds count one
    after another. Raises AccountError, UserLimitReached or EmailTaken."""
    if not registrant.is_registrant:
        raise AccountError("ユーザを追加できるのは登録者の方だけです。")
    organization_id = registrant.organization_id
    db.session.execute(
        sa.update(Organization)
        .where(Organization.id == organization_id)
        .values(users_version=Organization.users_version + 1)
        .execution_options(synchronize_session=False)
    )
    organization = db.session.get(Organization, organization_id)
    limit = current_app.config["MAX_ADDED_USERS"]
    if active_added_users(organization) >= limit:
        db.session.rollback()
        raise UserLimitReached(
            f"追加できるユーザは最大{limit}名です。すでに{limit}名が登録されているため、追加できません。"
            "使わなくなったユーザを無効にすると、その分追加できます。"
        )
    try:
        user, email_id = create_user(organization, details, is_registrant=False)
    except EmailTaken:
        db.session.rollback()
        raise
    record("portal.user_added", **_actor(registrant), target_type="portal_user", target_id=user.id)
    db.session.commit()
    return user, email_id


def _member(registrant: PortalUser, user_id: int) -> PortalUser:
    """Another user of the registrant's own organization; anything else is "not found" (no hint that an
    ID exists in another organization). Raises AccountError."""
    if not registrant.is_registrant:
        raise AccountError("この操作ができるのは登録者の方だけです。")
    user = db.session.get(PortalUser, user_id)
    if user is None or user.organization_id != registrant.organization_id or user.is_registrant:
        raise UserNotFound
    return user


class UserNotFound(AccountError):
    def __init__(self) -> None:
        super().__init__("ユーザが見つかりません。")


def disable_user(registrant: PortalUser, user_id: int) -> PortalUser:
    """Disable an added user: their sessions end at once and the place is freed. Commits."""
    user = _member(registrant, user_id)
    if user.is_active:
        user.is_active = False
        SESSIONS.revoke_all(user)
        registrant.organization.users_version += 1
        record(
            "portal.user_disabled",
            **_actor(registrant),
            target_type="portal_user",
            target_id=user.id,
        )
        db.session.commit()
    return user


def resend_initial_password(registrant: PortalUser, user_id: int) -> tuple[PortalUser, int]:
    """A new initial password for an added user who has not logged in yet (the old one stops working).
    Commits. Raises AccountError when the user has already logged in."""
    user = _member(registrant, user_id)
    if not user.is_active or user.first_login_at is not None or not user.must_change_password:
        raise AccountError("すでにログインしたユーザには、初期パスワードを再送できません。")
    email_id = _set_initial_password(user)
    record(
        "portal.initial_password_reissued",
        **_actor(registrant),
        target_type="portal_user",
        target_id=user.id,
    )
    db.session.commit()
    return user, email_id


# --- パスワードを忘れた方 ------------------------------------------------------------------------------


def begin_password_reset(email: str) -> otp.Issued:
    """Send a one-time password to a known, usable address; for any other address make a silent decoy,
    so that the answer and the next page are the same. Commits."""
    address = normalize_email(email).lower()
    user = db.session.scalar(sa.select(PortalUser).where(PortalUser.email == address))
    known = user is not None and user.usable
    issued = otp.issue(
        Purpose.PASSWORD_RESET, address, portal_user_id=user.id if known else None, send=known
    )
    if known:
        record("portal.otp_sent", **_actor(user), detail={"purpose": "password_reset"})
    else:
        record(
            "portal.password_reset",
            outcome=Outcome.FAILURE,
            actor_label=address[:254],
            detail={"reason": "unknown_or_disabled"},
        )
    db.session.commit()
    return issued


def finish_password_reset(binding: str | None, code: str, new_password: str) -> PortalUser:
    """Check the one-time password and set the new password (policy of DESIGN §6); the lockout is
    cleared and every session of the user ends. Raises otp.OtpError or PasswordRejected."""
    challenge = otp.find(binding, Purpose.PASSWORD_RESET)
    if challenge is None:
        raise otp.OtpUnavailable
    user = (
        db.session.get(PortalUser, challenge.portal_user_id) if challenge.portal_user_id else None
    )
    # The same check for known and unknown addresses (only the typed address as context), so that the
    # answer never tells whether the address has an account.
    check_policy(new_password, context=(challenge.sent_to,), label="新しいパスワード")
    try:
        otp.verify(binding, Purpose.PASSWORD_RESET, code)
    except otp.OtpWrong:
        if user is not None:
            record(
                "portal.otp_failed",
                outcome=Outcome.FAILURE,
                **_actor(user),
                detail={"purpose": "password_reset"},
            )
            db.session.commit()
        raise
    if user is None or not user.usable:
        raise otp.OtpUnavailable
    user.password_hash = hash_password(new_password)
    user.must_change_password = False
    user.initial_password_expires_at = None
    user.password_changed_at = utcnow()
    user.failed_attempts = 0
    user.locked_until = None
    SESSIONS.revoke_all(user)
    record("portal.password_reset", **_actor(user))
    db.session.commit()
    return user


# --- マイページ: own profile and email address ------------------------------------------------------


@dataclass(frozen=True)
class ProfileDetails:
    name: str
    name_kana: str
    phone: str
    department: str | None


def update_profile(user: PortalUser, details: ProfileDetails) -> None:
    """氏名, フリガナ, 電話番号, 部署名 (the email address changes through `begin_email_change`). Commits."""
    changed = [k for k, v in vars(details).items() if getattr(user, k) != v]
    for key, value in vars(details).items():
        setattr(user, key, value)
    if changed:
        record("portal.profile_updated", **_actor(user), detail={"fields": changed})
    db.session.commit()


def begin_email_change(user: PortalUser, new_email: str, password: str) -> otp.Issued:
    """Check the password again and send a one-time password to the new address. Commits.
    Raises AccountError (wrong password, same address) or EmailTaken."""
    if not verify_password(user.password_hash, password):
        _count_failure(user, utcnow(), "wrong_password_email_change")
        raise AccountError("＊現在のパスワードが正しくありません。")
    address = normalize_email(new_email).lower()
    if address == user.email:
        raise AccountError(
            "＊新しいメールアドレスには、今のメールアドレスと違うものを入力してください。"
        )
    if _email_taken(address):
        raise EmailTaken
    issued = otp.issue(Purpose.EMAIL_CHANGE, address, portal_user_id=user.id)
    record("portal.otp_sent", **_actor(user), detail={"purpose": "email_change"})
    db.session.commit()
    return issued


def finish_email_change(user: PortalUser, binding: str | None, code: str) -> list[int]:
    """The one-time password from the new address proves it; the login ID changes and the old address
    is told. Returns the queued email ids. Raises otp.OtpError or EmailTaken."""
    challenge = otp.find(binding, Purpose.EMAIL_CHANGE)
    if challenge is None or challenge.portal_user_id != user.id:
        raise otp.OtpUnavailable
    otp.verify(binding, Purpose.EMAIL_CHANGE, code)
    if _email_taken(challenge.sent_to):
        db.session.rollback()
        raise EmailTaken
    old = user.email
    user.email = challenge.sent_to
    notice = outbox.enqueue("email_changed", old, {"user": user, "new_email": user.email})
    record("portal.email_changed", **_actor(user), detail={"old": old, "new": user.email})
    db.session.flush()
    email_id = notice.id
    db.session.commit()
    return [email_id]


# --- back office: operators act on organizations and users ------------------------------------------

# A lock set by an operator lasts until an operator lifts it.
OPERATOR_LOCK = timedelta(days=365 * 100)


def operator_reissue_initial_password(user: PortalUser, actor: dict[str, object]) -> int:
    """A new initial password (72 h) for a user who has not set their own yet, e.g. after it expired.
    Commits. Returns the email id. Raises AccountError when the user has already chosen a password."""
    if not user.must_change_password:
        raise AccountError(f"{user.email} はすでにパスワードを設定しています。")
    email_id = _set_initial_password(user)
    record(
        "portal.initial_password_reissued", **actor, target_type="portal_user", target_id=user.id
    )
    db.session.commit()
    return email_id


def operator_set_user_state(
    user: PortalUser,
    actor: dict[str, object],
    *,
    locked: bool | None = None,
    active: bool | None = None,
) -> None:
    """Lock/unlock or disable/enable a user; locking or disabling ends their sessions at once. Commits."""
    if locked is not None:
        user.locked_until = utcnow() + OPERATOR_LOCK if locked else None
        user.failed_attempts = 0
        record(
            "portal.user_locked" if locked else "portal.user_unlocked",
            **actor,
            target_type="portal_user",
            target_id=user.id,
        )
    if active is not None:
        user.is_active = active
        if not user.is_registrant:
            user.organization.users_version += 1
        record(
            "portal.user_enabled" if active else "portal.user_disabled",
            **actor,
            target_type="portal_user",
            target_id=user.id,
        )
    if locked or active is False:
        SESSIONS.revoke_all(user)
    db.session.commit()


def operator_set_organization_active(
    organization: Organization, active: bool, actor: dict[str, object]
) -> None:
    """Disable or enable an organization; disabling ends every session of its users. Commits."""
    organization.is_active = active
    if not active:
        for user in organization.users:
            SESSIONS.revoke_all(user)
    record(
        "organization.enabled" if active else "organization.disabled",
        **actor,
        target_type="organization",
        target_id=organization.id,
    )
    db.session.commit()
