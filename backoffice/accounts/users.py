"""Portal users and their initial passwords: creating a user, (re)issuing the initial password, the
server-side sessions every account service shares, and the notices (never a secret) those services mail."""

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from backoffice.accounts.errors import EmailTaken
from backoffice.accounts.models import Organization, PortalSession, PortalUser
from backoffice.audit.operations import record
from backoffice.db import utcnow
from backoffice.display import format_datetime
from backoffice.extensions import db
from backoffice.mail import outbox
from backoffice.normalize import normalize_email
from backoffice.passwords import generate_initial_password, hash_password
from backoffice.sessions import SessionStore, hash_key
from backoffice.urls import external_url

SESSIONS = SessionStore(
    model=PortalSession,
    owner_column="portal_user_id",
    idle_minutes_key="PORTAL_IDLE_MINUTES",
    absolute_hours_key="PORTAL_ABSOLUTE_HOURS",
    is_usable=lambda user: user.usable,
)


def rotate_session(user: PortalUser, key: str | None) -> str | None:
    """Replace the live session `key` of `user` by one under a new key, in the caller's transaction: the
    old key stops working at once (a key someone saw before a password change is worth nothing after
    it). The sign-in keeps its start time, so the absolute limit still counts from the login. Returns
    the new key, or None when `key` is not a live session of `user`."""
    row = SESSIONS.find(key)
    if row is None or row.revoked_at is not None or row.portal_user_id != user.id:
        return None
    row.revoked_at = utcnow()
    new_key = secrets.token_urlsafe(32)
    db.session.add(
        PortalSession(
            key_hash=hash_key(new_key),
            owner=user,
            ip_address=row.ip_address,
            created_at=row.created_at,
        )
    )
    return new_key


def portal_actor(user: PortalUser) -> dict[str, object]:
    """The audit log's actor fields for something the user did."""
    return {"actor_type": "portal_user", "actor_id": user.id, "actor_label": user.email}


@dataclass(frozen=True)
class UserDetails:
    name: str
    name_kana: str
    email: str
    phone: str
    department: str | None


def email_taken(email: str) -> bool:
    return db.session.scalar(sa.select(PortalUser.id).where(PortalUser.email == email)) is not None


def create_user(
    organization: Organization,
    details: UserDetails,
    *,
    is_registrant: bool,
    initial_password: bool = True,
) -> PortalUser:
    """A user with an initial password, emailed to them (never shown to anyone), in the caller's
    transaction. `initial_password=False` leaves the password to the caller's next step (the demo
    reissues it to print it: one mail, one password that works). Raises EmailTaken."""
    email = normalize_email(details.email).lower()
    if email_taken(email):
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
    if initial_password:
        set_initial_password(user)
    return user


def set_initial_password(user: PortalUser) -> str:
    """A new initial password (valid INITIAL_PASSWORD_HOURS) and its email, in the caller's
    transaction. Returns the password, which only the development demo ever prints."""
    password = generate_initial_password()
    user.password_hash = hash_password(password)
    user.must_change_password = True
    user.initial_password_expires_at = utcnow() + timedelta(
        hours=current_app.config["INITIAL_PASSWORD_HOURS"]
    )
    outbox.enqueue(
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
    db.session.flush()  # the user's id, for the audit event that follows
    return password


def reissue_initial_password(user: PortalUser, *, reveal: bool = False) -> str | None:
    """A new initial password for a user who has not set their own, emailed to them, by the system
    (the demo). Commits. Returns the password only with `reveal` (the development demo prints it)."""
    password = set_initial_password(user)
    record(
        "portal.initial_password_reissued",
        actor_type="system",
        target_type="portal_user",
        target_id=user.id,
    )
    db.session.commit()
    return password if reveal else None


# Notices: what changed and when, and what to do if it was not the reader; never a password, a code or
# a link that carries a token, so none is sealed (contains_secret=False). Each is queued in the caller's
# transaction, with the change it tells about.


def registrant_of(organization: Organization) -> PortalUser | None:
    """The organization's registrant while their account is active (a disabled one is not mailed)."""
    return next((u for u in organization.users if u.is_registrant and u.is_active), None)


def queue_password_changed(user: PortalUser, *, reset: bool) -> None:
    """「パスワードが変更されました」 to the user: when, how (`reset`: through パスワードを忘れた方), and
    what to do if it was not them."""
    outbox.enqueue(
        "password_changed",
        user.email,
        {
            "user": user,
            "changed_at": user.password_changed_at,
            "reset": reset,
            "reset_url": external_url("portal.forgot_password"),
            "inquiry_url": external_url("inquiries.form"),
        },
    )


def queue_user_added(registrant: PortalUser, user: PortalUser, now: datetime) -> None:
    """To the registrant: who was added to the organization (the initial password goes only to the
    added user)."""
    outbox.enqueue(
        "member_added",
        registrant.email,
        {
            "registrant": registrant,
            "member": user,
            "added_at": now,
            "mypage_url": external_url("portal.mypage"),
            "inquiry_url": external_url("inquiries.form"),
        },
    )


def queue_user_disabled(user: PortalUser, now: datetime, *, by_operator: bool) -> None:
    """To the disabled user, and to their organization's registrant when that is someone else."""
    context = {
        "member": user,
        "disabled_at": now,
        "by_operator": by_operator,
        "inquiry_url": external_url("inquiries.form"),
    }
    outbox.enqueue("account_disabled", user.email, context)
    registrant = registrant_of(user.organization)
    if registrant is not None and registrant.id != user.id:
        outbox.enqueue("member_disabled", registrant.email, {**context, "registrant": registrant})
