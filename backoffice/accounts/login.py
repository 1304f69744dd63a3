"""Login with ID（メールアドレス）, password and a one-time password; logout; パスワードを忘れた方.

Every function that writes commits its own transaction, audit events and emails included.
"""

from datetime import datetime

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import joinedload

from backoffice.accounts.errors import InitialPasswordExpired, LoginFailed
from backoffice.accounts.models import PortalUser
from backoffice.accounts.users import SESSIONS, portal_actor, queue_password_changed
from backoffice.audit.models import Outcome
from backoffice.audit.operations import record, record_unknown_account
from backoffice.db import utcnow
from backoffice.extensions import db
from backoffice.lockout import count_failure as count_lockout_failure
from backoffice.normalize import normalize_email
from backoffice.onboarding import progress
from backoffice.otp import operations as otp
from backoffice.otp.models import OtpChallenge, Purpose
from backoffice.passwords import check_policy, hash_password, verify_password


def begin_login(
    email: str, password: str, *, current: str | None = None, now: datetime | None = None
) -> otp.Issued:
    """Check ID and password; send a one-time password (`current`: the browser's open challenge, kept
    within the cooldown). Commits.

    Raises LoginFailed (unknown, wrong, locked, disabled: the same) or InitialPasswordExpired (only after
    the right password, so it reveals nothing to a guesser).
    """
    now = now or utcnow()
    address = normalize_email(email).lower()
    user = db.session.scalar(
        sa.select(PortalUser)
        .where(PortalUser.email == address)
        .options(joinedload(PortalUser.organization))  # `usable` reads it
    )
    password_ok = verify_password(user.password_hash if user else None, password)
    if user is None or not user.usable:
        record_unknown_account("portal.login", address)
        db.session.commit()
        raise LoginFailed
    if user.locked_until and user.locked_until > now:
        record(
            "portal.login",
            outcome=Outcome.FAILURE,
            **portal_actor(user),
            detail={"reason": "locked"},
        )
        db.session.commit()
        raise LoginFailed
    if not password_ok:
        count_failure(user, now, "wrong_password")
        raise LoginFailed
    if (
        user.must_change_password
        and user.initial_password_expires_at
        and (user.initial_password_expires_at <= now)
    ):
        record(
            "portal.login",
            outcome=Outcome.FAILURE,
            **portal_actor(user),
            detail={"reason": "initial_password_expired"},
        )
        db.session.commit()
        raise InitialPasswordExpired
    issued = otp.issue(Purpose.LOGIN, user.email, portal_user_id=user.id, current=current, now=now)
    if issued.notice is None:
        record("portal.otp_sent", **portal_actor(user), detail={"purpose": "login"})
    db.session.commit()
    return issued


def count_failure(user: PortalUser, now: datetime, reason: str) -> None:
    """One failure toward the user's lockout (growing waits from PORTAL_LOCKOUT_THRESHOLD). Commits."""
    count_lockout_failure(
        user,
        now=now,
        threshold=current_app.config["PORTAL_LOCKOUT_THRESHOLD"],
        prefix="portal",
        actor=portal_actor(user),
        reason=reason,
    )


