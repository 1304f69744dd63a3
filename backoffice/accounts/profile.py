"""マイページ: the user's own details and email address (the login ID). Each function commits its own
transaction."""

from dataclasses import dataclass

from backoffice.accounts.errors import AccountError, EmailTaken, WrongCurrentPassword
from backoffice.accounts.login import count_failure
from backoffice.accounts.models import PortalUser
from backoffice.accounts.users import email_taken, portal_actor
from backoffice.audit.operations import record
from backoffice.db import utcnow
from backoffice.extensions import db
from backoffice.mail import outbox
from backoffice.normalize import normalize_email
from backoffice.otp import operations as otp
from backoffice.otp.models import Purpose
from backoffice.passwords import verify_password
from backoffice.urls import external_url


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
        record("portal.profile_updated", **portal_actor(user), detail={"fields": changed})
    db.session.commit()


def begin_email_change(
    user: PortalUser, new_email: str, password: str, *, current: str | None = None
) -> otp.Issued:
    """Check the password again and send a one-time password to the new address. Commits.
    Raises WrongCurrentPassword (field `password`), AccountError (the same address, field `email`)
    or EmailTaken."""
    if not verify_password(user.password_hash, password):
        count_failure(user, utcnow(), "wrong_password_email_change")
        raise WrongCurrentPassword(field="password")
    address = normalize_email(new_email).lower()
    if address == user.email:
        raise AccountError(
            "＊新しいメールアドレスには、今のメールアドレスと違うものを入力してください。",
            field="email",
        )
    if email_taken(address):
        raise EmailTaken
    issued = otp.issue(Purpose.EMAIL_CHANGE, address, portal_user_id=user.id, current=current)
    if issued.notice is None:
        record("portal.otp_sent", **portal_actor(user), detail={"purpose": "email_change"})
    db.session.commit()
    return issued


def finish_email_change(user: PortalUser, binding: str | None, code: str) -> None:
    """The one-time password from the new address proves it; the login ID changes and both the old and
    the new address are told, in the same transaction. Raises otp.OtpError or EmailTaken."""
    challenge = otp.find(binding, Purpose.EMAIL_CHANGE)
    if challenge is None or challenge.portal_user_id != user.id:
        raise otp.OtpUnavailable
    otp.verify(binding, Purpose.EMAIL_CHANGE, code)
    if email_taken(challenge.sent_to):
        db.session.rollback()
        raise EmailTaken
    old = user.email
    user.email = challenge.sent_to
    outbox.enqueue("email_changed", old, {"user": user, "new_email": user.email})
    outbox.enqueue(
        "email_changed_new",
        user.email,
        {
            "user": user,
            "changed_at": utcnow(),
            "login_url": external_url("portal.login"),
            "inquiry_url": external_url("inquiries.form"),
        },
    )
    record("portal.email_changed", **portal_actor(user), detail={"old": old, "new": user.email})
    db.session.commit()
