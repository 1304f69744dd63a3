"""Identity rules 1, 2, 3, 10, 11 and 12 (/work/shared/IDENTITY-RULES.md) for 初回利用登録, each proven
clause by clause through the pages, on SQLite and PostgreSQL."""

import re
import statistics
import time
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine

from backoffice import passwords
from backoffice.accounts.models import Organization, PortalUser
from backoffice.accounts.users import UserDetails, create_user
from backoffice.audit.models import AuditEvent
from backoffice.eclaims.importer import import_csv
from backoffice.eclaims.models import EClaimsOffice
from backoffice.mail.models import OutboundEmail
from backoffice.otp.models import OtpChallenge
from backoffice.registration.models import RegistrationFlow, Step
from tests.builders.accounts import let_otp_cooldown_pass, otp_of, publish_terms, submit
from tests.registration.test_register import OFFICES, PASSWORD, count, details, step1

REJECTED = "＊電子請求受付システムのIDまたはパスワードが正しくありません。"
WRONG_PAIR = "ワンタイムパスワードまたはセキュリティコードが正しくありません"
COMPLETED = "登録が完了しました"
KNOWN, UNKNOWN = "KJ000000000001", "KJ999999999999"
T0 = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)  # 10:00 in Japan


@pytest.fixture
def offices(app, db) -> None:
    """The e-claims directory of test_register.py (KJ…01–04) and a published 利用規約."""
    publish_terms()
    assert import_csv(OFFICES).imported


def page_of(response, *typed: str) -> tuple[int, str]:
    """Status and body with what differs by nature between two browsers taken out: the CSRF token, a
    CSP nonce and the ID each one typed (echoed back in its own field)."""
    body = re.sub(r'(name="csrf_token"[^>]*value=")[^"]+', r"\1<token>", response.text)
    body = re.sub(r'nonce="[^"]+"', 'nonce="<nonce>"', body)
    for value in typed:
        body = body.replace(value, "<typed id>")
    return response.status_code, body


def mails_to(db, address: str) -> int:
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(OutboundEmail)
        .where(OutboundEmail.to_address == address)
    )


class VerifySpy:
    """Stands in for `backoffice.passwords._hasher`, noting the hash every argon2 verify is run against."""

    def __init__(self, real) -> None:
        self.real = real
        self.hashes: list[str] = []

    def verify(self, password_hash: str, password: str) -> bool:
        self.hashes.append(password_hash)
        return self.real.verify(password_hash, password)

    def __getattr__(self, name: str):
        return getattr(self.real, name)


# Rule 1 ------------------------------------------------------------------------------------------


def test_unknown_id_and_wrong_password_answer_alike_with_a_dummy_hash_check(
    app, offices, db, monkeypatch
) -> None:
    """The same status and the same page for an unknown ID and a wrong password; each runs exactly one
    argon2 verify (the unknown ID against the dummy hash), so both take about as long."""
    spy = VerifySpy(passwords._hasher)
    monkeypatch.setattr(passwords, "_hasher", spy)
    real_hash = db.session.scalars(
        sa.select(EClaimsOffice.password_hash).where(EClaimsOffice.eclaims_id == KNOWN)
    ).one()

    unknown_client, wrong_client = app.test_client(), app.test_client()
    unknown_page = unknown_client.get("/register")
    wrong_page = wrong_client.get("/register")
    token = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')

    def post(client, page, eclaims_id: str, password: str):
        return client.post(
            "/register",
            data={
                "csrf_token": token.search(page.text).group(1),
                "eclaims_id": eclaims_id,
                "password": password,
            },
        )

    spy.hashes.clear()
    unknown = post(unknown_client, unknown_page, UNKNOWN, PASSWORD)
    assert spy.hashes == [passwords._DUMMY_HASH]  # the dummy hash, verified once
    spy.hashes.clear()
    wrong = post(wrong_client, wrong_page, KNOWN, "not-the-password")
    assert spy.hashes == [real_hash]  # the office's hash, verified once
    assert unknown.status_code == wrong.status_code == 422
    assert REJECTED in unknown.text
    assert page_of(unknown, UNKNOWN) == page_of(wrong, KNOWN)
    assert count(RegistrationFlow) == count(OtpChallenge) == 0

    # Near-identical timing: alternating samples, so that a busy machine slows both alike.
    timings: dict[str, list[float]] = {"unknown": [], "wrong": []}
    for _ in range(5):
        for case, eclaims_id, typed in (
            ("unknown", UNKNOWN, PASSWORD),
            ("wrong", KNOWN, "not-the-password"),
        ):
            client = app.test_client()
            page = client.get("/register")
            started = time.perf_counter()
            assert post(client, page, eclaims_id, typed).status_code == 422
            timings[case].append(time.perf_counter() - started)
    ratio = statistics.median(timings["unknown"]) / statistics.median(timings["wrong"])
    assert 0.5 < ratio < 2, timings


