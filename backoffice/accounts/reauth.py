"""Recent authentication for マイページ's changes to the organization's users.

Adding or disabling a user needs a session whose password was proven within PORTAL_REAUTH_MINUTES: at
the login itself (the session starts after the password and the one-time password) or by entering the
password again. A borrowed or stolen signed-in browser cannot then hand out or take away accounts.
"""

from datetime import datetime, timedelta

from flask import current_app

from backoffice.accounts.errors import AccountError, WrongCurrentPassword
from backoffice.accounts.login import count_failure
from backoffice.accounts.models import PortalUser
from backoffice.accounts.users import SESSIONS, portal_actor
from backoffice.audit.operations import record
from backoffice.db import utcnow
from backoffice.extensions import db
from backoffice.passwords import verify_password


class ReauthenticationRequired(AccountError):
    field = "password"

    def __init__(self) -> None:
        super().__init__("＊安全のため、現在のパスワードをもう一度入力してください。")


class ReauthenticationLocked(AccountError):
    field = "password"

    def __init__(self) -> None:
        super().__init__(
            "＊パスワードを続けて間違えたため、しばらく確認できません。15分ほどしてから、もう一度お試しください。"
        )


def is_recent(session_key: str | None, *, now: datetime | None = None) -> bool:
    """Whether this session's password was proven within PORTAL_REAUTH_MINUTES."""
    row = SESSIONS.find(session_key)
    if row is None or row.revoked_at is not None:
        return False
    proven = max(row.created_at, row.reauthenticated_at or row.created_at)
    window = timedelta(minutes=current_app.config["PORTAL_REAUTH_MINUTES"])
    return (now or utcnow()) - proven <= window


def require(user: PortalUser, session_key: str | None, password: str | None) -> None:
    """Pass when the session is recent; else check `password` and mark the session recent. A wrong
    password counts toward the lockout. Commits when it checks a password. Raises
    ReauthenticationRequired (no password given), ReauthenticationLocked (the account is locked, as at
    the login: not even the right password passes) or WrongCurrentPassword (field `password`)."""
    now = utcnow()
    if is_recent(session_key, now=now):
        return
    if not password:
        raise ReauthenticationRequired
    if user.locked_until and user.locked_until > now:
        raise ReauthenticationLocked
    if not verify_password(user.password_hash, password):
        count_failure(user, now, "wrong_password_reauthentication")
        raise WrongCurrentPassword(field="password")
    SESSIONS.find(session_key).reauthenticated_at = now
    record("portal.reauthenticated", **portal_actor(user))
    db.session.commit()
