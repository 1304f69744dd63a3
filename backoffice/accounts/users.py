"""Portal users and their initial passwords: creating a user, (re)issuing the initial password, and the
server-side sessions every account service shares."""

from dataclasses import dataclass
from datetime import timedelta

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
from backoffice.sessions import SessionStore
from backoffice.urls import external_url

SESSIONS = SessionStore(
    model=PortalSession,
    owner_column="portal_user_id",
    idle_minutes_key="PORTAL_IDLE_MINUTES",
    absolute_hours_key="PORTAL_ABSOLUTE_HOURS",
    is_usable=lambda user: user.usable,
)


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
    organization: Organization, details: UserDetails, *, is_registrant: bool
) -> PortalUser:
    """A user with an initial password, emailed to them (never shown to anyone), in the caller's
    transaction. Raises EmailTaken."""
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
