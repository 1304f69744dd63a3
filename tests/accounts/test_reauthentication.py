"""Identity rule 32's re-authentication: adding or disabling a user on マイページ needs the registrant's
password proven within PORTAL_REAUTH_MINUTES, by the login itself or by entering it again; each
session proves it for itself (accounts/reauth.py)."""

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine

from backoffice.accounts.models import PortalUser
from backoffice.audit.models import AuditEvent
from tests.builders.accounts import (
    NEW_PASSWORD,
    enter_otp,
    full_first_login,
    initial_password_of,
    let_otp_cooldown_pass,
    login,
    otp_of,
    submit,
)

ASKED = "＊安全のため、現在のパスワードをもう一度入力してください。"
WRONG = "＊現在のパスワードが正しくありません。"
PASSWORD_FIELD = 'name="password"'


def staff_input(n: int) -> dict[str, str]:
    return {
        "name": f"職員 {n}",
        "name_kana": "ショクイン",
        "email": f"staff{n}@clinic.example.jp",
        "email_confirm": f"staff{n}@clinic.example.jp",
        "phone": "03-1234-5678",
        "department": "看護部",
    }


def users_named(db, email: str) -> list[PortalUser]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(PortalUser).where(PortalUser.email == email)))


def later(minutes: int):
    return time_machine.travel(datetime.now(UTC) + timedelta(minutes=minutes), tick=True)


@pytest.fixture
def signed_in(app, registrant, db):
    user, password = registrant
    client = app.test_client()
    full_first_login(client, user, password)
    return user, client


def test_right_after_the_login_adding_a_user_asks_for_no_password(signed_in, db) -> None:
    _, client = signed_in
    assert PASSWORD_FIELD not in client.get("/mypage/users/new").text
    assert submit(client, "/mypage/users/new", staff_input(1)).status_code == 302
    assert len(users_named(db, "staff1@clinic.example.jp")) == 1


def test_an_old_session_must_enter_the_password_to_add_a_user_and_keeps_the_input(
    signed_in, db
) -> None:
    user, client = signed_in
    with later(16):
        page = client.get("/mypage/users/new")
        assert PASSWORD_FIELD in page.text
        assert "現在のパスワード" in page.text

        missing = submit(client, "/mypage/users/new", staff_input(1))
        assert missing.status_code == 422
        assert ASKED in missing.text
        assert 'value="staff1@clinic.example.jp"' in missing.text  # what was typed is kept
        assert users_named(db, "staff1@clinic.example.jp") == []

        wrong = submit(client, "/mypage/users/new", {**staff_input(1), "password": "not-it"})
        assert wrong.status_code == 422
        assert WRONG in wrong.text
        assert 'value="職員 1"' in wrong.text
        assert users_named(db, "staff1@clinic.example.jp") == []
        db.session.refresh(user)
        assert user.failed_attempts == 1  # a guess counts toward the lockout

        right = submit(client, "/mypage/users/new", {**staff_input(1), "password": NEW_PASSWORD})
        assert right.status_code == 302, right.text
        assert len(users_named(db, "staff1@clinic.example.jp")) == 1

        # Proven again: for the next minutes this session adds without asking.
        assert PASSWORD_FIELD not in client.get("/mypage/users/new").text
        assert submit(client, "/mypage/users/new", staff_input(2)).status_code == 302
    actions = list(db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)))
    assert actions.count("portal.reauthenticated") == 1


def test_an_old_session_must_enter_the_password_to_disable_a_user(app, signed_in, db) -> None:
    _, client = signed_in
    submit(client, "/mypage/users/new", staff_input(1))
    [staff] = users_named(db, "staff1@clinic.example.jp")
    staff_client = app.test_client()
    full_first_login(staff_client, staff, initial_password_of(staff))
    with later(16):
        pressed = submit(client, f"/mypage/users/{staff.id}/disable", {}, page_url="/mypage")
        assert pressed.status_code == 302
        assert pressed.headers["Location"] == f"/mypage/users/{staff.id}/disable"
        asked = client.get(pressed.headers["Location"])
        assert PASSWORD_FIELD in asked.text
        assert "職員 1さん" in asked.text
        assert users_named(db, staff.email)[0].is_active

        page = f"/mypage/users/{staff.id}/disable"
        empty = submit(client, page, {"password": ""})
        assert empty.status_code == 422
        assert ASKED in empty.text
        wrong = submit(client, page, {"password": "not-it"})
        assert wrong.status_code == 422
        assert WRONG in wrong.text
        assert users_named(db, staff.email)[0].is_active
        assert staff_client.get("/mypage").status_code == 200

        done = submit(client, page, {"password": NEW_PASSWORD})
        assert done.headers["Location"] == "/mypage"
        assert not users_named(db, staff.email)[0].is_active
        assert staff_client.get("/mypage").headers["Location"] == "/login"


def test_each_session_proves_the_password_for_itself(app, signed_in, db) -> None:
    user, client = signed_in
    other = app.test_client()  # the same registrant in a second browser, signed in at the same time
    let_otp_cooldown_pass()
    assert login(other, user.email, NEW_PASSWORD).status_code == 302
    assert enter_otp(other, otp_of(user.email)).headers["Location"] == "/mypage"
    with later(16):
        submit(client, "/mypage/users/new", {**staff_input(1), "password": NEW_PASSWORD})
        assert len(users_named(db, "staff1@clinic.example.jp")) == 1
        refused = submit(other, "/mypage/users/new", staff_input(2))
        assert refused.status_code == 422
        assert ASKED in refused.text
        assert users_named(db, "staff2@clinic.example.jp") == []


def test_the_window_is_a_setting(app, signed_in, db) -> None:
    _, client = signed_in
    app.config["PORTAL_REAUTH_MINUTES"] = 30
    with later(16):
        assert submit(client, "/mypage/users/new", staff_input(1)).status_code == 302


def test_wrong_passwords_here_lock_the_account_like_at_the_login(signed_in, db) -> None:
    user, client = signed_in
    with later(16):
        for _ in range(5):
            submit(client, "/mypage/users/new", {**staff_input(1), "password": "not-it"})
        db.session.refresh(user)
        assert user.locked_until is not None
        assert user.failed_attempts == 5
        right = submit(client, "/mypage/users/new", {**staff_input(1), "password": NEW_PASSWORD})
        assert right.status_code == 422  # while locked, not even the right password passes
        assert "しばらく確認できません" in right.text
    assert users_named(db, "staff1@clinic.example.jp") == []