# Rule 2 ------------------------------------------------------------------------------------------


def test_an_id_is_throttled_from_every_address_and_the_lock_answers_as_an_unknown_id(
    app, offices, db
) -> None:
    """Three wrong passwords lock an ID for ECLAIMS_LOCK_MINUTES whichever addresses they come from; while
    locked the right password gets exactly the unknown ID's answer; the lock then runs out."""
    threshold = app.config["ECLAIMS_LOCK_THRESHOLD"]
    minutes = app.config["ECLAIMS_LOCK_MINUTES"]

    def from_address(n: int):
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = f"198.51.100.{n}"
        return client

    with time_machine.travel(T0, tick=False) as clock:
        known_answers, unknown_answers = [], []
        for n in range(threshold):
            known_answers.append(page_of(step1(from_address(n), KNOWN, "nope"), KNOWN))
            unknown_answers.append(page_of(step1(from_address(n), UNKNOWN, "nope"), UNKNOWN))
        office = db.session.scalars(
            sa.select(EClaimsOffice).where(EClaimsOffice.eclaims_id == KNOWN)
        ).one()
        assert office.locked_until == T0 + timedelta(minutes=minutes)
        # Locked: the right password, from an address that never failed, answers as an unknown ID.
        locked = step1(from_address(99), KNOWN, PASSWORD)
        unknown = step1(from_address(99), UNKNOWN, PASSWORD)
        assert locked.status_code == 422
        assert REJECTED in locked.text
        assert page_of(locked, KNOWN) == page_of(unknown, UNKNOWN)
        assert known_answers == unknown_answers
        assert count(RegistrationFlow) == 0
        clock.move_to(T0 + timedelta(minutes=minutes, seconds=-1))
        assert page_of(step1(from_address(98), KNOWN), KNOWN) == page_of(
            step1(from_address(98), UNKNOWN), UNKNOWN
        )
        clock.move_to(T0 + timedelta(minutes=minutes, seconds=1))
        assert step1(from_address(97), KNOWN).headers["Location"] == "/register/otp"
    assert count(RegistrationFlow) == 1


