"""Back-office sign-in: password + authenticator code, lockout, sessions, enrolment, the CLI."""

from datetime import timedelta

import pyotp
import pytest
import sqlalchemy as sa

from backoffice.admin.access import SESSION_KEY
from backoffice.audit.models import AuditEvent, Outcome
from backoffice.db import utcnow
from backoffice.operators import operations
from backoffice.operators.models import Operator, OperatorSession, Role
from tests.builders.operators import PASSWORD, current_code, login, make_operator
from tests.builders.web import csrf_token

FAILED = "メールアドレス、パスワードまたは確認コードが正しくありません。"


def test_operator_signs_in_with_password_and_code(client, db) -> None:
    operator = make_operator(Role.AGENT)
    response = login(client, "AGENT@ops.example.jp", PASSWORD, current_code(operator))
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/"
    dashboard = client.get("/admin/")
    assert dashboard.status_code == 200
    assert "ダッシュボード" in dashboard.text
    assert "agent担当（担当者）" in dashboard.text
    events = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "operator.login")
    ).all()
    assert [(e.outcome, e.actor_id) for e in events] == [(Outcome.SUCCESS, operator.id)]


def test_sign_in_returns_to_the_page_asked_for_but_never_off_site(client, db) -> None:
    operator = make_operator(Role.AGENT)
    first = client.get("/admin/tickets/")
    assert first.headers["Location"] == "/admin/login?next=/admin/tickets/"
    page = client.get("/admin/login?next=//evil.example/")
    response = client.post(
        "/admin/login?next=//evil.example/",
        data={
            "csrf_token": csrf_token(page.text),
            "email": operator.email,
            "password": PASSWORD,
            "code": current_code(operator),
        },
    )
    assert response.headers["Location"] == "/admin/"


@pytest.mark.parametrize("case", ["unknown", "password", "code", "disabled"])
def test_every_failure_gets_the_same_answer(client, db, case: str) -> None:
    operator = make_operator(Role.AGENT)
    email, password, code = operator.email, PASSWORD, current_code(operator)
    if case == "unknown":
        email = "nobody@ops.example.jp"
    elif case == "password":
        password = "wrong password entirely"
    elif case == "code":
        code = f"{(int(code) + 1) % 1_000_000:06d}"
    else:
        operator.is_active = False
        db.session.commit()
    response = login(client, email, password, code)
    assert response.status_code == 422
    assert FAILED in response.text
    assert client.get("/admin/").status_code == 302


def test_a_code_is_accepted_only_once(client, db) -> None:
    operator = make_operator(Role.AGENT)
    code = current_code(operator)
    assert login(client, operator.email, PASSWORD, code).status_code == 302
    other = client.application.test_client()
    again = login(other, operator.email, PASSWORD, code)
    assert again.status_code == 422
    assert FAILED in again.text


def test_codes_from_the_neighbouring_steps_only(db, app) -> None:
    operator = make_operator(Role.AGENT)
    now = utcnow()
    totp = pyotp.TOTP(operator.totp_secret)
    with pytest.raises(operations.SignInFailed):
        operations.sign_in(operator.email, PASSWORD, totp.at(now - timedelta(seconds=90)), now=now)
    assert operations.sign_in(
        operator.email, PASSWORD, totp.at(now - timedelta(seconds=30)), now=now
    )
    with pytest.raises(operations.SignInFailed):  # an older code after a newer one was used
        operations.sign_in(operator.email, PASSWORD, totp.at(now - timedelta(seconds=31)), now=now)
    assert operations.sign_in(
        operator.email, PASSWORD, totp.at(now + timedelta(seconds=30)), now=now
    )


def test_lockout_grows_and_answers_like_a_wrong_password(client, db, app) -> None:
    operator = make_operator(Role.AGENT)
    threshold = app.config["OPERATOR_LOCKOUT_THRESHOLD"]
    for _ in range(threshold):
        assert login(client, operator.email, "wrong password entirely", "000000").status_code == 422
    db.session.refresh(operator)
    first_lock = operator.locked_until - utcnow()
    assert timedelta(seconds=50) < first_lock <= timedelta(minutes=1)
    # Even the right password and code are refused while locked, with the same words.
    locked = login(client, operator.email, PASSWORD, current_code(operator))
    assert locked.status_code == 422
    assert FAILED in locked.text
    # The next failure after the lock runs out waits twice as long.
    operator.locked_until = utcnow() - timedelta(seconds=1)
    db.session.commit()
    login(client, operator.email, "wrong password entirely", "000000")
    db.session.refresh(operator)
    assert timedelta(minutes=1) < operator.locked_until - utcnow() <= timedelta(minutes=2)
    actions = db.session.scalars(
        sa.select(AuditEvent.action).where(AuditEvent.action == "operator.locked")
    )
    assert len(list(actions)) == 2


@pytest.mark.parametrize(
    "app_overrides", [{"RATELIMIT_ENABLED": True, "OPERATOR_LOGIN_LIMIT": "3 per minute"}]
)
def test_sign_in_is_limited_per_ip(client, db) -> None:
    statuses = [
        login(client, "x@ops.example.jp", "whatever password", "123456").status_code
        for _ in range(4)
    ]
    assert statuses == [422, 422, 422, 429]


