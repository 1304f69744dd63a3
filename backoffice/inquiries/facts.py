"""The facts behind a ticket (the panel on the ticket page, for 管理者 and 担当者): the mails the product
sent to the requester, the portal accounts and organizations the ticket names, the e-claims
directory's entry for a KJ ID or 事業所番号 it mentions, and the requester's other tickets.

A ticket names an organization by its requester's email (a portal user's ID), an ID request's
医療機関コード, or a KJ ID or 10-digit number written in its body or messages. Read only: every action
the panel offers is an existing one (mail.outbox.resend, the portal users' actions).
"""

import re
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa

from backoffice.accounts import checklist
from backoffice.accounts.first_login import needs_consent
from backoffice.accounts.models import Organization, PortalUser
from backoffice.db import utcnow
from backoffice.eclaims.directory import DirectoryEntry, directory
from backoffice.extensions import db
from backoffice.inquiries.models import Inquiry
from backoffice.mail.models import EmailStatus, OutboundEmail
from backoffice.normalize import nfkc

MAILS_SHOWN = 20
OTHER_TICKETS_SHOWN = 10
# At most this many numbers and IDs are taken from a ticket's text (a pasted list is not a lookup).
KEYS_TAKEN = 3
_ECLAIMS_ID = re.compile(r"KJ[0-9A-Z]{12}")
_NUMBER = re.compile(r"(?<![0-9A-Z])\d{2}[0-9A-HJ-NPR-Z]\d{7}(?![0-9])")

MAIL_STATES = {
    EmailStatus.QUEUED: "送信待ち",
    EmailStatus.SENT: "送信済み",
    EmailStatus.FAILED: "送信失敗",
    EmailStatus.BOUNCED: "不達（宛先から戻りました）",
}


@dataclass(frozen=True)
class MailFact:
    email: OutboundEmail
    address: str  # masked when it is a directory's security email

    @property
    def state(self) -> str:
        if self.email.status is EmailStatus.QUEUED and self.email.attempts:
            return "再送信待ち（前回失敗）"
        return MAIL_STATES[self.email.status]

    @property
    def answer(self) -> str | None:
        """What the receiving side said: the SMTP answer of a failed attempt, or the bounce."""
        if self.email.status is EmailStatus.BOUNCED:
            return self.email.bounce_detail
        return self.email.last_error

    @property
    def body_kept(self) -> bool:
        """A mail without a secret keeps its body and may be sent again; one with a secret does not."""
        return not self.email.contains_secret

    @property
    def instead(self) -> str:
        """For a mail with a secret: how the person gets a new one instead of this mail again."""
        kind = self.email.kind or ""
        if kind == "otp":
            return (
                "ワンタイムパスワードは、ログイン（初回利用登録は最初の画面）をやり直すと"
                "新しいものが届きます。"
            )
        if kind == "initial_password":
            return "初期パスワードは、下の「初期パスワードを再発行」で新しいものを送れます。"
        if self.email.inquiry_id is not None:
            return "確認ページのURLは、「URLを再発行して送る」で新しいものを送れます。"
        return "パスワードなどを含むため、送信後は本文を保存していません。"

    @property
    def resendable(self) -> bool:
        return self.body_kept and self.email.status is not EmailStatus.QUEUED


@dataclass(frozen=True)
class AccountFact:
    user: PortalUser
    locked_until: datetime | None
    locked_by_operator: bool
    initial_expired: bool
    consented: bool

    @property
    def stuck_on(self) -> str:
        """The first-login step the user has not passed (docs/flows.md), or that all are done."""
        user = self.user
        if not user.is_active or not user.organization.is_active:
            return "無効のため、ログインできません"
        if self.locked_by_operator or self.locked_until:
            return "ロック中のため、ログインできません"
        if user.first_login_at is None:
            if self.initial_expired:
                return "初期パスワードの有効期限切れ（再発行が必要です）"
            return "ログイン・ワンタイムパスワード認証"
        if user.must_change_password:
            return "パスワード変更"
        if not self.consented:
            return "利用規約への同意"
        return "完了（マイページを利用できます）"


@dataclass(frozen=True)
class OrganizationFact:
    organization: Organization
    steps: list[checklist.Step]


@dataclass(frozen=True)
class DirectoryFact:
    key: str
    entry: DirectoryEntry | None

    @property
    def masked_email(self) -> str | None:
        email = self.entry.security_email if self.entry else None
        return mask(email) if email else None


