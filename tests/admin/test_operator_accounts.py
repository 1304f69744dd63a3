"""Operators' own accounts: the password change, and the enrolment links an admin's invite or reset mails
(they work once and expire; the admin never sees a secret)."""

import re
from datetime import UTC, datetime, timedelta

import pyotp
import sqlalchemy as sa
import time_machine

from backoffice.admin.access import SESSION_KEY
from backoffice.audit.models import AuditEvent
from backoffice.mail.models import OutboundEmail
from backoffice.mail.outbox import readable
from backoffice.operators.models import Operator, OperatorSession, Role
from tests.builders.accounts import last_mail_to
from tests.builders.operators import PASSWORD, current_code, login, make_operator
from tests.builders.web import csrf_token

NEW = "fuyu-no-yoru-no-hoshizora-2027"


def code_at(secret: str, seconds: int = 0) -> str:
    """The authenticator's code `seconds` from now (a later step than one already used)."""
    return pyotp.TOTP(secret).at(datetime.now(UTC) + timedelta(seconds=seconds))


def post(client, url: str, data: dict[str, str]):
    page = client.get(url)
    return client.post(url, data={"csrf_token": csrf_token(page.text), **data})


def link_in(address: str) -> str:
    email = last_mail_to(address)
    assert email.contains_secret  # the link is sealed in the outbox like any bearer link
    match = re.search(r"http://localhost(/admin/enrolment/\S+)", readable(email)[0])
    assert match, "no enrolment link"
    return match.group(1)


def sessions_of(db, operator: Operator) -> int:
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(OperatorSession)
        .where(OperatorSession.operator_id == operator.id, OperatorSession.revoked_at.is_(None))
    )


def test_an_operator_changes_their_password_with_the_current_one_and_a_code(
    app, signed_in, db
) -> None:
    client = signed_in(Role.AGENT)
    operator = client.operator
    other = signed_in(Role.VIEWER)  # unrelated
    elsewhere = app.test_client()
    login(elsewhere, operator.email, PASSWORD, current_code(operator))
    assert elsewhere.get("/admin/").status_code == 200
    with client.session_transaction() as session:
        old_key = session[SESSION_KEY]

    wrong = post(
        client,
        "/admin/account/password",
        {
            "current": "not it",
            "code": code_at(operator.totp_secret, 30),
            "new": NEW,
            "confirm": NEW,
        },
    )
    assert wrong.status_code == 422
    assert "＊現在のパスワードが正しくありません。" in wrong.text
    no_code = post(
        client,
        "/admin/account/password",
        {"current": PASSWORD, "code": "000000", "new": NEW, "confirm": NEW},
    )
    assert "＊確認コードが正しくありません。" in no_code.text
    done = post(
        client,
        "/admin/account/password",
        {
            "current": PASSWORD,
            "code": code_at(operator.totp_secret, 30),
            "new": NEW,
            "confirm": NEW,
        },
    )
    assert done.headers["Location"] == "/admin/"
    # This browser goes on with a new session key; every other session of the operator has ended.
    with client.session_transaction() as session:
        assert session[SESSION_KEY] != old_key
    assert client.get("/admin/").status_code == 200
    stale = app.test_client()
    with stale.session_transaction() as session:
        session[SESSION_KEY] = old_key
    assert stale.get("/admin/").status_code == 302
    assert elsewhere.get("/admin/").status_code == 302
    assert other.get("/admin/").status_code == 200
    notice = last_mail_to(operator.email)
    assert notice.subject == "【介護情報基盤ポータル 運営管理画面】パスワードが変更されました"
    assert NEW not in notice.body_text + notice.body_html
    assert not notice.contains_secret


def test_an_invited_operator_sets_password_and_authenticator_from_the_link_once(
    app, signed_in, db
) -> None:
    admin = signed_in(Role.ADMIN)
    page = admin.get("/admin/operators/invite/")
    assert page.status_code == 200
    sent = admin.post(
        "/admin/operators/invite/",
        data={
            "csrf_token": csrf_token(page.text),
            "email": "New.Agent@ops.example.jp",
            "name": "新任 担当",
            "role": "agent",
        },
    )
    assert sent.headers["Location"] == "/admin/operators/"
    invited = db.session.scalars(
        sa.select(Operator).where(Operator.email == "new.agent@ops.example.jp")
    ).one()
    listing = admin.get("/admin/operators/").text
    assert invited.totp_secret not in listing
    assert "new.agent@ops.example.jp に招待のメールを送りました。" in listing
    link = link_in(invited.email)
    assert "/admin/enrolment/" not in listing

    visitor = app.test_client()
    shown = visitor.get(link)
    assert shown.status_code == 200
    assert shown.headers["Cache-Control"] == "no-store"
    assert invited.totp_secret in shown.text  # the QR code's key, to the link's holder only
    weak = post(visitor, link, {"new": "short", "confirm": "short", "code": "000000"})
    assert "12文字以上" in weak.text
    done = post(visitor, link, {"new": NEW, "confirm": NEW, "code": code_at(invited.totp_secret)})
    assert done.headers["Location"] == "/admin/login"
    assert visitor.get(link).status_code == 404  # once only
    signed = login(app.test_client(), invited.email, NEW, code_at(invited.totp_secret, 30))
    assert signed.status_code == 302
    actions = set(db.session.scalars(sa.select(AuditEvent.action)))
    assert {"operators.invited", "operator.enrolled"} <= actions


