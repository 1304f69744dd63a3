"""Portal accounts as the flows make them: organizations with a registrant, 利用規約, and walking the login
like a browser."""

import re
from datetime import timedelta

import sqlalchemy as sa
from flask import Flask, current_app
from flask.testing import FlaskClient

from backoffice.accounts.models import Organization, OrganizationKind, PortalUser, TermsVersion
from backoffice.accounts.users import SESSIONS, UserDetails, create_user
from backoffice.accounts.views import SESSION_KEY
from backoffice.db import utcnow
from backoffice.extensions import db
from backoffice.mail.models import OutboundEmail
from backoffice.mail.outbox import readable
from backoffice.otp.models import OtpChallenge
from tests.builders.web import csrf_token

NEW_PASSWORD = "yuki-no-hi-no-sanpo-2026"


def last_mail_to(address: str) -> OutboundEmail:
    return db.session.scalars(
        sa.select(OutboundEmail)
        .where(OutboundEmail.to_address == address)
        .order_by(OutboundEmail.id.desc())
        .limit(1)
    ).one()


def let_otp_cooldown_pass() -> None:
    """Move every one-time password's last mail back past the cooldown, as if a minute had gone by."""
    for challenge in db.session.scalars(sa.select(OtpChallenge)):
        challenge.last_sent_at -= timedelta(seconds=current_app.config["OTP_RESEND_SECONDS"] + 1)
    db.session.commit()


def initial_password_of(user: PortalUser) -> str:
    match = re.search(r"^初期パスワード：(\S+)$", readable(last_mail_to(user.email))[0], re.M)
    assert match, "no initial password mail"
    return match.group(1)


def otp_of(address: str) -> str:
    match = re.search(r"^(\d{6})$", readable(last_mail_to(address))[0], re.M)
    assert match, "no one-time password mail"
    return match.group(1)


def make_registrant(
    email: str = "registrant@clinic.example.jp",
    office_number: str = "0110113719",
    kind: OrganizationKind = OrganizationKind.MEDICAL,
) -> tuple[PortalUser, str]:
    organization = Organization(kind=kind, name="さくら在宅クリニック", office_number=office_number)
    db.session.add(organization)
    user = create_user(
        organization,
        UserDetails(
            name="佐藤 花子",
            name_kana="サトウ ハナコ",
            email=email,
            phone="0312345678",
            department="事務部",
        ),
        is_registrant=True,
    )
    db.session.commit()
    return user, initial_password_of(user)


def publish_terms(version: str = "2026-04") -> TermsVersion:
    terms = TermsVersion(
        version=version, title="利用規約", body=f"第1条 {version}", published_at=utcnow()
    )
    db.session.add(terms)
    db.session.commit()
    return terms


def submit(client: FlaskClient, url: str, data: dict[str, str], page_url: str | None = None):
    page = client.get(page_url or url)
    return client.post(url, data={"csrf_token": csrf_token(page.text), **data})


def login(client: FlaskClient, email: str, password: str):
    return submit(client, "/login", {"email": email, "password": password})


def enter_otp(client: FlaskClient, code: str):
    return submit(client, "/login/otp", {"code": code})


def full_first_login(client: FlaskClient, user: PortalUser, password: str) -> None:
    """ID + 初期パスワード → ワンタイムパスワード → password change → 利用規約 → マイページ."""
    assert login(client, user.email, password).status_code == 302
    assert enter_otp(client, otp_of(user.email)).headers["Location"] == "/password/change"
    changed = submit(
        client,
        "/password/change",
        {"current": password, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert changed.status_code == 302, changed.text
    if changed.headers["Location"] == "/terms":
        agreed = submit(client, "/terms", {"agree": "y", "decision": "agree"})
        assert agreed.headers["Location"] == "/mypage"


def signed_in_as(app: Flask, user: PortalUser) -> FlaskClient:
    """A client with a server-side session for `user` (as after the one-time password)."""
    client = app.test_client()
    key = SESSIONS.start(user, "127.0.0.1")
    with client.session_transaction() as session:
        session[SESSION_KEY] = key
    return client