@dataclass
class Facts:
    mails: list[MailFact] = field(default_factory=list)
    accounts: list[AccountFact] = field(default_factory=list)
    organizations: list[OrganizationFact] = field(default_factory=list)
    # None: the directory adapter cannot be queried (照会できません).
    directory: list[DirectoryFact] | None = None
    directory_keys: list[str] = field(default_factory=list)
    other_tickets: list[Inquiry] = field(default_factory=list)
    other_tickets_more: bool = False


def mentioned_keys(inquiry: Inquiry) -> list[str]:
    """KJ IDs and 事業所番号・医療機関コード written in the ticket's body or messages, first ones first."""
    text = nfkc(f"{inquiry.body}\n{inquiry.messages_text}").upper()
    found = [m.group(0) for m in _ECLAIMS_ID.finditer(text)]
    found += [m.group(0) for m in _NUMBER.finditer(text)]
    return list(dict.fromkeys(found))[:KEYS_TAKEN]


def of_ticket(inquiry: Inquiry, *, extra_key: str | None = None) -> Facts:
    """The facts of `inquiry`; `extra_key`: a KJ ID or number the operator typed to look up too."""
    facts = Facts()
    keys = mentioned_keys(inquiry)
    if extra_key and extra_key not in keys:
        keys.insert(0, extra_key)
    numbers = [k for k in keys if not k.startswith("KJ")]
    if inquiry.account_request is not None:
        numbers.insert(0, inquiry.account_request.medical_code)
    eclaims_ids = [k for k in keys if k.startswith("KJ")]

    facts.directory_keys = keys
    look_up = getattr(directory, "look_up", None)
    if look_up is not None:
        facts.directory = [DirectoryFact(key, look_up(key)) for key in keys]

    users: list[PortalUser] = []
    if inquiry.email:
        users += db.session.scalars(
            sa.select(PortalUser).where(PortalUser.email == inquiry.email.lower())
        )
    organization_clauses = [
        Organization.id.in_([u.organization_id for u in users]),
        Organization.office_number.in_(numbers),
        Organization.eclaims_id.in_(eclaims_ids),
    ]
    organizations = db.session.scalars(
        sa.select(Organization).where(sa.or_(*organization_clauses)).order_by(Organization.id)
    ).all()
    facts.organizations = [OrganizationFact(o, checklist.checklist(o)) for o in organizations]
    seen = {u.id for u in users}
    for organization in organizations:
        users += [u for u in organization.users if u.id not in seen]
        seen |= {u.id for u in organization.users}
    now = utcnow()
    facts.accounts = [
        AccountFact(
            user=u,
            locked_until=u.locked_until if u.locked_until and u.locked_until > now else None,
            locked_by_operator=u.locked_by_operator,
            initial_expired=u.must_change_password
            and u.initial_password_expires_at is not None
            and u.initial_password_expires_at <= now,
            consented=not needs_consent(u),
        )
        for u in users
    ]

    addresses = {u.email for u in users}
    if inquiry.email:
        addresses.add(inquiry.email)
    security = {
        f.entry.security_email: mask(f.entry.security_email)
        for f in facts.directory or []
        if f.entry is not None and f.entry.security_email
    }
    addresses |= set(security)
    mails = db.session.scalars(
        sa.select(OutboundEmail)
        .where(
            sa.or_(OutboundEmail.to_address.in_(addresses), OutboundEmail.inquiry_id == inquiry.id)
        )
        .order_by(OutboundEmail.created_at.desc(), OutboundEmail.id.desc())
        .limit(MAILS_SHOWN)
    )
    facts.mails = [MailFact(m, security.get(m.to_address, m.to_address)) for m in mails]

    if inquiry.email:
        others = db.session.scalars(
            sa.select(Inquiry)
            .where(Inquiry.email == inquiry.email, Inquiry.id != inquiry.id)
            .order_by(Inquiry.created_at.desc(), Inquiry.id.desc())
            .limit(OTHER_TICKETS_SHOWN + 1)
        ).all()
        facts.other_tickets = list(others[:OTHER_TICKETS_SHOWN])
        facts.other_tickets_more = len(others) > OTHER_TICKETS_SHOWN
    return facts


def mask(address: str) -> str:
    """「t***@e***.jp」: enough to tell two addresses apart on the phone, not to write one to."""
    local, _, domain = address.partition("@")
    host, _, tld = domain.rpartition(".")
    return f"{local[:1]}***@{host[:1]}***.{tld}" if host else f"{local[:1]}***@***"