@pytest.mark.parametrize(
    "app_overrides", [{"RATELIMIT_ENABLED": True, "REGISTRATION_LIMIT": "3 per minute"}]
)
def test_an_address_is_throttled_across_ids_and_the_limit_answers_alike_for_any_id(
    app, offices, db
) -> None:
    """REGISTRATION_LIMIT counts every try from one address, whatever the ID; over it a known ID and an
    unknown one get the same 429 page; another address is not held back."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = "203.0.113.5"
    statuses = [
        step1(client, eclaims_id, "nope").status_code
        for eclaims_id in (KNOWN, UNKNOWN, "KJ000000000003")
    ]
    assert statuses == [422, 422, 422]
    over_known = step1(client, KNOWN, PASSWORD)  # even the right password
    over_unknown = step1(client, UNKNOWN, PASSWORD)
    assert over_known.status_code == over_unknown.status_code == 429
    assert "短時間に多くの操作が行われました" in over_known.text
    assert page_of(over_known, KNOWN) == page_of(over_unknown, UNKNOWN)
    assert KNOWN not in over_known.text
    assert count(RegistrationFlow) == 0
    # Not a lock of the ID: one failure from this address, none yet elsewhere.
    office = db.session.scalars(
        sa.select(EClaimsOffice).where(EClaimsOffice.eclaims_id == KNOWN)
    ).one()
    assert office.locked_until is None
    elsewhere = app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "203.0.113.6"
    assert step1(elsewhere, KNOWN).headers["Location"] == "/register/otp"


# Rule 3 ------------------------------------------------------------------------------------------


def test_the_code_goes_only_to_the_security_email_on_file_whatever_the_form_says(
    app, offices, db
) -> None:
    """Destination fields added to the step-1 form, its query string or the resend are ignored: the one
    mail goes to the セキュリティ用メールアドレス on file, and the challenge names that address."""
    attacker = "attacker@evil.example"
    forged = dict.fromkeys(
        ("email", "security_email", "sent_to", "to", "mail", "address"), attacker
    )
    client = app.test_client()
    page = client.get("/register")
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text).group(1)
    response = client.post(
        f"/register?email={attacker}&to={attacker}",
        data={"csrf_token": token, "eclaims_id": KNOWN, "password": PASSWORD, **forged},
    )
    assert response.headers["Location"] == "/register/otp"
    assert mails_to(db, attacker) == 0
    assert [m.to_address for m in db.session.scalars(sa.select(OutboundEmail))] == [
        "sec1@demo.example.jp"
    ]
    assert db.session.scalars(sa.select(OtpChallenge.sent_to)).all() == ["sec1@demo.example.jp"]
    otp_page = client.get("/register/otp").text
    assert "s***@d***.example.jp" in otp_page
    assert attacker not in otp_page
    # The resend takes no destination either.
    let_otp_cooldown_pass()
    resend = submit(client, "/register/otp/resend", forged, page_url="/register/otp")
    assert resend.headers["Location"] == "/register/otp"
    assert mails_to(db, attacker) == 0
    assert mails_to(db, "sec1@demo.example.jp") == 2
    assert db.session.scalars(sa.select(OtpChallenge.sent_to)).all() == ["sec1@demo.example.jp"]
    done = submit(client, "/register/otp", {"code": otp_of("sec1@demo.example.jp"), **forged})
    assert done.headers["Location"] == "/register/details"


# Rule 10 -----------------------------------------------------------------------------------------


def test_the_security_code_step_cannot_be_skipped_by_posting_to_later_steps(
    app, offices, db
) -> None:
    """An office with a セキュリティコード (KJ…03): step 3 posted with no flow, or while step 2 waits, or
    after the right one-time password without the セキュリティコード, creates nothing; only the whole pair
    moves the server-side flow on."""

    def nothing_created() -> None:
        assert count(Organization) == 0
        assert count(PortalUser) == 0
        assert mails_to(db, "boss@office.example.jp") == 0

    stranger = app.test_client()
    assert (
        submit(stranger, "/register/details", details("boss@office.example.jp"), "/register")
    ).headers["Location"] == "/register"
    nothing_created()

    client = app.test_client()
    step1(client, "KJ000000000003")
    code = otp_of("sec3@demo.example.jp")
    jumped = submit(client, "/register/details", details("boss@office.example.jp"), "/register/otp")
    assert jumped.headers["Location"] == "/register/otp"
    nothing_created()

    flow = db.session.scalars(sa.select(RegistrationFlow)).one()
    for security_code in ("", None):  # empty, and left out of the form altogether
        data = {"code": code} | ({} if security_code is None else {"security_code": ""})
        refused = submit(client, "/register/otp", data)
        assert refused.status_code == 422
        assert WRONG_PAIR in refused.text
        db.session.refresh(flow)
        assert flow.step is Step.OTP
        after = submit(
            client, "/register/details", details("boss@office.example.jp"), "/register/otp"
        )
        assert after.headers["Location"] == "/register/otp"
        assert client.get("/register/complete").headers["Location"] == "/register"
        nothing_created()
    assert "registration.otp_passed" not in set(db.session.scalars(sa.select(AuditEvent.action)))

    passed = submit(client, "/register/otp", {"code": code, "security_code": "7391"})
    assert passed.headers["Location"] == "/register/details"
    done = submit(client, "/register/details", details("boss@office.example.jp"))
    assert done.headers["Location"] == "/register/complete"
    assert count(Organization) == count(PortalUser) == 1


# Rule 11 -----------------------------------------------------------------------------------------


def test_forced_browsing_to_details_or_complete_before_the_earlier_steps_redirects(
    app, offices, db
) -> None:
    """/register/details and /register/complete, from a new browser and at every step before their own,
    redirect to the step the flow is at (or the start) and never show the completion."""

    def sent_back(client, url: str, to: str) -> None:
        response = client.get(url)
        assert response.status_code in (302, 303, 403), (url, response.status_code)
        if response.status_code != 403:
            assert response.headers["Location"] == to, url
        assert COMPLETED not in response.text
        assert COMPLETED not in client.get(to).text

    fresh = app.test_client()
    for url in ("/register/otp", "/register/details", "/register/complete"):
        sent_back(fresh, url, "/register")

    client = app.test_client()
    step1(client, KNOWN)  # at the one-time password
    sent_back(client, "/register/details", "/register/otp")
    sent_back(client, "/register/complete", "/register")
    submit(client, "/register/otp", {"code": otp_of("sec1@demo.example.jp")})  # at the details
    sent_back(client, "/register/complete", "/register")
    sent_back(client, "/register/otp", "/register/details")
    assert count(Organization) == 0

    submit(client, "/register/details", details("boss@office.example.jp"))
    done = client.get("/register/complete")
    assert done.status_code == 200
    assert "初期パスワードを boss@office.example.jp にお送りしました" in done.text
    # Finished: the earlier steps are closed, and a new browser still sees no completion.
    sent_back(client, "/register/details", "/register")
    sent_back(client, "/register/otp", "/register")
    sent_back(app.test_client(), "/register/complete", "/register")


# Rule 12 -----------------------------------------------------------------------------------------


def test_registering_a_registered_office_again_creates_nothing_and_leaks_no_account_data(
    app, offices, db
) -> None:
    """The same office again, under its e-claims ID or under another ID with the same 事業所番号: no new
    organization, user, flow, challenge or mail; the page names the registrant only masked and shows no
    one's name, phone or address. Without the right password it is the ordinary refusal."""
    assert import_csv(
        "eclaims_id,password,security_email,security_code,office_number,office_name,kind\n"
        f"KJ000000000005,{PASSWORD},sec5@demo.example.jp,,1310100019,あおぞら訪問介護 別ID,care\n"
    ).imported
    client = app.test_client()
    step1(client, KNOWN)
    submit(client, "/register/otp", {"code": otp_of("sec1@demo.example.jp")})
    submit(client, "/register/details", details("boss@office.example.jp"))
    organization = db.session.scalars(sa.select(Organization)).one()
    create_user(
        organization,
        UserDetails(
            name="山田 次郎",
            name_kana="ヤマダ ジロウ",
            email="member@office.example.jp",
            phone="0311112222",
            department="経理課",
        ),
        is_registrant=False,
    )
    db.session.commit()
    models = (Organization, PortalUser, RegistrationFlow, OtpChallenge, OutboundEmail)
    before = {model: count(model) for model in models}
    assert before[Organization] == 1
    assert before[PortalUser] == 2

    for eclaims_id in (KNOWN, "KJ000000000005"):
        again = app.test_client()
        response = step1(again, eclaims_id)
        assert response.status_code == 200
        assert "この事業所は登録済みです" in response.text
        assert "（登録者：b***@o***.example.jp）" in response.text
        for private in (
            "boss@office.example.jp",
            "member@office.example.jp",
            "m***@o***",
            "鈴木",
            "一郎",
            "スズキ",
            "山田",
            "次郎",
            "0451234567",
            "045-123-4567",
            "0311112222",
            "経理課",
        ):
            assert private not in response.text, (eclaims_id, private)
        assert again.get("/register/otp").headers["Location"] == "/register"
        assert {model: count(model) for model in models} == before
    assert mails_to(db, "sec5@demo.example.jp") == 0
    # Without the right password nothing tells that the office is registered.
    wrong = step1(app.test_client(), KNOWN, "nope")
    unknown = step1(app.test_client(), UNKNOWN, "nope")
    assert "登録済み" not in wrong.text
    assert page_of(wrong, KNOWN) == page_of(unknown, UNKNOWN)
    assert {model: count(model) for model in models} == before