def finish_login(
    binding: str | None,
    code: str,
    ip_address: str | None,
    *,
    challenge: OtpChallenge | None = None,
) -> tuple[PortalUser, str]:
    """Check the one-time password; start the server-side session, in the same transaction. Returns
    the user and the new session key. A wrong code counts toward the account's lockout; a locked account
    cannot finish. `challenge`: this browser's, when the caller has read it already. Raises
    otp.OtpError."""
    challenge = challenge or otp.find(binding, Purpose.LOGIN)
    user = (
        db.session.get(
            PortalUser, challenge.portal_user_id, options=[joinedload(PortalUser.organization)]
        )
        if challenge
        else None
    )
    if user is not None and user.locked_until and user.locked_until > utcnow():
        # Locked since the password step (by an operator, or by failures): the code no longer helps.
        raise otp.OtpUnavailable
    try:
        otp.verify(binding, Purpose.LOGIN, code, challenge=challenge)
    except otp.OtpWrong:
        if user is not None:
            record("portal.otp_failed", outcome=Outcome.FAILURE, **portal_actor(user))
            # Only a code that was mailed can be guessed (a held challenge matches none).
            if challenge is not None and challenge.sends:
                count_failure(user, utcnow(), "wrong_otp")
            else:
                db.session.commit()
        raise
    if user is None or not user.usable:
        raise otp.OtpUnavailable
    now = utcnow()
    user.failed_attempts = 0
    user.locked_until = None
    user.last_login_at = now
    if user.first_login_at is None:
        user.first_login_at = now
        progress.logged_in(user)
    record("portal.otp_passed", **portal_actor(user))
    record("portal.login", **portal_actor(user))
    key = SESSIONS.begin(user, ip_address)
    db.session.commit()
    return user, key


def load_session(key: str | None) -> PortalUser | None:
    return SESSIONS.load(key)


def peek_session(key: str | None) -> PortalUser | None:
    """The session's user without keeping it alive or writing anything (the page header)."""
    return SESSIONS.peek(key)


def logout(key: str | None) -> None:
    if (user := SESSIONS.end(key)) is not None:
        record("portal.logout", **portal_actor(user))
    db.session.commit()


def begin_password_reset(email: str, *, current: str | None = None) -> otp.Issued:
    """Send a one-time password to a known, usable address; for any other address make a silent decoy,
    so that the answer and the next page are the same (the decoy passes the same cooldown and cap).
    Commits."""
    address = normalize_email(email).lower()
    user = db.session.scalar(sa.select(PortalUser).where(PortalUser.email == address))
    known = user is not None and user.usable
    issued = otp.issue(
        Purpose.PASSWORD_RESET,
        address,
        portal_user_id=user.id if known else None,
        send=known,
        current=current,
    )
    if known and issued.notice is None:
        record("portal.otp_sent", **portal_actor(user), detail={"purpose": "password_reset"})
    elif not known:
        record_unknown_account("portal.password_reset", address)
    db.session.commit()
    return issued


def finish_password_reset(binding: str | None, code: str, new_password: str) -> PortalUser:
    """Check the one-time password and set the new password (the policy of docs/security.md); a lock
    from failed attempts is cleared (an operator's is not), every session of the user ends and the user
    is told by mail (without a secret). A wrong code counts toward the account's lockout, as at login.
    Raises otp.OtpError or PasswordRejected (for the field `new`)."""
    challenge = otp.find(binding, Purpose.PASSWORD_RESET)
    if challenge is None:
        raise otp.OtpUnavailable
    user = (
        db.session.get(PortalUser, challenge.portal_user_id) if challenge.portal_user_id else None
    )
    # The same check for known and unknown addresses (only the typed address as context), so that the
    # answer never tells whether the address has an account.
    check_policy(new_password, context=(challenge.sent_to,), label="新しいパスワード", field="new")
    try:
        otp.verify(binding, Purpose.PASSWORD_RESET, code)
    except otp.OtpWrong:
        if user is not None:
            record(
                "portal.otp_failed",
                outcome=Outcome.FAILURE,
                **portal_actor(user),
                detail={"purpose": "password_reset"},
            )
            if challenge.sends:
                count_failure(user, utcnow(), "wrong_reset_code")
            else:
                db.session.commit()
        raise
    if user is None or not user.usable:
        raise otp.OtpUnavailable
    user.password_hash = hash_password(new_password)
    user.must_change_password = False
    user.initial_password_expires_at = None
    user.password_changed_at = utcnow()
    if not user.locked_by_operator:  # an operator's lock holds until an operator lifts it
        user.failed_attempts = 0
        user.locked_until = None
    SESSIONS.revoke_all(user)
    queue_password_changed(user, reset=True)
    record("portal.password_reset", **portal_actor(user))
    db.session.commit()
    return user
