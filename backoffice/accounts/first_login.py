"""The first-login steps, in this order and only while needed: the password change (an initial
password can't be kept) and consent to the current 利用規約. Each function commits its own transaction."""

import sqlalchemy as sa

from backoffice.accounts.errors import AccountError, WrongCurrentPassword
from backoffice.accounts.models import PortalUser, TermsVersion
from backoffice.accounts.users import SESSIONS, portal_actor
from backoffice.audit.operations import record
from backoffice.db import utcnow
from backoffice.extensions import db
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


def change_password(user: PortalUser, current: str, new: str, *, keep_session: str | None) -> None:
    """Set a new password (the policy of docs/security.md; never the current one again); end the
    user's other sessions. Raises WrongCurrentPassword (field `current`), or AccountError or
    PasswordRejected for the field `new`."""
    if not verify_password(user.password_hash, current):
        raise WrongCurrentPassword(field="current")
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
    user.password_hash = hash_password(new)
    user.must_change_password = False
    user.initial_password_expires_at = None
    user.password_changed_at = utcnow()
    SESSIONS.revoke_all(user, keep=keep_session)
    record("portal.password_changed", **portal_actor(user))
    db.session.commit()


def accept_terms(user: PortalUser, terms: TermsVersion) -> None:
    user.terms_version = terms
    user.terms_accepted_at = utcnow()
    record("portal.terms_accepted", **portal_actor(user), detail={"terms_version": terms.version})
    db.session.commit()
