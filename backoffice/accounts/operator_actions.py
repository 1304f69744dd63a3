"""The back office's actions on organizations, portal users and 利用規約. Each function commits its own
transaction with one audit event per record it changes."""

from collections.abc import Iterable
from datetime import timedelta

import sqlalchemy as sa

from backoffice.accounts.errors import AccountError
from backoffice.accounts.members import claim_a_place
from backoffice.accounts.models import Organization, PortalUser, TermsVersion
from backoffice.accounts.users import SESSIONS, queue_user_disabled, set_initial_password
from backoffice.audit.operations import record
from backoffice.db import utcnow
from backoffice.extensions import db

# A lock set by an operator lasts until an operator lifts it.
OPERATOR_LOCK = timedelta(days=365 * 100)


def operator_reissue_initial_password(user: PortalUser, actor: dict[str, object]) -> None:
    """A new initial password (72 h) for a user who has not set their own yet, e.g. after it expired.
    Commits. Raises AccountError when the user has already chosen a password."""
    if not user.must_change_password:
        raise AccountError(f"{user.email} はすでにパスワードを設定しています。")
    set_initial_password(user)
    record(
        "portal.initial_password_reissued", **actor, target_type="portal_user", target_id=user.id
    )
    db.session.commit()


def operator_set_user_state(
    user: PortalUser,
    actor: dict[str, object],
    *,
    locked: bool | None = None,
    active: bool | None = None,
) -> None:
    """Lock/unlock or disable/enable a user; locking or disabling ends their sessions at once, and
    disabling an active user tells them and their organization's registrant. Enabling an added user
    takes a place under the same race-safe rule as ユーザ新規登録. Commits. Raises UserLimitReached
    (nothing is changed then)."""
    if active and not user.is_active and not user.is_registrant:
        claim_a_place(user.organization_id)
    if locked is not None:
        user.locked_until = utcnow() + OPERATOR_LOCK if locked else None
        user.locked_by_operator = locked
        user.failed_attempts = 0
        record(
            "portal.user_locked" if locked else "portal.user_unlocked",
            **actor,
            target_type="portal_user",
            target_id=user.id,
        )
    if active is not None:
        if user.is_active and not active:
            queue_user_disabled(user, utcnow(), by_operator=True)
        user.is_active = active
        if active is False and not user.is_registrant:
            user.organization.users_version += (
                1  # a place is freed: concurrent adds see it in order
            )
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


def publish_terms(terms_ids: Iterable[int], actor: dict[str, object]) -> int:
    """Publish the chosen 利用規約 drafts (already published ones stay as they are): every user
    consents again at their next request. Commits. Returns how many were published."""
    published = 0
    for terms in db.session.scalars(sa.select(TermsVersion).where(TermsVersion.id.in_(terms_ids))):
        if terms.published_at is None:
            terms.published_at = utcnow()
            record(
                "terms.published",
                **actor,
                target_type="terms",
                target_id=terms.id,
                detail={"version": terms.version},
            )
            published += 1
    db.session.commit()
    return published
