"""マイページ: the users of an organization. The registrant adds up to MAX_ADDED_USERS users, disables them
and resends initial passwords. Each function commits its own transaction, audit event and emails
included. Adding and disabling need a recently authenticated session, which the views check first
(accounts/reauth.py)."""

import sqlalchemy as sa
from flask import current_app

from backoffice.accounts.errors import AccountError, EmailTaken, UserLimitReached, UserNotFound
from backoffice.accounts.models import Organization, PortalUser
from backoffice.accounts.users import (
    SESSIONS,
    UserDetails,
    create_user,
    portal_actor,
    queue_user_added,
    queue_user_disabled,
    set_initial_password,
)
from backoffice.audit.operations import record
from backoffice.db import utcnow
from backoffice.extensions import db
from backoffice.onboarding import progress


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


def lock_users(organization_id: int) -> None:
    """Take the organization's row lock (PostgreSQL row lock, SQLite write lock) in the caller's
    transaction, by bumping `users_version`: changes to its set of users then run one after another."""
    db.session.execute(
        sa.update(Organization)
        .where(Organization.id == organization_id)
        .values(users_version=Organization.users_version + 1)
        .execution_options(synchronize_session=False)
    )


def claim_a_place(organization_id: int) -> Organization:
    """Lock the organization's users (`lock_users`) and check that one more added user fits, in the
    caller's transaction, so that concurrent adds and re-enables count one after another. Raises
    UserLimitReached (after rolling back)."""
    lock_users(organization_id)
    organization = db.session.get(Organization, organization_id)
    limit = current_app.config["MAX_ADDED_USERS"]
    if active_added_users(organization) >= limit:
        db.session.rollback()
        raise UserLimitReached(
            f"追加できるユーザは最大{limit}名です。すでに{limit}名が登録されているため、追加できません。"
            "使わなくなったユーザを無効にすると、その分追加できます。"
        )
    return organization


def add_user(registrant: PortalUser, details: UserDetails) -> PortalUser:
    """ユーザ新規登録: at most MAX_ADDED_USERS active users besides the registrant (`claim_a_place`).
    The new user is mailed their initial password and the registrant a notice naming them (always:
    it is what tells a registrant whose session was misused that someone got an account). Commits.
    Raises AccountError, UserLimitReached or EmailTaken; nothing is saved then."""
    if not registrant.is_registrant:
        raise AccountError("ユーザを追加できるのは登録者の方だけです。")
    organization = claim_a_place(registrant.organization_id)
    try:
        user = create_user(organization, details, is_registrant=False)
    except EmailTaken:
        db.session.rollback()
        raise
    queue_user_added(registrant, user, utcnow())
    progress.user_added(organization.id)
    record(
        "portal.user_added",
        **portal_actor(registrant),
        target_type="portal_user",
        target_id=user.id,
    )
    db.session.commit()
    return user


def member(registrant: PortalUser, user_id: int) -> PortalUser:
    """Another user of the registrant's own organization; anything else is "not found" (no hint that an
    ID exists in another organization). Raises AccountError or UserNotFound."""
    if not registrant.is_registrant:
        raise AccountError("この操作ができるのは登録者の方だけです。")
    user = db.session.get(PortalUser, user_id)
    if user is None or user.organization_id != registrant.organization_id or user.is_registrant:
        raise UserNotFound
    return user


def disable_user(registrant: PortalUser, user_id: int) -> PortalUser:
    """Disable an added user: their sessions end at once, the place is freed, and the user and the
    registrant are told. Commits. Raises AccountError or UserNotFound."""
    user = member(registrant, user_id)
    if user.is_active:
        user.is_active = False
        SESSIONS.revoke_all(user)
        queue_user_disabled(user, utcnow(), by_operator=False)
        registrant.organization.users_version += 1
        record(
            "portal.user_disabled",
            **portal_actor(registrant),
            target_type="portal_user",
            target_id=user.id,
        )
        db.session.commit()
    return user


def resend_initial_password(registrant: PortalUser, user_id: int) -> PortalUser:
    """A new initial password for an added user who has not logged in yet (the old one stops working).
    Commits. Raises UserNotFound, or AccountError when the user has already logged in."""
    user = member(registrant, user_id)
    if not user.is_active or user.first_login_at is not None or not user.must_change_password:
        raise AccountError("すでにログインしたユーザには、初期パスワードを再送できません。")
    set_initial_password(user)
    record(
        "portal.initial_password_reissued",
        **portal_actor(registrant),
        target_type="portal_user",
        target_id=user.id,
    )
    db.session.commit()
    return user
