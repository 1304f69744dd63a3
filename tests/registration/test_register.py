"""初回利用登録 for 介護事業所・みなし介護事業所 through the 電子請求受付システム (docs/flows.md, steps 1–3)."""

import re
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from backoffice.accounts.models import Organization, OrganizationKind, PortalUser
from backoffice.accounts.users import UserDetails
from backoffice.audit.models import AuditEvent
from backoffice.db import utcnow
from backoffice.eclaims.importer import import_csv
from backoffice.otp.models import OtpChallenge
from backoffice.registration import operations as registration
from backoffice.registration.models import RegistrationFlow
from tests.builders.accounts import (
    NEW_PASSWORD,
    let_otp_cooldown_pass,
    otp_of,
    publish_terms,
    submit,
)
from tests.builders.web import csrf_token

PASSWORD = "eclaims-pass-1"
OFFICES = (
    "eclaims_id,password,security_email,security_code,office_number,office_name,kind\n"
    f"KJ000000000001,{PASSWORD},sec1@demo.example.jp,,1310100019,あおぞら訪問介護,care\n"
    f"KJ000000000002,{PASSWORD},,,1310100027,こもれび通所介護,care\n"
    f"KJ000000000003,{PASSWORD},sec3@demo.example.jp,7391,2710100039,みどりケア,care\n"
    f"KJ000000000004,{PASSWORD},sec4@demo.example.jp,,0110112489,かえで内科,deemed\n"
)


@pytest.fixture
def offices(app, db) -> None:
    publish_terms()
    assert import_csv(OFFICES).imported


def count(model) -> int:
    from backoffice.extensions import db

    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def step1(client, eclaims_id: str, password: str = PASSWORD):
    return submit(client, "/register", {"eclaims_id": eclaims_id, "password": password})


def details(email: str) -> dict[str, str]:
    return {
        "name": "鈴木 一郎",
        "name_kana": "すずき いちろう",
        "email": email,
        "email_confirm": email,
        "phone": "045-123-4567",
        "department": "管理者",
    }


def register_through_pages(
    client,
    eclaims_id: str,
    security_email: str,
    email: str,
    security_code: str = "",
    read_code=otp_of,
) -> None:
    """Steps 1–3 through the pages; `read_code(address)` finds the one-time password that was mailed."""
    first = step1(client, eclaims_id)
    first.close()  # with a mail server configured, delivery happens now
    assert first.headers["Location"] == "/register/otp"
    page = client.get("/register/otp")
    masked = f"{security_email[0]}***@d***.example.jp"
    assert masked in page.text
    assert security_email not in page.text
    assert ("セキュリティコード" in page.text) == bool(security_code)
    r = submit(
        client, "/register/otp", {"code": read_code(security_email), "security_code": security_code}
    )
    assert r.headers["Location"] == "/register/details", r.text
    r = submit(client, "/register/details", details(email))
    r.close()
    assert r.headers["Location"] == "/register/complete", r.text
    done = client.get("/register/complete")
    assert f"初期パスワードを {email} にお送りしました" in done.text


def mailed(smtp_server, address: str, subject: str) -> str:
    """The text of the newest message that reached the SMTP server for `address` about `subject`."""
    found = [m for m in smtp_server.messages if m["To"] == address and subject in m["Subject"]]
    assert found, f"no mail about {subject} to {address}"
    return smtp_server.text_of(found[-1])