def test_only_admins_invite(signed_in) -> None:
    agent = signed_in(Role.AGENT)
    assert agent.get("/admin/operators/invite/").status_code == 403


def test_an_admins_password_reset_mails_a_link_that_needs_the_authenticator(
    app, signed_in, db
) -> None:
    admin = signed_in(Role.ADMIN)
    operator = make_operator(Role.AGENT, email="forgot@ops.example.jp")
    elsewhere = app.test_client()
    login(elsewhere, operator.email, PASSWORD, current_code(operator))
    token = csrf_token(admin.get("/admin/operators/").text)
    admin.post(
        "/admin/operators/action/",
        data={"csrf_token": token, "action": "reset_password", "rowid": operator.id},
    )
    assert elsewhere.get("/admin/").status_code == 302  # its sessions ended
    old = login(app.test_client(), operator.email, PASSWORD, code_at(operator.totp_secret, 30))
    assert old.status_code == 422  # the old password stopped working at once
    db.session.refresh(operator)
    assert sessions_of(db, operator) == 0
    link = link_in(operator.email)
    page = app.test_client().get(link).text
    assert operator.totp_secret not in page  # the authenticator stays: no QR code
    visitor = app.test_client()
    wrong = post(visitor, link, {"new": NEW, "confirm": NEW, "code": "000000"})
    assert "＊確認コードが正しくありません。" in wrong.text
    done = post(
        visitor, link, {"new": NEW, "confirm": NEW, "code": code_at(operator.totp_secret, 30)}
    )
    assert done.headers["Location"] == "/admin/login"
    with time_machine.travel(datetime.now(UTC) + timedelta(seconds=60)):
        signed = login(app.test_client(), operator.email, NEW, current_code(operator))
        assert signed.status_code == 302


def test_an_authenticator_reset_link_needs_the_password_and_a_new_code(app, signed_in, db) -> None:
    admin = signed_in(Role.ADMIN)
    operator = make_operator(Role.AGENT, email="lostphone@ops.example.jp")
    old_secret = operator.totp_secret
    token = csrf_token(admin.get("/admin/operators/").text)
    admin.post(
        "/admin/operators/action/",
        data={"csrf_token": token, "action": "reset_authenticator", "rowid": operator.id},
    )
    db.session.refresh(operator)
    assert operator.totp_secret != old_secret
    link = link_in(operator.email)
    visitor = app.test_client()
    assert operator.totp_secret in visitor.get(link).text
    wrong = post(visitor, link, {"current": "not it", "code": code_at(operator.totp_secret)})
    assert "＊現在のパスワードが正しくありません。" in wrong.text
    done = post(visitor, link, {"current": PASSWORD, "code": code_at(operator.totp_secret)})
    assert done.headers["Location"] == "/admin/login"
    db.session.refresh(operator)
    assert operator.totp_confirmed_at is not None


def test_a_link_expires_and_a_newer_one_voids_it(app, signed_in, db) -> None:
    admin = signed_in(Role.ADMIN)
    operator = make_operator(Role.AGENT, email="twice@ops.example.jp")
    token = csrf_token(admin.get("/admin/operators/").text)
    reset = {"csrf_token": token, "action": "reset_password", "rowid": operator.id}
    admin.post("/admin/operators/action/", data=reset)
    first = link_in(operator.email)
    admin.post("/admin/operators/action/", data=reset)
    second = link_in(operator.email)
    assert app.test_client().get(first).status_code == 404
    assert "このリンクは使えません" in app.test_client().get(first).text
    assert app.test_client().get(second).status_code == 200
    hours = app.config["OPERATOR_ENROLMENT_HOURS"]
    with time_machine.travel(datetime.now(UTC) + timedelta(hours=hours, seconds=1)):
        assert app.test_client().get(second).status_code == 404
    mails = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(OutboundEmail)
        .where(OutboundEmail.to_address == operator.email)
    )
    assert mails == 2


def test_password_alone_enrolment_expires_and_never_follows_a_reset(app, db) -> None:
    fresh = make_operator(Role.AGENT, email="fresh@ops.example.jp")
    hours = app.config["OPERATOR_ENROLMENT_HOURS"]
    enrol = {"email": fresh.email, "password": PASSWORD}
    assert fresh.totp_secret in post(app.test_client(), "/admin/enrol", enrol).text
    with time_machine.travel(datetime.now(UTC) + timedelta(hours=hours, seconds=1)):
        late = post(app.test_client(), "/admin/enrol", enrol)
        assert late.status_code == 422
        assert fresh.totp_secret not in late.text
