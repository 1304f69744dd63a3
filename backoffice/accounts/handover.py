"""登録者の引き継ぎ: the registrant passes the role to another user of the organization, so that an office
whose registrant leaves can still add and disable users.

The registrant chooses a successor among the organization's active users who have finished their first
login (a user still on an initial password has not yet shown that the mailbox is theirs), proves the
session as for adding a user (accounts/reauth.py), and confirms with a one-time password sent to their
own address. The two flags change in one transaction under the organization's row lock, and both people
are told. The number of users does not change: the registrant becomes an added user in the place the
successor leaves.
"""

from backoffice.accounts.errors import AccountError
from backoffice.accounts.members import lock_users
from backoffice.accounts.models import PortalUser
from backoffice.accounts.users import portal_actor
from backoffice.audit.operations import record
from backoffice.db import utcnow
from backoffice.extensions import db
from backoffice.mail import outbox
from backoffice.otp import operations as otp
from backoffice.otp.models import Purpose
from backoffice.urls import external_url


class NotRegistrant(AccountError):
    def __init__(self) -> None:
        super().__init__("登録者を引き継げるのは、登録者の方だけです。")


class NoSuchSuccessor(AccountError):
    field = "successor"

    def __init__(self) -> None:
        super().__init__("＊引き継ぐユーザを、一覧から選んでください。")


def can_succeed(user: PortalUser) -> bool:
    """Active, past the first login (their own password and the 利用規約), and not locked."""
    return (
        user.is_active
        and not user.is_registrant
        and user.first_login_at is not None
        and not user.must_change_password
        and user.terms_accepted_at is not None
        and not user.locked_by_operator
        and not (user.locked_until and user.locked_until > utcnow())
    )


def successors(registrant: PortalUser) -> list[PortalUser]:
    """Whom the registrant can hand the role to, in the order of マイページ's list."""
    return [u for u in registrant.organization.users if can_succeed(u)]


def _successor(registrant: PortalUser, successor_id: int | None) -> PortalUser:
    if not registrant.is_registrant:
        raise NotRegistrant
    user = db.session.get(PortalUser, successor_id) if successor_id else None
    if user is None or user.organization_id != registrant.organization_id or not can_succeed(user):
        raise NoSuchSuccessor
    return user


def begin(registrant: PortalUser, successor_id: int | None, *, current: str | None) -> otp.Issued:
    """Send the registrant a one-time password that confirms the hand-over to `successor_id`. The
    caller has checked the session's recent authentication. Commits. Raises NotRegistrant or
    NoSuchSuccessor (field `successor`)."""
    successor = _successor(registrant, successor_id)
    issued = otp.issue(
        Purpose.HANDOVER, registrant.email, portal_user_id=registrant.id, current=current
    )
    if issued.notice is None:
        record(
            "portal.otp_sent",
            **portal_actor(registrant),
            target_type="portal_user",
            target_id=successor.id,
            detail={"purpose": "handover"},
        )
    db.session.commit()
    return issued


def finish(
    registrant: PortalUser, binding: str | None, successor_id: int | None, code: str
) -> PortalUser:
    """The one-time password confirms it: `successor_id` becomes the registrant and `registrant` an
    added user, both are mailed, in one transaction. Taking the organization's row lock first makes a
    second submit (or a hand-over from another browser) wait and then find the role gone. Commits.
    Raises otp.OtpError, NotRegistrant or NoSuchSuccessor; nothing changes then."""
    challenge = otp.find(binding, Purpose.HANDOVER)
    if challenge is None or challenge.portal_user_id != registrant.id:
        raise otp.OtpUnavailable
    lock_users(registrant.organization_id)
    db.session.refresh(registrant)
    try:
        successor = _successor(registrant, successor_id)
        db.session.refresh(successor)
        if not can_succeed(successor):
            raise NoSuchSuccessor
    except AccountError:
        db.session.rollback()
        raise
    otp.verify(binding, Purpose.HANDOVER, code)
    registrant.is_registrant = False
    successor.is_registrant = True
    now = utcnow()
    context = {
        "previous": registrant,
        "successor": successor,
        "organization": registrant.organization,
        "handed_over_at": now,
        "mypage_url": external_url("portal.mypage"),
        "inquiry_url": external_url("inquiries.form"),
    }
    outbox.enqueue("registrant_handed_over", registrant.email, context)
    outbox.enqueue("registrant_received", successor.email, context)
    record(
        "portal.registrant_handed_over",
        **portal_actor(registrant),
        target_type="portal_user",
        target_id=successor.id,
    )
    db.session.commit()
    return successor
