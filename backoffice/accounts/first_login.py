"""The first-login steps, in this order and only while needed: the password change (an initial
password can't be kept) and consent to the current 利用規約. Each function commits its own transaction."""

import sqlalchemy as sa

from backoffice.accounts.errors import AccountError, InitialPasswordExpired, WrongCurrentPassword
from backoffice.accounts.models import PortalUser, TermsVersion
from backoffice.accounts.users import (
    SESSIONS,
    portal_actor,
    queue_password_changed,
    rotate_session,
)
from backoffice.audit.operations import record
from backoffice.db import utcnow
from backoffice.extensions import db
from backoffice.onboarding import progress
from backoffice.passwords import check_policy, hash_password, verify_password


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


def change_password(
    user: PortalUser, current: str, new: str, *, keep_session: str | None
) -> str | None:
    """Set a new password (the policy of docs/security.md; never the current one again), end the
    user's other sessions and move the session `keep_session` (this browser's) to a new key. After the
    first-login change (from the initial password) nothing is mailed; after any later one the user is
    told, in the same transaction. Returns the browser's new session key (None when `keep_session` is
    not a live session of the user: then every session ends). Raises WrongCurrentPassword (field
    `current`), or AccountError or PasswordRejected for the field `new`; nothing is saved then."""
    if not verify_password(user.password_hash, current):
        raise WrongCurrentPassword(field="current")
    expires = user.initial_password_expires_at
    if user.must_change_password and expires is not None and expires <= utcnow():
        # Checked at login too; this catches a login begun just before the expiry.
        raise InitialPasswordExpired
    if new == current:
        raise AccountError(
            "＊新しいパスワードには、現在のパスワードと違うものを入力してください。", field="new"
        )
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
        field="new",
    )
    # The first-login change replaces the initial password the user was mailed, as the step they were
    # sent to take seconds after the one-time password: telling them would only teach them to skip
    # 「パスワードが変更されました」, which matters when they did not change it themselves.
    first = user.must_change_password
    user.password_hash = hash_password(new)
    user.must_change_password = False
    user.initial_password_expires_at = None
    user.password_changed_at = utcnow()
    new_key = rotate_session(user, keep_session)
    SESSIONS.revoke_all(user, keep=new_key)
    if first:
        progress.password_changed(user)
    else:
        queue_password_changed(user, reset=False)
    record("portal.password_changed", **portal_actor(user))
    db.session.commit()
    return new_key


def decline_terms(user: PortalUser, terms: TermsVersion, session_key: str | None) -> None:
    """The user declined 利用規約: the decision is recorded and this session ends. Commits."""
    record("portal.terms_declined", **portal_actor(user), detail={"terms_version": terms.version})
    SESSIONS.end(session_key)
    record("portal.logout", **portal_actor(user))
    db.session.commit()


def accept_terms(user: PortalUser, terms: TermsVersion) -> None:
    user.terms_version = terms
    user.terms_accepted_at = utcnow()
    progress.consented(user)
    record("portal.terms_accepted", **portal_actor(user), detail={"terms_version": terms.version})
    db.session.commit()
