"""Login with a one-time password, the first-login steps in order, sessions, lockout (docs/security.md)."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from backoffice.accounts.models import PortalSession, PortalUser
from backoffice.audit.models import AuditEvent
from backoffice.db import utcnow
from backoffice.display import format_time
from backoffice.mail.outbox import readable
from backoffice.otp.models import OtpChallenge
from tests.builders.accounts import (
    NEW_PASSWORD,
    enter_otp,
    full_first_login,
    let_otp_cooldown_pass,
    login,
    make_registrant,
    otp_of,
    publish_terms,
    signed_in_as,
    submit,
)

FAILED = "＊ID（メールアドレス）またはパスワードが正しくありません。"


def test_first_login_walks_otp_password_change_and_terms_to_mypage(client, registrant, db) -> None:
    user, password = registrant
    response = login(client, "Registrant@Clinic.example.jp", password)
    assert response.headers["Location"] == "/login/otp"
    page = client.get("/login/otp")
    assert "有効期限は10分間" in page.text
    assert user.email not in page.text  # at login, the address is not revealed
    assert enter_otp(client, otp_of(user.email)).headers["Location"] == "/password/change"
    assert "ステップ1／2" in client.get("/password/change").text
    changed = submit(
        client,
        "/password/change",
        {"current": password, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert changed.headers["Location"] == "/terms"
    agreed = submit(client, "/terms", {"agree": "y", "decision": "agree"})
    assert agreed.headers["Location"] == "/mypage"
    mypage = client.get("/mypage")
    assert mypage.status_code == 200
    assert "さくら在宅クリニック" in mypage.text
    assert "医療機関コード" in mypage.text
    db.session.refresh(user)
    assert user.must_change_password is False
    assert user.terms_accepted_at is not None
    actions = [e.action for e in db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id))]
    for expected in [
        "portal.otp_sent",
        "portal.otp_passed",
        "portal.login",
        "portal.password_changed",
        "portal.terms_accepted",
    ]:
        assert expected in actions


def mail_expiry(db):
    return db.session.scalars(sa.select(OtpChallenge.expires_at)).one()


def test_otp_mail_states_the_code_and_its_validity(client, registrant, db) -> None:
    user, password = registrant
    login(client, user.email, password)
    from tests.builders.accounts import last_mail_to

    mail = last_mail_to(user.email)
    assert mail.subject == "【介護情報基盤ポータル】ワンタイムパスワードのお知らせ"
    assert "有効期限：10分間" in readable(mail)[0]
    assert f"（{format_time(mail_expiry(db))}まで）" in readable(mail)[0]
    assert mail.contains_secret


@pytest.mark.parametrize("case", ["unknown", "wrong", "locked", "disabled"])
def test_unknown_wrong_and_locked_get_the_same_answer(client, registrant, db, case: str) -> None:
    user, password = registrant
    email, typed = user.email, password
    if case == "unknown":
        email = "nobody@clinic.example.jp"
    elif case == "wrong":
        typed = "not the password at all"
    elif case == "locked":
        user.locked_until = utcnow() + timedelta(minutes=5)
    else:
        user.is_active = False
    db.session.commit()
    response = login(client, email, typed)
    assert response.status_code == 422
    assert FAILED in response.text
    assert client.get("/login/otp").headers["Location"] == "/login"


def test_nothing_can_be_skipped(app, client, registrant, db) -> None:
    user, password = registrant
    # Without the one-time password: no session, no later step.
    login(client, user.email, password)
    for url in ("/mypage", "/password/change", "/terms", "/mypage/users/new"):
        assert client.get(url).headers["Location"] == "/login", url
    assert (
        submit(client, "/terms", {"agree": "y", "decision": "agree"}, page_url="/login").status_code
        == 302
    )
    # After it: every page leads to the password change first...
    enter_otp(client, otp_of(user.email))
    for url in ("/mypage", "/terms", "/mypage/users/new"):
        assert client.get(url).headers["Location"] == "/password/change", url
    refused = submit(
        client, "/terms", {"agree": "y", "decision": "agree"}, page_url="/password/change"
    )
    assert refused.headers["Location"] == "/password/change"
    db.session.refresh(user)
    assert user.terms_accepted_at is None
    # ...then to the 利用規約.
    submit(
        client,
        "/password/change",
        {"current": password, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    for url in ("/mypage", "/mypage/users/new"):
        assert client.get(url).headers["Location"] == "/terms", url


def test_initial_password_cannot_be_kept_and_policy_applies(client, registrant, db) -> None:
    user, password = registrant
    login(client, user.email, password)
    enter_otp(client, otp_of(user.email))
    same = submit(
        client, "/password/change", {"current": password, "new": password, "confirm": password}
    )
    assert same.status_code == 422
    assert "現在のパスワードと違うもの" in same.text
    short = submit(
        client, "/password/change", {"current": password, "new": "short", "confirm": "short"}
    )
    assert "＊新しいパスワードは12文字以上で入力してください。" in short.text
    mine = submit(
        client,
        "/password/change",
        {"current": password, "new": "registrant-clinic-2026", "confirm": "registrant-clinic-2026"},
    )
    assert "ご自身の情報を含めないでください" in mine.text
    mismatch = submit(
        client,
        "/password/change",
        {"current": password, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD + "x"},
    )
    assert "新しいパスワードと同じもの" in mismatch.text
    wrong = submit(
        client,
        "/password/change",
        {"current": "wrong one", "new": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert "＊現在のパスワードが正しくありません。" in wrong.text
    db.session.refresh(user)
    assert user.must_change_password is True


def test_initial_password_expires_after_72_hours(client, registrant, db) -> None:
    user, password = registrant
    user.initial_password_expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    response = login(client, user.email, password)
    assert response.status_code == 422
    assert "初期パスワードの有効期限が切れています" in response.text
    # A wrong password still gets the ordinary answer: expiry is told only to the owner.
    assert FAILED in login(client, user.email, "not the password at all").text


def test_one_time_password_single_use_expiry_and_five_tries(app, client, registrant, db) -> None:
    user, password = registrant
    login(client, user.email, password)
    code = otp_of(user.email)
    wrong = "000000" if code != "000000" else "111111"
    for remaining in (4, 3, 2, 1):
        response = enter_otp(client, wrong)
        assert f"あと{remaining}回間違えると" in response.text
    exhausted = enter_otp(client, wrong)
    assert "このワンタイムパスワードは使えなくなりました" in exhausted.text
    assert "使えなくなりました" in enter_otp(client, code).text  # even the right code, now

    # Expiry, on a fresh challenge.
    let_otp_cooldown_pass()
    other = app.test_client()
    login(other, user.email, password)
    challenge = db.session.scalars(sa.select(OtpChallenge).order_by(OtpChallenge.id.desc())).first()
    challenge.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert "有効期限が切れています" in enter_otp(other, otp_of(user.email)).text

    # Single use: a code that worked once never works again.
    let_otp_cooldown_pass()
    third = app.test_client()
    login(third, user.email, password)
    code = otp_of(user.email)
    assert enter_otp(third, code).status_code == 302
    replay = app.test_client()
    with replay.session_transaction() as s:
        s.clear()
    assert replay.get("/login/otp").headers["Location"] == "/login"


def test_code_works_only_in_the_browser_that_asked_for_it(app, client, registrant, db) -> None:
    user, password = registrant
    login(client, user.email, password)
    code = otp_of(user.email)
    attacker = app.test_client()
    login(attacker, user.email, "not the password at all")
    assert attacker.get("/login/otp").headers["Location"] == "/login"
    assert enter_otp(client, code).status_code == 302


def test_otp_failures_count_toward_the_account_lockout(client, registrant, db, app) -> None:
    user, password = registrant
    threshold = app.config["PORTAL_LOCKOUT_THRESHOLD"]
    login(client, user.email, password)
    code = otp_of(user.email)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(threshold - 1):
        enter_otp(client, wrong)
    login(client, user.email, "not the password at all")
    db.session.refresh(user)
    assert user.locked_until is not None
    assert FAILED in login(client, user.email, password).text
    assert "portal.locked" in set(db.session.scalars(sa.select(AuditEvent.action)))


def test_resend_waits_60_seconds_and_replaces_the_code(client, registrant, db) -> None:
    user, password = registrant
    login(client, user.email, password)
    first = otp_of(user.email)
    too_soon = submit(client, "/login/otp/resend", {}, page_url="/login/otp")
    assert too_soon.status_code == 302
    assert "秒後からできます" in client.get("/login/otp").text
    challenge = db.session.scalars(sa.select(OtpChallenge)).one()
    challenge.last_sent_at = utcnow() - timedelta(seconds=61)
    db.session.commit()
    submit(client, "/login/otp/resend", {}, page_url="/login/otp")
    second = otp_of(user.email)
    if second != first:
        assert "正しくありません" in enter_otp(client, first).text
    assert enter_otp(client, second).status_code == 302


def test_logout_ends_the_session_on_the_server(app, client, registrant, db) -> None:
    user, password = registrant
    full_first_login(client, user, password)
    with client.session_transaction() as s:
        key = s["portal_session"]
    copy = app.test_client()
    with copy.session_transaction() as s:
        s["portal_session"] = key
    assert copy.get("/mypage").status_code == 200
    assert client.get("/logout").status_code == 405
    submit(client, "/logout", {}, page_url="/mypage")
    assert copy.get("/mypage").headers["Location"] == "/login"


def test_password_change_ends_the_other_sessions(app, registrant, db) -> None:
    user, _ = registrant
    publish_terms("2026-05")
    user.must_change_password = False
    db.session.commit()
    from backoffice.accounts import first_login

    first_login.change_password(user, registrant[1], NEW_PASSWORD, keep_session=None)
    here, elsewhere = signed_in_as(app, user), signed_in_as(app, user)
    with here.session_transaction() as s:
        key = s["portal_session"]
    new_key = first_login.change_password(user, NEW_PASSWORD, NEW_PASSWORD + "-2", keep_session=key)
    with here.session_transaction() as s:
        s["portal_session"] = new_key
    assert here.get("/terms").status_code == 200
    assert elsewhere.get("/terms").headers["Location"] == "/login"


def test_idle_and_absolute_timeouts(app, registrant, db) -> None:
    user, _ = registrant
    client = signed_in_as(app, user)
    row = db.session.scalars(sa.select(PortalSession)).one()
    row.last_seen_at = utcnow() - timedelta(minutes=31)
    db.session.commit()
    assert client.get("/password/change").headers["Location"] == "/login"
    client = signed_in_as(app, user)
    row = db.session.scalars(
        sa.select(PortalSession).where(PortalSession.revoked_at.is_(None))
    ).one()
    row.created_at = utcnow() - timedelta(hours=12, minutes=1)
    db.session.commit()
    assert client.get("/password/change").headers["Location"] == "/login"


def test_a_new_terms_version_asks_everyone_again(app, client, registrant, db) -> None:
    user, password = registrant
    full_first_login(client, user, password)
    assert client.get("/mypage").status_code == 200
    publish_terms("2026-10")
    again = client.get("/mypage")
    assert again.headers["Location"] == "/terms"
    page = client.get("/terms")
    assert "利用規約が改定されました" in page.text
    declined = submit(client, "/terms", {"decision": "decline"})
    assert declined.headers["Location"] == "/login"
    assert client.get("/mypage").headers["Location"] == "/login"


def test_consent_needs_the_checkbox(client, registrant) -> None:
    user, password = registrant
    login(client, user.email, password)
    enter_otp(client, otp_of(user.email))
    submit(
        client,
        "/password/change",
        {"current": password, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    response = submit(client, "/terms", {"decision": "agree"})
    assert response.status_code == 422
    assert "＊利用規約を確認し、「利用規約に同意する」にチェックを入れてください。" in response.text


def test_no_secret_in_the_database_or_the_log(client, registrant, db, caplog) -> None:
    user, password = registrant
    caplog.set_level("DEBUG")
    login(client, user.email, password)
    code = otp_of(user.email)
    enter_otp(client, code)
    submit(
        client,
        "/password/change",
        {"current": password, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    db.session.refresh(user)
    assert user.password_hash.startswith("$argon2id$")
    for secret in (password, code, NEW_PASSWORD):
        assert secret not in caplog.text
        for table in (
            "portal_users",
            "otp_challenges",
            "audit_events",
            "portal_sessions",
            "outbound_emails",
        ):
            rows = db.session.execute(sa.text(f"SELECT * FROM {table}")).all()
            assert secret not in repr(rows), (secret, table)


def test_registrant_counts_as_a_user(db, registrant) -> None:
    user, _ = registrant
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PortalUser)) == 1
    assert user.is_registrant
    second, _ = make_registrant(email="other@care.example.jp", office_number="04A0700017")
    assert second.organization_id != user.organization_id


@pytest.mark.parametrize(
    "app_overrides", [{"RATELIMIT_ENABLED": True, "PORTAL_LOGIN_LIMIT": "3 per minute"}]
)
def test_login_is_limited_per_ip(client, registrant) -> None:
    statuses = [
        login(client, "x@clinic.example.jp", "whatever it is").status_code for _ in range(4)
    ]
    assert statuses == [422, 422, 422, 429]


def test_resend_stops_at_the_hourly_cap(client, registrant, db, app) -> None:
    user, password = registrant
    login(client, user.email, password)
    challenge = db.session.scalars(sa.select(OtpChallenge)).one()
    for _ in range(app.config["OTP_HOURLY_CAP"] - 1):
        challenge.last_sent_at = utcnow() - timedelta(seconds=61)
        db.session.commit()
        submit(client, "/login/otp/resend", {}, page_url="/login/otp")
        db.session.refresh(challenge)
    assert challenge.sends == app.config["OTP_HOURLY_CAP"]
    challenge.last_sent_at = utcnow() - timedelta(seconds=61)
    db.session.commit()
    submit(client, "/login/otp/resend", {}, page_url="/login/otp")
    assert "しばらく新しいワンタイムパスワードをお送りできません" in client.get("/login/otp").text
    db.session.refresh(challenge)
    assert challenge.sends == app.config["OTP_HOURLY_CAP"]