def test_sign_in_starts_a_fresh_session_and_logout_ends_it_on_the_server(client, app, db) -> None:
    operator = make_operator(Role.AGENT)
    with client.session_transaction() as session:
        session["planted"] = "before sign-in"
    login(client, operator.email, PASSWORD, current_code(operator))
    with client.session_transaction() as session:
        assert "planted" not in session
        key = session[SESSION_KEY]
    # A copy of the cookie works until logout...
    thief = app.test_client()
    with thief.session_transaction() as session:
        session[SESSION_KEY] = key
    assert thief.get("/admin/").status_code == 200
    assert client.get("/admin/logout").status_code == 405  # never by GET
    page = client.get("/admin/")
    response = client.post("/admin/logout", data={"csrf_token": csrf_token(page.text)})
    assert response.status_code == 302
    # ...and not after it.
    assert thief.get("/admin/").status_code == 302
    assert client.get("/admin/").status_code == 302
    assert db.session.scalars(sa.select(OperatorSession.revoked_at)).one() is not None


def test_idle_and_absolute_timeouts(signed_in, db, app) -> None:
    client = signed_in(Role.AGENT)
    session_row = db.session.scalars(sa.select(OperatorSession)).one()
    session_row.last_seen_at = utcnow() - timedelta(minutes=29)
    db.session.commit()
    assert client.get("/admin/").status_code == 200  # and that keeps it alive
    db.session.refresh(session_row)
    session_row.last_seen_at = utcnow() - timedelta(minutes=31)
    db.session.commit()
    assert client.get("/admin/").status_code == 302

    client = signed_in(Role.AGENT)
    session_row = db.session.scalars(
        sa.select(OperatorSession).where(OperatorSession.revoked_at.is_(None))
    ).one()
    session_row.created_at = utcnow() - timedelta(hours=12, minutes=1)
    db.session.commit()
    assert client.get("/admin/").status_code == 302


def test_disabling_an_operator_ends_their_sessions(signed_in, db) -> None:
    client = signed_in(Role.AGENT)
    assert client.get("/admin/").status_code == 200
    operator = db.session.get(Operator, client.operator.id)
    operator.is_active = False
    db.session.commit()
    assert client.get("/admin/").status_code == 302


def test_first_enrolment_shows_the_qr_code_after_a_password_check(client, db) -> None:
    operator = make_operator(Role.AGENT)
    page = client.get("/admin/enrol")
    wrong = client.post(
        "/admin/enrol",
        data={
            "csrf_token": csrf_token(page.text),
            "email": operator.email,
            "password": "not the password",
        },
    )
    assert wrong.status_code == 422
    assert operator.totp_secret not in wrong.text
    shown = client.post(
        "/admin/enrol",
        data={"csrf_token": csrf_token(page.text), "email": operator.email, "password": PASSWORD},
    )
    assert shown.status_code == 200
    assert operator.totp_secret in shown.text
    assert 'src="data:image/svg+xml;base64,' in shown.text
    assert shown.headers["Cache-Control"] == "no-store"
    # Once a code has been used, the page shows nothing: re-enrolment is inside the back office.
    login(client, operator.email, PASSWORD, current_code(operator))
    other = client.application.test_client()
    page = other.get("/admin/enrol")
    again = other.post(
        "/admin/enrol",
        data={"csrf_token": csrf_token(page.text), "email": operator.email, "password": PASSWORD},
    )
    assert again.status_code == 422
    assert operator.totp_secret not in again.text


def test_reenrolment_needs_the_password_and_a_code_from_the_new_secret(signed_in, db) -> None:
    client = signed_in(Role.VIEWER)
    old_secret = client.operator.totp_secret
    page = client.get("/admin/account/authenticator")
    wrong = client.post(
        "/admin/account/authenticator",
        data={
            "csrf_token": csrf_token(page.text),
            "stage": "password",
            "password": "nope nope nope",
        },
    )
    assert wrong.status_code == 422
    shown = client.post(
        "/admin/account/authenticator",
        data={"csrf_token": csrf_token(page.text), "stage": "password", "password": PASSWORD},
    )
    operator = db.session.get(Operator, client.operator.id)
    db.session.refresh(operator)
    new_secret = operator.totp_pending_secret
    assert new_secret
    assert new_secret in shown.text
    bad = client.post(
        "/admin/account/authenticator",
        data={
            "csrf_token": csrf_token(page.text),
            "stage": "confirm",
            "code": pyotp.TOTP(old_secret).now(),
        },
    )
    assert bad.status_code == 422
    good = client.post(
        "/admin/account/authenticator",
        data={
            "csrf_token": csrf_token(page.text),
            "stage": "confirm",
            "code": pyotp.TOTP(new_secret).now(),
        },
    )
    assert good.status_code == 302
    db.session.refresh(operator)
    assert operator.totp_secret == new_secret
    assert operator.totp_pending_secret is None


def test_cli_creates_an_operator_from_piped_password_and_prints_the_uri(runner, db) -> None:
    result = runner.invoke(
        args=["operators", "create", "Tanaka@Ops.example.jp", "--role", "viewer", "--name", "田中"],
        input="a long enough passphrase\n",
    )
    assert result.exit_code == 0, result.output
    assert "otpauth://totp/" in result.output
    operator = db.session.scalars(sa.select(Operator)).one()
    assert (operator.email, operator.role, operator.name) == (
        "tanaka@ops.example.jp",
        Role.VIEWER,
        "田中",
    )
    assert f"secret={operator.totp_secret}" in result.output
    assert "a long enough passphrase" not in operator.password_hash
    assert operator.password_hash.startswith("$argon2id$")

    again = runner.invoke(
        args=["operators", "create", "tanaka@ops.example.jp", "--role", "admin"],
        input="another long passphrase\n",
    )
    assert again.exit_code != 0
    assert "already exists" in again.output
    weak = runner.invoke(
        args=["operators", "create", "sato@ops.example.jp", "--role", "admin"], input="short\n"
    )
    assert weak.exit_code != 0
    assert "12文字以上" in weak.output
