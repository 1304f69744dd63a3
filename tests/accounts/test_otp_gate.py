"""Every way of mailing a one-time password passes one gate per address and purpose: a cooldown, an hourly
cap, and a new code voids the earlier ones; decoys for unknown addresses pass it the same way."""

import threading

import pytest
import sqlalchemy as sa

from backoffice.mail.models import OutboundEmail
from tests.builders.accounts import (
    NEW_PASSWORD,
    enter_otp,
    full_first_login,
    let_otp_cooldown_pass,
    login,
    otp_of,
    submit,
)
from tests.builders.web import csrf_token

NEW = "natsu-no-umi-to-yama-2027"
COOLDOWN = "新しいワンタイムパスワードはお送りしていません"
CAP = "しばらく新しいワンタイムパスワードをお送りできません"


def otp_mails(db, address: str) -> int:
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(OutboundEmail)
        .where(
            OutboundEmail.to_address == address,
            OutboundEmail.subject.like("%ワンタイムパスワード%"),
        )
    )


def forgot(client, email: str):
    return submit(client, "/password/forgot", {"email": email})


def reset(client, code: str):
    return submit(client, "/password/reset", {"code": code, "new": NEW, "confirm": NEW})


def test_login_within_the_cooldown_mails_nothing_and_the_first_code_still_works(
    app, registrant, db
) -> None:
    user, password = registrant
    client = app.test_client()
    login(client, user.email, password)
    code = otp_of(user.email)
    again = login(client, user.email, password)  # the same browser, a second later
    assert again.headers["Location"] == "/login/otp"
    page = client.get("/login/otp")
    assert page.status_code == 200
    assert COOLDOWN in page.text
    assert otp_mails(db, user.email) == 1
    # Another browser within the cooldown gets the same page, and no mail either.
    other = app.test_client()
    login(other, user.email, password)
    assert COOLDOWN in other.get("/login/otp").text
    assert otp_mails(db, user.email) == 1
    assert enter_otp(client, code).status_code == 302


def test_a_new_code_voids_the_earlier_ones_in_every_browser(app, registrant, db) -> None:
    user, password = registrant
    first, second = app.test_client(), app.test_client()
    login(first, user.email, password)
    old = otp_of(user.email)
    let_otp_cooldown_pass()
    login(second, user.email, password)
    new = otp_of(user.email)
    assert otp_mails(db, user.email) == 2
    assert "有効期限が切れています" in enter_otp(first, old).text
    assert enter_otp(second, new).status_code == 302


def test_reset_requests_share_the_gate_and_a_newer_code_voids_the_older(
    app, registrant, db
) -> None:
    user, _ = registrant
    first, second = app.test_client(), app.test_client()
    forgot(first, user.email)
    old = otp_of(user.email)
    for _ in range(5):
        forgot(second, user.email)  # within the cooldown: nothing new is mailed
    assert otp_mails(db, user.email) == 1
    let_otp_cooldown_pass()
    forgot(second, user.email)
    assert otp_mails(db, user.email) == 2
    assert "有効期限が切れています" in reset(first, old).text
    assert reset(second, otp_of(user.email)).headers["Location"] == "/login"


def test_the_hourly_cap_holds_across_login_and_reset_resends_alike(app, registrant, db) -> None:
    user, password = registrant
    client = app.test_client()
    cap = app.config["OTP_HOURLY_CAP"]
    for _ in range(cap):
        login(client, user.email, password)
        let_otp_cooldown_pass()
    assert otp_mails(db, user.email) == cap
    login(client, user.email, password)
    assert CAP in client.get("/login/otp").text
    submit(client, "/login/otp/resend", {}, page_url="/login/otp")
    assert CAP in client.get("/login/otp").text
    assert otp_mails(db, user.email) == cap
    # The cap is per purpose: a password reset still reaches the owner.
    forgot(app.test_client(), user.email)
    assert otp_mails(db, user.email) == cap + 1


def test_an_unknown_address_meets_the_same_cooldown_and_cap(app, registrant, db) -> None:
    user, _ = registrant
    answers = {}
    for address in (user.email, "nobody@clinic.example.jp"):
        client = app.test_client()
        seen = []
        for _ in range(app.config["OTP_HOURLY_CAP"] + 1):
            forgot(client, address)
            seen.append(client.get("/password/reset").text.split('name="csrf_token"')[0])
            forgot(client, address)
            seen.append(client.get("/password/reset").text.split('name="csrf_token"')[0])
            let_otp_cooldown_pass()
        answers[address] = seen
    known, unknown = answers.values()
    assert known == unknown
    assert COOLDOWN in known[1]
    assert CAP in known[-1]
    assert otp_mails(db, "nobody@clinic.example.jp") == 0


def test_email_change_requests_share_the_gate(app, registrant, db) -> None:
    user, password = registrant
    client = app.test_client()
    full_first_login(client, user, password)
    change = {
        "email": "new@clinic.example.jp",
        "email_confirm": "new@clinic.example.jp",
        "password": NEW_PASSWORD,
    }
    submit(client, "/mypage/email", change)
    code = otp_of("new@clinic.example.jp")
    submit(client, "/mypage/email", change)
    assert COOLDOWN in client.get("/mypage/email/confirm").text
    assert otp_mails(db, "new@clinic.example.jp") == 1
    done = submit(client, "/mypage/email/confirm", {"code": code})
    assert done.headers["Location"] == "/mypage"


def test_concurrent_reset_requests_mail_one_code(app, registrant, db, database_url) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("concurrent requests need PostgreSQL (SQLite serialises writers)")
    user, _ = registrant
    requests = 8
    clients = [app.test_client() for _ in range(requests)]
    tokens = [csrf_token(c.get("/password/forgot").text) for c in clients]
    barrier = threading.Barrier(requests)
    statuses: list[int] = []

    def ask(n: int) -> None:
        barrier.wait()
        response = clients[n].post(
            "/password/forgot", data={"csrf_token": tokens[n], "email": user.email}
        )
        statuses.append(response.status_code)

    threads = [threading.Thread(target=ask, args=(n,)) for n in range(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [302] * requests
    assert otp_mails(db, user.email) == 1