@pytest.mark.live_smtp
@pytest.mark.parametrize(
    ("eclaims_id", "security_email", "code", "kind", "number"),
    [
        (
            "ｋｊ０００００００００００１",
            "sec1@demo.example.jp",
            "",
            OrganizationKind.CARE,
            "1310100019",
        ),
        ("KJ000000000003", "sec3@demo.example.jp", "7391", OrganizationKind.CARE, "2710100039"),
        ("KJ000000000004", "sec4@demo.example.jp", "", OrganizationKind.DEEMED, "0110112489"),
    ],
)
def test_whole_flow_up_to_mypage(
    app, offices, db, smtp_server, eclaims_id, security_email, code, kind, number
) -> None:
    """Real pages and real mail (aiosmtpd): registration, then the first login, up to マイページ."""

    def code_for(address: str) -> str:
        return re.search(
            r"^(\d{6})$", mailed(smtp_server, address, "ワンタイムパスワード"), re.M
        ).group(1)

    email = "boss@office.example.jp"
    register_through_pages(app.test_client(), eclaims_id, security_email, email, code, code_for)
    organization = db.session.scalars(sa.select(Organization)).one()
    assert (organization.kind, organization.office_number) == (kind, number)
    user = organization.users[0]
    assert user.is_registrant
    assert user.name_kana == "スズキ イチロウ"
    mail = mailed(smtp_server, email, "初期パスワード")
    password = re.search(r"^初期パスワード：(\S+)$", mail, re.M).group(1)
    assert "初期パスワードの有効期限：" in mail
    assert "http://localhost/login" in mail

    portal = app.test_client()
    submit(portal, "/login", {"email": email, "password": password}).close()
    assert (
        submit(portal, "/login/otp", {"code": code_for(email)}).headers["Location"]
        == "/password/change"
    )
    submit(
        portal,
        "/password/change",
        {"current": password, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert (
        submit(portal, "/terms", {"agree": "y", "decision": "agree"}).headers["Location"]
        == "/mypage"
    )
    mypage = portal.get("/mypage").text
    assert organization.name in mypage
    assert "介護保険事業所番号" in mypage
    assert "☑</span>\n      <span>ワンタイムパスワード認証・ユーザ登録" in mypage
    actions = [e.action for e in db.session.scalars(sa.select(AuditEvent))]
    for expected in ("registration.otp_sent", "registration.otp_passed", "registration.completed"):
        assert expected in actions
    # Secrets left the database once delivered.
    assert all(
        password not in repr(row)
        for row in db.session.execute(sa.text("SELECT * FROM outbound_emails"))
    )


def test_no_security_email_gets_the_seed_3_page_and_nothing_is_created(app, offices, db) -> None:
    response = step1(app.test_client(), "KJ000000000002")
    assert response.status_code == 200
    assert "セキュリティ用メールアドレスの登録が必要です" in response.text
    assert "電子請求受付システムにログインし" in response.text
    assert count(RegistrationFlow) == 0
    assert count(OtpChallenge) == 0
    assert count(Organization) == 0


def test_already_registered_office_is_told_so_with_the_registrant_masked(app, offices, db) -> None:
    register_through_pages(
        app.test_client(), "KJ000000000001", "sec1@demo.example.jp", "boss@office.example.jp"
    )
    response = step1(app.test_client(), "KJ000000000001")
    assert "この事業所は登録済みです" in response.text
    assert "b***@o***.example.jp" in response.text
    assert "boss@office.example.jp" not in response.text
    assert "ユーザ新規登録" in response.text


@pytest.mark.parametrize("case", ["unknown", "wrong"])
def test_unknown_id_and_wrong_password_get_the_same_answer(app, offices, case: str) -> None:
    eclaims_id, password = (
        ("KJ999999999999", PASSWORD) if case == "unknown" else ("KJ000000000001", "nope")
    )
    response = step1(app.test_client(), eclaims_id, password)
    assert response.status_code == 422
    assert "＊電子請求受付システムのIDまたはパスワードが正しくありません。" in response.text


def test_an_id_locks_after_three_wrong_passwords(app, offices, db) -> None:
    for _ in range(3):
        step1(app.test_client(), "KJ000000000001", "nope")
    locked = step1(app.test_client(), "KJ000000000001")
    assert locked.status_code == 422
    assert count(RegistrationFlow) == 0


def test_concurrent_wrong_passwords_are_each_counted_and_the_lock_holds(
    app, offices, db, database_url
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("concurrent requests need PostgreSQL (SQLite serialises writers)")
    guesses = 19
    clients = [app.test_client() for _ in range(guesses)]
    tokens = [csrf_token(c.get("/register").text) for c in clients]
    barrier = threading.Barrier(guesses)
    statuses: list[int] = []

    def guess(n: int) -> None:
        barrier.wait()
        response = clients[n].post(
            "/register",
            data={"csrf_token": tokens[n], "eclaims_id": "KJ000000000001", "password": "nope"},
        )
        statuses.append(response.status_code)

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(guesses)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [422] * guesses
    # Three of them locked the ID: the right password is refused now, and nothing is started.
    right = step1(app.test_client(), "KJ000000000001")
    assert right.status_code == 422
    assert "＊電子請求受付システムのIDまたはパスワードが正しくありません。" in right.text
    assert count(RegistrationFlow) == 0


def test_wrong_passwords_during_a_lock_do_not_lengthen_it(app, offices, db) -> None:
    from backoffice.eclaims.models import EClaimsOffice

    for _ in range(3):
        step1(app.test_client(), "KJ000000000001", "nope")
    office = db.session.scalars(
        sa.select(EClaimsOffice).where(EClaimsOffice.eclaims_id == "KJ000000000001")
    ).one()
    locked_until = office.locked_until
    assert locked_until is not None
    for _ in range(3):
        step1(app.test_client(), "KJ000000000001", "nope")
    db.session.refresh(office)
    assert office.locked_until == locked_until
    office.locked_until = utcnow() - timedelta(seconds=1)  # the lock has run out
    db.session.commit()
    assert step1(app.test_client(), "KJ000000000001").status_code == 302


def test_starting_again_within_the_cooldown_mails_no_new_code(app, offices, db) -> None:
    from backoffice.mail.models import OutboundEmail

    def mails() -> int:
        return db.session.scalar(
            sa.select(sa.func.count())
            .select_from(OutboundEmail)
            .where(OutboundEmail.to_address == "sec1@demo.example.jp")
        )

    client = app.test_client()
    step1(client, "KJ000000000001")
    code = otp_of("sec1@demo.example.jp")
    assert step1(client, "KJ000000000001").headers["Location"] == "/register/otp"
    assert "新しいワンタイムパスワードはお送りしていません" in client.get("/register/otp").text
    assert mails() == 1
    done = submit(client, "/register/otp", {"code": code}, page_url="/register/otp")
    assert done.headers["Location"] == "/register/details"


def test_steps_cannot_be_skipped_repeated_or_replayed(app, offices, db) -> None:
    client = app.test_client()
    assert client.get("/register/details").headers["Location"] == "/register"
    assert client.get("/register/otp").headers["Location"] == "/register"
    step1(client, "KJ000000000001")
    assert client.get("/register/details").headers["Location"] == "/register/otp"
    assert (
        submit(
            client, "/register/details", details("x@office.example.jp"), page_url="/register/otp"
        ).headers["Location"]
        == "/register/otp"
    )
    code = otp_of("sec1@demo.example.jp")
    submit(client, "/register/otp", {"code": code, "security_code": ""})
    # Back to the one-time password page: it is done, so the flow's current step is shown.
    assert client.get("/register/otp").headers["Location"] == "/register/details"
    submit(client, "/register/details", details("boss@office.example.jp"))
    # Replaying the last step registers nothing more.
    again = submit(
        client,
        "/register/details",
        details("other@office.example.jp"),
        page_url="/register",
    )
    assert again.headers["Location"] == "/register"
    assert count(Organization) == 1
    assert count(PortalUser) == 1


def test_the_flow_expires_after_30_minutes(app, offices, db) -> None:
    client = app.test_client()
    step1(client, "KJ000000000001")
    flow = db.session.scalars(sa.select(RegistrationFlow)).one()
    flow.started_at = utcnow() - timedelta(minutes=31)
    db.session.commit()
    response = client.get("/register/otp")
    assert response.headers["Location"] == "/register"
    assert "30分の有効時間が過ぎました" in client.get("/register").text


def test_any_wrong_pair_gets_the_same_answer_at_the_security_code_step(app, offices, db) -> None:
    """Holding the e-claims ID and password must not be enough to learn the セキュリティコード."""

    def answer(code: str, security_code: str) -> tuple[int, str]:
        client = app.test_client()
        step1(client, "KJ000000000003")
        right = otp_of("sec3@demo.example.jp")
        typed = right if code == "right" else ("000000" if right != "000000" else "111111")
        response = submit(client, "/register/otp", {"code": typed, "security_code": security_code})
        return response.status_code, response.text.split('name="csrf_token"')[0]

    wrong_code_right_security = answer("wrong", "7391")
    assert wrong_code_right_security == answer("wrong", "0000")
    assert wrong_code_right_security == answer("right", "0000")
    assert wrong_code_right_security[0] == 422
    assert (
        "ワンタイムパスワードまたはセキュリティコードが正しくありません"
        in wrong_code_right_security[1]
    )


def test_tries_are_exhausted_by_wrong_codes_and_security_codes(app, offices, db) -> None:
    client = app.test_client()
    step1(client, "KJ000000000003")
    right = otp_of("sec3@demo.example.jp")
    wrong = "000000" if right != "000000" else "111111"
    for _ in range(2):
        r = submit(client, "/register/otp", {"code": right, "security_code": "0000"})
        assert "ワンタイムパスワードまたはセキュリティコードが正しくありません" in r.text
    for _ in range(2):
        submit(client, "/register/otp", {"code": wrong, "security_code": "7391"})
    last = submit(client, "/register/otp", {"code": wrong, "security_code": "7391"})
    assert "使えなくなりました" in last.text
    final = submit(client, "/register/otp", {"code": right, "security_code": "7391"})
    assert "使えなくなりました" in final.text
    assert count(Organization) == 0


def test_two_people_registering_the_same_office_end_with_one(
    app, offices, db, database_url
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("the race is decided by PostgreSQL's unique indexes under concurrency")
    keys = []
    for _ in range(2):
        let_otp_cooldown_pass()  # the second person is a minute later: a code is mailed to each
        started = registration.start("KJ000000000001", PASSWORD)
        registration.verify(
            started.flow_key, started.otp_binding, otp_of("sec1@demo.example.jp"), ""
        )
        keys.append(started.flow_key)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def register(key: str, n: int) -> None:
        with app.app_context():
            barrier.wait()
            try:
                registration.register(
                    key,
                    UserDetails(
                        name="鈴木 一郎",
                        name_kana="スズキ イチロウ",
                        email=f"person{n}@office.example.jp",
                        phone="0451234567",
                        department=None,
                    ),
                )
                outcomes.append("registered")
            except registration.AlreadyRegistered:
                outcomes.append("already")
            finally:
                from backoffice.extensions import db as _db

                _db.session.remove()

    threads = [threading.Thread(target=register, args=(k, n)) for n, k in enumerate(keys)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["already", "registered"]
    db.session.expire_all()
    assert count(Organization) == 1
    assert count(PortalUser) == 1


def test_registration_keeps_typed_values_on_error(app, offices) -> None:
    client = app.test_client()
    step1(client, "KJ000000000001")
    submit(client, "/register/otp", {"code": otp_of("sec1@demo.example.jp"), "security_code": ""})
    bad = submit(
        client,
        "/register/details",
        {**details("boss@office.example.jp"), "phone": "０３－１２", "name_kana": "鈴木"},
    )
    assert bad.status_code == 422
    assert "＊電話番号は0から始まる10桁または11桁の数字で入力してください。" in bad.text
    assert 'value="０３－１２"' in bad.text
    assert re.search(r"＊氏名（フリガナ）はカタカナで入力してください。", bad.text)
    assert csrf_token(bad.text)
