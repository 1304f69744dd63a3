"""パスワードを忘れた方: a one-time password to the registered address, the same answer for any address."""

import sqlalchemy as sa

from backoffice.accounts.models import PortalUser
from backoffice.mail.models import OutboundEmail
from tests.builders.accounts import full_first_login, login, otp_of, signed_in_as, submit

NEW = "natsu-no-umi-to-yama-2027"


def ask(client, email: str):
    return submit(client, "/password/forgot", {"email": email})


def test_reset_with_the_one_time_password_ends_other_sessions(app, registrant, db) -> None:
    user, password = registrant
    full_first_login(app.test_client(), user, password)
    elsewhere = signed_in_as(app, user)
    assert elsewhere.get("/mypage").status_code == 200
    client = app.test_client()
    assert ask(client, user.email).headers["Location"] == "/password/reset"
    response = submit(
        client, "/password/reset", {"code": otp_of(user.email), "new": NEW, "confirm": NEW}
    )
    assert response.headers["Location"] == "/login"
    assert elsewhere.get("/mypage").headers["Location"] == "/login"
    assert login(app.test_client(), user.email, NEW).status_code == 302


def test_unknown_address_gets_the_same_answer_and_no_mail(app, registrant, db) -> None:
    user, _ = registrant
    known, unknown = app.test_client(), app.test_client()
    mails_before = db.session.scalar(sa.select(sa.func.count()).select_from(OutboundEmail))
    a = ask(known, user.email)
    b = ask(unknown, "nobody@clinic.example.jp")
    assert (a.status_code, a.headers["Location"]) == (b.status_code, b.headers["Location"])
    page_a, page_b = known.get("/password/reset").text, unknown.get("/password/reset").text
    strip = lambda html: html.split('name="csrf_token"')[0]  # noqa: E731 (the token differs)
    assert strip(page_a) == strip(page_b)
    assert (
        db.session.scalar(sa.select(sa.func.count()).select_from(OutboundEmail)) == mails_before + 1
    )
    wrong_a = submit(known, "/password/reset", {"code": "000001", "new": NEW, "confirm": NEW})
    wrong_b = submit(unknown, "/password/reset", {"code": "000001", "new": NEW, "confirm": NEW})
    assert wrong_a.status_code == wrong_b.status_code == 422
    assert "あと4回間違えると" in wrong_a.text
    assert "あと4回間違えると" in wrong_b.text
    weak_a = submit(
        known, "/password/reset", {"code": "000001", "new": "short", "confirm": "short"}
    )
    weak_b = submit(
        unknown, "/password/reset", {"code": "000001", "new": "short", "confirm": "short"}
    )
    assert "12文字以上" in weak_a.text
    assert "12文字以上" in weak_b.text


def test_reset_follows_the_policy_and_needs_the_right_code(app, registrant, db) -> None:
    user, password = registrant
    client = app.test_client()
    ask(client, user.email)
    code = otp_of(user.email)
    common = submit(
        client, "/password/reset", {"code": code, "new": "password1234", "confirm": "password1234"}
    )
    assert "よく使われていて推測されやすい" in common.text
    mine = submit(
        client,
        "/password/reset",
        {"code": code, "new": "registrant-password", "confirm": "registrant-password"},
    )
    assert "ご自身の情報を含めないでください" in mine.text
    db.session.refresh(user)
    assert user.must_change_password  # nothing changed yet
    done = submit(client, "/password/reset", {"code": code, "new": NEW, "confirm": NEW})
    assert done.status_code == 302
    db.session.refresh(user)
    assert not user.must_change_password
    assert db.session.get(PortalUser, user.id).password_hash.startswith("$argon2id$")
    assert "正しくありません" in login(app.test_client(), user.email, password).text


def test_reset_page_needs_the_first_step(client) -> None:
    assert client.get("/password/reset").headers["Location"] == "/password/forgot"


def _reset(app, user: PortalUser):
    client = app.test_client()
    ask(client, user.email)
    return submit(
        client, "/password/reset", {"code": otp_of(user.email), "new": NEW, "confirm": NEW}
    )


def test_a_reset_does_not_lift_an_operators_lock(app, registrant, db) -> None:
    from backoffice.accounts.operator_actions import operator_set_user_state

    user, _ = registrant
    operator_set_user_state(user, {"actor_type": "operator", "actor_label": "ops"}, locked=True)
    assert _reset(app, user).headers["Location"] == "/login"  # the same answer as ever
    db.session.refresh(user)
    assert user.locked_by_operator
    assert user.locked_until is not None
    refused = login(app.test_client(), user.email, NEW)
    assert refused.status_code == 422
    assert "正しくありません" in refused.text
    operator_set_user_state(user, {"actor_type": "operator", "actor_label": "ops"}, locked=False)
    assert login(app.test_client(), user.email, NEW).status_code == 302


def test_a_reset_ends_a_lock_from_failed_attempts(app, registrant, db) -> None:
    user, _ = registrant
    for _ in range(app.config["PORTAL_LOCKOUT_THRESHOLD"]):
        login(app.test_client(), user.email, "not the password at all")
    db.session.refresh(user)
    assert user.locked_until is not None
    assert not user.locked_by_operator
    _reset(app, user)
    db.session.refresh(user)
    assert user.locked_until is None
    assert login(app.test_client(), user.email, NEW).status_code == 302


def test_a_lock_set_during_the_one_time_password_step_stops_the_login(app, registrant, db) -> None:
    from backoffice.accounts.operator_actions import operator_set_user_state
    from tests.builders.accounts import enter_otp

    user, password = registrant
    client = app.test_client()
    login(client, user.email, password)
    code = otp_of(user.email)
    operator_set_user_state(user, {"actor_type": "operator", "actor_label": "ops"}, locked=True)
    refused = enter_otp(client, code)
    assert refused.status_code == 422
    db.session.refresh(user)
    assert user.locked_by_operator
    assert user.locked_until is not None
    assert user.last_login_at is None
