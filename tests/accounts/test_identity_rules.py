"""Identity rules 4–9, 13 and 43 (/work/shared/IDENTITY-RULES.md): one-time passwords, initial passwords and
the password reset, each proven clause by clause through the pages, on SQLite and PostgreSQL (the races on
PostgreSQL only, with real concurrent requests)."""

import itertools
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
import time_machine
from flask import Flask
from flask.testing import FlaskClient

from backoffice import passwords
from backoffice.accounts import views as portal_views
from backoffice.accounts.models import PortalSession, PortalUser
from backoffice.audit.models import AuditEvent
from backoffice.eclaims.importer import import_csv
from backoffice.eclaims.models import EClaimsOffice
from backoffice.extensions import db as _db
from backoffice.mail.models import OutboundEmail
from backoffice.mail.outbox import readable
from backoffice.otp import operations as otp
from backoffice.otp.models import OtpChallenge, Purpose
from backoffice.registration import views as registration_views
from tests.builders.accounts import (
    NEW_PASSWORD,
    enter_otp,
    full_first_login,
    initial_password_of,
    last_mail_to,
    let_otp_cooldown_pass,
    login,
    make_registrant,
    otp_of,
    publish_terms,
    signed_in_as,
    submit,
)
from tests.builders.web import csrf_token
from tests.registration.test_register import OFFICES, details, step1
from tests.registration.test_register import PASSWORD as ECLAIMS_PASSWORD

JST = ZoneInfo("Asia/Tokyo")
WEEKDAYS = "月火水木金土日"
RESET_PASSWORD = "natsu-no-umi-to-yama-2027"
OTHER_PASSWORD = "aki-no-momiji-to-tsuki-2028"
NEW_ADDRESS = "new@clinic.example.jp"
WRONG = "正しくありません"
EXPIRED = "有効期限が切れています"
EXHAUSTED = "このワンタイムパスワードは使えなくなりました"
COOLDOWN = "新しいワンタイムパスワードはお送りしていません"
RESEND_WAIT = "秒後からできます"
CAP = "しばらく新しいワンタイムパスワードをお送りできません"
LOOK_ALIKES = set("0O1lIo")


def start_time() -> datetime:
    """A whole minute a little ahead of the real clock: cookies and CSRF tokens made before a test
    freezes the clock are then never from its future."""
    return (datetime.now(UTC) + timedelta(minutes=2)).replace(second=0, microsecond=0)


def hh_mm(value: datetime) -> str:
    local = value.astimezone(JST)
    return f"{local.hour}時{local.minute:02d}分"


def long_date_time(value: datetime) -> str:
    local = value.astimezone(JST)
    return (
        f"{local.year}年{local.month}月{local.day}日（{WEEKDAYS[local.weekday()]}）"
        f"{local.hour}時{local.minute:02d}分"
    )


def actions(name: str) -> int:
    return _db.session.scalar(
        sa.select(sa.func.count()).select_from(AuditEvent).where(AuditEvent.action == name)
    )


def count(model) -> int:
    return _db.session.scalar(sa.select(sa.func.count()).select_from(model))


def otp_mails(address: str) -> int:
    return _db.session.scalar(
        sa.select(sa.func.count())
        .select_from(OutboundEmail)
        .where(
            OutboundEmail.to_address == address,
            OutboundEmail.subject.like("%ワンタイムパスワード%"),
        )
    )


def challenge_of(purpose: Purpose) -> OtpChallenge:
    """The newest challenge for `purpose`, read afresh."""
    _db.session.expire_all()
    return _db.session.scalars(
        sa.select(OtpChallenge)
        .where(OtpChallenge.purpose == purpose)
        .order_by(OtpChallenge.id.desc())
        .limit(1)
    ).one()


@pytest.fixture
def distinct_codes(monkeypatch) -> None:
    """Every code issued in the test differs from every other, so that "A's code" and "B's code" are
    never the same six digits by chance (1 in a million): what is left to tell them apart is the
    binding of each code to its own challenge."""
    codes = (f"{(123456 + 7919 * n) % 1_000_000:06d}" for n in itertools.count())
    monkeypatch.setattr(otp, "_new_code", lambda: next(codes))


def copy_of(app: Flask, client: FlaskClient) -> FlaskClient:
    """Another browser holding a copy of `client`'s cookie session as it is now."""
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    other = app.test_client()
    other.set_cookie(cookie.key, cookie.value, domain=cookie.domain)
    return other


@dataclass
class Flow:
    """One way of being asked for a one-time password, walked like a browser."""

    purpose: Purpose
    address: str  # where the code is mailed
    page: str  # where it is typed
    session_key: str  # the cookie session's key for the challenge binding
    success_location: str
    success_action: str  # the audit event a success writes, once
    ask: Callable[[FlaskClient], object]
    fields: Callable[[str], dict[str, str]]
    browser: Callable[[], FlaskClient]
    resend: str | None = None
    finish: Callable[[FlaskClient], object] = field(default=lambda client: None)


def make_flow(name: str, app: Flask) -> Flow:
    """Set up the data `name` needs and describe its walk."""
    if name == "registration":
        assert import_csv(OFFICES).imported
        return Flow(
            purpose=Purpose.REGISTRATION,
            address="sec1@demo.example.jp",
            page="/register/otp",
            session_key=registration_views.OTP_KEY,
            success_location="/register/details",
            success_action="registration.otp_passed",
            ask=lambda client: step1(client, "KJ000000000001"),
            fields=lambda code: {"code": code, "security_code": ""},
            browser=app.test_client,
            resend="/register/otp/resend",
            finish=lambda client: submit(client, "/register/details", details("boss@x.example.jp")),
        )
    publish_terms()
    user, password = make_registrant()
    if name == "login":
        return Flow(
            purpose=Purpose.LOGIN,
            address=user.email,
            page="/login/otp",
            session_key=portal_views.OTP_KEY,
            success_location="/password/change",
            success_action="portal.otp_passed",
            ask=lambda client: login(client, user.email, password),
            fields=lambda code: {"code": code},
            browser=app.test_client,
            resend="/login/otp/resend",
        )
    if name == "password_reset":
        return Flow(
            purpose=Purpose.PASSWORD_RESET,
            address=user.email,
            page="/password/reset",
            session_key=portal_views.RESET_KEY,
            success_location="/login",
            success_action="portal.password_reset",
            ask=lambda client: submit(client, "/password/forgot", {"email": user.email}),
            fields=lambda code: {"code": code, "new": RESET_PASSWORD, "confirm": RESET_PASSWORD},
            browser=app.test_client,
        )
    assert name == "email_change"
    full_first_login(app.test_client(), user, password)
    change = {"email": NEW_ADDRESS, "email_confirm": NEW_ADDRESS, "password": NEW_PASSWORD}
    return Flow(
        purpose=Purpose.EMAIL_CHANGE,
        address=NEW_ADDRESS,
        page="/mypage/email/confirm",
        session_key=portal_views.EMAIL_KEY,
        success_location="/mypage",
        success_action="portal.email_changed",
        ask=lambda client: submit(client, "/mypage/email", change),
        fields=lambda code: {"code": code},
        browser=lambda: signed_in_as(app, user),
    )


FLOWS = ["login", "registration", "password_reset", "email_change"]
# Where a browser whose challenge is used up is sent.
REPLAY_SENT_TO = {
    "login": "/login",
    "registration": "/register",
    "password_reset": "/password/forgot",
    "email_change": "/mypage/email",
}


# Rule 4 ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["login", "registration", "password_reset"])
def test_a_code_works_until_the_expiry_its_mail_states_and_not_a_second_later(
    app, db, name
) -> None:
    """Frozen clock: the challenge expires OTP_TTL_MINUTES after the mail, the mail states that minute
    in Japan time; the code works one second before it and is refused one second after it."""
    ttl = timedelta(minutes=app.config["OTP_TTL_MINUTES"])
    t0 = start_time()
    with time_machine.travel(t0, tick=False) as clock:
        flow = make_flow(name, app)
        first = flow.browser()
        flow.ask(first)
        challenge = challenge_of(flow.purpose)
        assert challenge.expires_at == t0 + ttl
        text = readable(last_mail_to(flow.address))[0]
        assert f"有効期限：{app.config['OTP_TTL_MINUTES']}分間（{hh_mm(t0 + ttl)}まで）" in text
        code = otp_of(flow.address)
        clock.move_to(t0 + ttl - timedelta(seconds=1))
        accepted = submit(first, flow.page, flow.fields(code))
        assert accepted.headers["Location"] == flow.success_location

        # A second code, mailed after the cooldown, typed a second after its expiry.
        t1 = t0 + ttl + timedelta(minutes=1)
        clock.move_to(t1)
        second = flow.browser()
        flow.ask(second)
        assert challenge_of(flow.purpose).expires_at == t1 + ttl
        assert f"（{hh_mm(t1 + ttl)}まで）" in readable(last_mail_to(flow.address))[0]
        late_code = otp_of(flow.address)
        clock.move_to(t1 + ttl + timedelta(seconds=1))
        refused = submit(second, flow.page, flow.fields(late_code))
        assert refused.status_code == 422
        assert EXPIRED in refused.text
        assert challenge_of(flow.purpose).consumed_at is None
    assert actions(flow.success_action) == 1
    if name == "login":
        assert count(PortalSession) == 1
    if name == "password_reset":
        user = db.session.scalars(sa.select(PortalUser)).one()
        assert passwords.verify_password(user.password_hash, RESET_PASSWORD)


# Rule 5 ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", FLOWS)
def test_a_code_works_once_and_its_replay_from_a_captured_cookie_is_refused(app, db, name) -> None:
    """The cookie session is copied before the code is verified (it holds the challenge binding); after
    the real browser used the code, the copy posts the same code with the same CSRF token: refused, and
    nothing happens a second time. The challenge itself refuses the binding and code again."""
    flow = make_flow(name, app)
    client = flow.browser()
    flow.ask(client)
    code = otp_of(flow.address)
    token = csrf_token(client.get(flow.page).text)
    captured = copy_of(app, client)
    with captured.session_transaction() as session:
        binding = session[flow.session_key]

    used = client.post(flow.page, data={"csrf_token": token, **flow.fields(code)})
    assert used.headers["Location"] == flow.success_location
    flow.finish(client)  # registration: the flow moves past the step the replay aims at
    consumed_at = challenge_of(flow.purpose).consumed_at
    assert consumed_at is not None
    sessions_before = count(PortalSession)

    replay = captured.post(flow.page, data={"csrf_token": token, **flow.fields(code)})
    assert replay.status_code == 302
    assert replay.headers["Location"] == REPLAY_SENT_TO[name]  # back to the start of the flow
    assert actions(flow.success_action) == 1
    assert challenge_of(flow.purpose).consumed_at == consumed_at
    assert count(PortalSession) == sessions_before
    with pytest.raises(otp.OtpUnavailable):
        otp.verify(binding, flow.purpose, code)
    db.session.rollback()
    if name == "login":
        assert captured.get("/mypage").headers["Location"] == "/login"
    if name == "password_reset":
        again = captured.post(
            flow.page,
            data={
                "csrf_token": token,
                "code": code,
                "new": OTHER_PASSWORD,
                "confirm": OTHER_PASSWORD,
            },
        )
        assert again.headers["Location"] == "/password/forgot"
        user = db.session.scalars(sa.select(PortalUser)).one()
        db.session.refresh(user)
        assert passwords.verify_password(user.password_hash, RESET_PASSWORD)
        assert not passwords.verify_password(user.password_hash, OTHER_PASSWORD)
    if name == "registration":
        from backoffice.accounts.models import Organization

        assert count(Organization) == 1


@pytest.mark.parametrize("name", FLOWS)
def test_two_concurrent_submits_of_the_right_code_succeed_exactly_once(
    app, db, database_url, name
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("concurrent requests need PostgreSQL (SQLite serialises writers)")
    flow = make_flow(name, app)
    client = flow.browser()
    flow.ask(client)
    code = otp_of(flow.address)
    token = csrf_token(client.get(flow.page).text)
    browsers = [client, copy_of(app, client)]
    barrier = threading.Barrier(len(browsers))
    responses = []

    def send(browser: FlaskClient) -> None:
        barrier.wait()
        responses.append(browser.post(flow.page, data={"csrf_token": token, **flow.fields(code)}))

    threads = [threading.Thread(target=send, args=(b,)) for b in browsers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(responses) == 2
    assert all(r.status_code in (302, 422) for r in responses)
    db.session.expire_all()
    assert actions(flow.success_action) == 1
    if name != "registration":
        # (The loser of a registration race may be sent on to the step the winner reached.)
        assert sorted(r.headers.get("Location") == flow.success_location for r in responses) == [
            False,
            True,
        ]
    if name == "login":
        assert count(PortalSession) == 1


# Rule 6 ------------------------------------------------------------------------------------------


def test_a_code_fails_in_another_users_challenge(app, registrant, db, distinct_codes) -> None:
    """User A's code typed into user B's open login challenge is a wrong code there; both codes still
    work where they belong."""
    a, a_password = registrant
    b, b_password = make_registrant(email="other@care.example.jp", office_number="04A0700017")
    browser_a, browser_b = app.test_client(), app.test_client()
    login(browser_a, a.email, a_password)
    login(browser_b, b.email, b_password)
    code_a, code_b = otp_of(a.email), otp_of(b.email)
    assert code_a != code_b
    refused = enter_otp(browser_b, code_a)
    assert refused.status_code == 422
    assert WRONG in refused.text
    assert count(PortalSession) == 0
    assert enter_otp(browser_a, code_a).headers["Location"] == "/password/change"
    assert enter_otp(browser_b, code_b).headers["Location"] == "/password/change"
    owners = set(db.session.scalars(sa.select(PortalSession.portal_user_id)))
    assert owners == {a.id, b.id}


def test_a_code_fails_for_any_other_purpose_even_in_the_same_browser(
    app, db, distinct_codes
) -> None:
    """One browser, one address, three open challenges (login, 初回利用登録, reset): each code is refused
    at the other two. A signed-in browser with an email change and a reset open: the same."""
    publish_terms()
    assert import_csv(OFFICES).imported
    # A portal user whose address is also an office's セキュリティ用メールアドレス.
    address = "sec1@demo.example.jp"
    _, password = make_registrant(email=address)
    browser = app.test_client()
    login(browser, address, password)
    login_code = otp_of(address)
    step1(browser, "KJ000000000001")
    registration_code = otp_of(address)
    submit(browser, "/password/forgot", {"email": address})
    reset_code = otp_of(address)
    assert len({login_code, registration_code, reset_code}) == 3

    def typed(page: str, code: str):
        data = {"code": code}
        if page == "/register/otp":
            data["security_code"] = ""
        if page == "/password/reset":
            data |= {"new": RESET_PASSWORD, "confirm": RESET_PASSWORD}
        return submit(browser, page, data)

    for page, others in (
        ("/login/otp", (registration_code, reset_code)),
        ("/register/otp", (login_code, reset_code)),
        ("/password/reset", (login_code, registration_code)),
    ):
        for code in others:
            response = typed(page, code)
            assert response.status_code == 422, (page, code)
            assert WRONG in response.text
    assert count(PortalSession) == 0
    assert actions("registration.otp_passed") == actions("portal.password_reset") == 0
    reset = challenge_of(Purpose.PASSWORD_RESET)
    assert (reset.consumed_at, reset.attempts) == (None, 2)  # still open: refused, not used up
    assert typed("/register/otp", registration_code).headers["Location"] == "/register/details"
    assert typed("/login/otp", login_code).headers["Location"] == "/password/change"

    # Email change and reset of a signed-in user, both open in one browser.
    other, other_password = make_registrant(
        email="other@care.example.jp", office_number="04A0700017"
    )
    full_first_login(app.test_client(), other, other_password)
    signed_in = signed_in_as(app, other)
    submit(
        signed_in,
        "/mypage/email",
        {"email": NEW_ADDRESS, "email_confirm": NEW_ADDRESS, "password": NEW_PASSWORD},
    )
    email_code = otp_of(NEW_ADDRESS)
    submit(signed_in, "/password/forgot", {"email": other.email})
    other_reset_code = otp_of(other.email)
    wrong_place = submit(signed_in, "/mypage/email/confirm", {"code": other_reset_code})
    assert wrong_place.status_code == 422
    assert WRONG in wrong_place.text
    wrong_place = submit(
        signed_in,
        "/password/reset",
        {"code": email_code, "new": RESET_PASSWORD, "confirm": RESET_PASSWORD},
    )
    assert wrong_place.status_code == 422
    assert WRONG in wrong_place.text
    db.session.refresh(other)
    assert other.email == "other@care.example.jp"
    assert (
        submit(signed_in, "/mypage/email/confirm", {"code": email_code}).headers["Location"]
        == "/mypage"
    )


def test_a_code_fails_in_another_browser_of_the_same_user(
    app, registrant, db, distinct_codes
) -> None:
    """A second browser of the same user, with its own open challenge (held within the cooldown, or a
    newer one after it), refuses the first browser's code; a code works only where it was asked for."""
    user, password = registrant
    first, second = app.test_client(), app.test_client()
    login(first, user.email, password)
    first_code = otp_of(user.email)
    login(
        second, user.email, password
    )  # within the cooldown: a challenge of its own, nothing mailed
    assert COOLDOWN in second.get("/login/otp").text
    refused = enter_otp(second, first_code)
    assert refused.status_code == 422
    assert WRONG in refused.text
    assert count(PortalSession) == 0
    # A browser with no challenge at all is sent back to the start.
    assert app.test_client().get("/login/otp").headers["Location"] == "/login"

    let_otp_cooldown_pass()
    third = app.test_client()
    login(third, user.email, password)  # a newer code: the first browser's code is void everywhere
    third_code = otp_of(user.email)
    assert third_code != first_code
    assert WRONG in enter_otp(third, first_code).text
    assert EXPIRED in enter_otp(first, third_code).text
    assert enter_otp(third, third_code).headers["Location"] == "/password/change"
    assert count(PortalSession) == 1


# Rule 7 ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("app_overrides", [{"PORTAL_LOCKOUT_THRESHOLD": 50}])
@pytest.mark.parametrize("name", ["login", "registration"])
def test_five_wrong_codes_void_the_challenge_until_a_new_code_is_sent(
    app, db, name, distinct_codes
) -> None:
    """After OTP_MAX_ATTEMPTS wrong codes the right code is refused too, and stays refused; only a new
    send (after the cooldown) gives a code that works, and the old one does not come back. (The account
    lockout, which 5 wrong login codes would also trigger, is rule 21's: it is set out of the way.)"""
    tries = app.config["OTP_MAX_ATTEMPTS"]
    t0 = start_time()
    with time_machine.travel(t0, tick=False) as clock:
        flow = make_flow(name, app)
        client = flow.browser()
        flow.ask(client)
        right = otp_of(flow.address)
        wrong = "000000"
        for remaining in range(tries - 1, 0, -1):
            assert (
                f"あと{remaining}回間違えると" in submit(client, flow.page, flow.fields(wrong)).text
            )
        assert EXHAUSTED in submit(client, flow.page, flow.fields(wrong)).text
        for _ in range(2):
            void = submit(client, flow.page, flow.fields(right))
            assert void.status_code == 422
            assert EXHAUSTED in void.text
        # Asking within the cooldown sends nothing, so nothing changes.
        submit(client, flow.resend, {}, page_url=flow.page)
        assert RESEND_WAIT in client.get(flow.page).text
        assert otp_mails(flow.address) == 1
        assert EXHAUSTED in submit(client, flow.page, flow.fields(right)).text

        clock.move_to(t0 + timedelta(seconds=app.config["OTP_RESEND_SECONDS"] + 1))
        submit(client, flow.resend, {}, page_url=flow.page)
        assert otp_mails(flow.address) == 2
        new = otp_of(flow.address)
        assert new != right
        assert WRONG in submit(client, flow.page, flow.fields(right)).text
        assert actions(flow.success_action) == 0
        done = submit(client, flow.page, flow.fields(new))
        assert done.headers["Location"] == flow.success_location
    assert actions(flow.success_action) == 1


# Rule 8 ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["login", "registration"])
def test_every_resend_voids_the_previous_code_and_the_cooldown_and_cap_hold(
    app, db, name, distinct_codes
) -> None:
    """Through each resend route: within OTP_RESEND_SECONDS nothing is mailed and the open code still
    works; after it a new code is mailed and the previous one is refused; at OTP_HOURLY_CAP mails in
    the hour nothing more is mailed."""
    cooldown = timedelta(seconds=app.config["OTP_RESEND_SECONDS"])
    cap = app.config["OTP_HOURLY_CAP"]
    t0 = start_time()
    with time_machine.travel(t0, tick=False) as clock:
        flow = make_flow(name, app)
        client = flow.browser()
        flow.ask(client)
        codes = [otp_of(flow.address)]
        clock.move_to(t0 + cooldown - timedelta(seconds=1))
        submit(client, flow.resend, {}, page_url=flow.page)
        assert RESEND_WAIT in client.get(flow.page).text
        assert otp_mails(flow.address) == 1
        for n in range(1, cap):
            moment = t0 + n * (cooldown + timedelta(seconds=1))
            clock.move_to(moment)
            submit(client, flow.resend, {}, page_url=flow.page)
            assert otp_mails(flow.address) == n + 1
            codes.append(otp_of(flow.address))
            assert codes[-1] != codes[-2]
            # The previous code is refused now (each resend starts the tries afresh).
            assert WRONG in submit(client, flow.page, flow.fields(codes[-2])).text
            if n < cap - 1:  # (at the cap, the cap is what is said)
                kept = challenge_of(flow.purpose).code_hash
                clock.move_to(moment + cooldown - timedelta(seconds=1))
                submit(client, flow.resend, {}, page_url=flow.page)
                assert RESEND_WAIT in client.get(flow.page).text
                assert otp_mails(flow.address) == n + 1
                assert challenge_of(flow.purpose).code_hash == kept  # the open code stays
        clock.move_to(t0 + cap * (cooldown + timedelta(seconds=1)))
        submit(client, flow.resend, {}, page_url=flow.page)
        assert CAP in client.get(flow.page).text
        assert otp_mails(flow.address) == cap
        # Neither refusal took the open code away.
        done = submit(client, flow.page, flow.fields(codes[-1]))
        assert done.headers["Location"] == flow.success_location


# Rule 9 ------------------------------------------------------------------------------------------


def every_text_in_the_database() -> list[tuple[str, str, str]]:
    """(table, column, text) for every non-empty value of every column of every table."""
    found = []
    for table in _db.metadata.sorted_tables:
        for row in _db.session.execute(sa.select(table)).mappings():
            for column, value in row.items():
                if value is None:
                    continue
                if isinstance(value, bytes | bytearray | memoryview):
                    text = bytes(value).decode("latin-1")
                elif isinstance(value, dict | list):
                    text = json.dumps(value, ensure_ascii=False)
                else:
                    text = str(value)
                found.append((table.name, column, text))
    return found


def contains(text: str, secret: str) -> bool:
    """Long secrets anywhere; short ones (codes) as a whole token, not inside a hash or a token."""
    if len(secret) >= 12:
        return secret in text
    return re.search(rf"(?<![0-9A-Za-z]){re.escape(secret)}(?![0-9A-Za-z])", text) is not None


def test_no_plaintext_code_or_password_is_in_any_table_or_log_after_every_flow(
    app, db, caplog
) -> None:
    """初回利用登録 (e-claims password, セキュリティコード, its one-time password), the first login (initial
    password, login code, new password), a user added, an email change and a password reset: afterwards
    no column of any table and no log record holds any of those secrets in clear."""
    caplog.set_level("DEBUG")
    # Every statement and its parameters too (SQLAlchemy keeps its own loggers at WARNING otherwise).
    caplog.set_level("DEBUG", logger="sqlalchemy.engine")
    publish_terms()
    assert import_csv(OFFICES).imported
    secrets = {"e-claims password": ECLAIMS_PASSWORD, "security code": "7391"}

    registering = app.test_client()
    step1(registering, "KJ000000000003")
    secrets["registration code"] = otp_of("sec3@demo.example.jp")
    wrong = submit(
        registering,
        "/register/otp",
        {"code": secrets["registration code"], "security_code": "1234"},
    )
    assert wrong.status_code == 422
    passed = submit(
        registering,
        "/register/otp",
        {"code": secrets["registration code"], "security_code": "7391"},
    )
    assert passed.headers["Location"] == "/register/details"
    email = "boss@office.example.jp"
    assert submit(registering, "/register/details", details(email)).status_code == 302
    user = db.session.scalars(sa.select(PortalUser)).one()
    secrets["initial password"] = initial_password_of(user)

    portal = app.test_client()
    login(portal, email, secrets["initial password"])
    secrets["login code"] = otp_of(email)
    enter_otp(portal, secrets["login code"])
    secrets["new password"] = NEW_PASSWORD
    submit(
        portal,
        "/password/change",
        {"current": secrets["initial password"], "new": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    submit(portal, "/terms", {"agree": "y", "decision": "agree"})
    added = submit(portal, "/mypage/users/new", details("member@office.example.jp"))
    assert added.headers["Location"] == "/mypage"
    member = db.session.scalars(
        sa.select(PortalUser).where(PortalUser.email == "member@office.example.jp")
    ).one()
    secrets["added user's initial password"] = initial_password_of(member)
    submit(
        portal,
        "/mypage/email",
        {"email": NEW_ADDRESS, "email_confirm": NEW_ADDRESS, "password": NEW_PASSWORD},
    )
    secrets["email change code"] = otp_of(NEW_ADDRESS)
    assert (
        submit(portal, "/mypage/email/confirm", {"code": secrets["email change code"]}).headers[
            "Location"
        ]
        == "/mypage"
    )
    resetting = app.test_client()
    submit(resetting, "/password/forgot", {"email": NEW_ADDRESS})
    secrets["reset code"] = otp_of(NEW_ADDRESS)
    secrets["reset password"] = RESET_PASSWORD
    reset = submit(
        resetting,
        "/password/reset",
        {"code": secrets["reset code"], "new": RESET_PASSWORD, "confirm": RESET_PASSWORD},
    )
    assert reset.headers["Location"] == "/login"
    assert login(app.test_client(), NEW_ADDRESS, RESET_PASSWORD).status_code == 302

    # What is stored instead: argon2 hashes and HMACs.
    office = db.session.scalars(
        sa.select(EClaimsOffice).where(EClaimsOffice.eclaims_id == "KJ000000000003")
    ).one()
    assert office.password_hash.startswith("$argon2id$")
    assert office.security_code_hash.startswith("$argon2id$")
    db.session.expire_all()
    assert all(
        u.password_hash.startswith("$argon2id$") for u in db.session.scalars(sa.select(PortalUser))
    )
    assert all(
        re.fullmatch(r"[0-9a-f]{64}", c.code_hash)
        for c in db.session.scalars(sa.select(OtpChallenge))
        if c.sends
    )
    texts = every_text_in_the_database()
    tables = {table for table, _, _ in texts}
    for table in ("eclaims_offices", "otp_challenges", "registration_flows", "portal_users"):
        assert table in tables
    assert len(set(secrets.values())) == len(secrets)
    # The sweep sees what is there: the office's ID, the new address, and the log of every statement.
    assert any("KJ000000000003" in text for _, _, text in texts)
    assert any(NEW_ADDRESS in text for table, _, text in texts if table == "portal_users")
    assert any("otp_challenges" in r.getMessage() for r in caplog.records)
    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    for what, secret in secrets.items():
        for table, column, text in texts:
            assert not contains(text, secret), (what, table, column)
        assert not contains(logged, secret), what


# Rule 13 -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("app_overrides", [{}, {"INITIAL_PASSWORD_HOURS": 1}])
def test_the_initial_password_is_16_csprng_characters_and_works_only_for_the_configured_hours(
    app, db, monkeypatch
) -> None:
    """≥16 characters drawn one by one by `secrets.choice` from an alphabet without look-alikes; it
    expires INITIAL_PASSWORD_HOURS after it is made (as its mail says), works a second before that
    and not a second after."""
    hours = app.config["INITIAL_PASSWORD_HOURS"]
    drawn: list[tuple[str, str]] = []
    real_choice = passwords.secrets.choice

    def spy(alphabet):
        picked = real_choice(alphabet)
        drawn.append((alphabet, picked))
        return picked

    monkeypatch.setattr(passwords.secrets, "choice", spy)
    t0 = start_time()
    with time_machine.travel(t0, tick=False) as clock:
        publish_terms()
        user, password = make_registrant()
        monkeypatch.setattr(passwords.secrets, "choice", real_choice)
        assert len(password) >= 16
        assert "".join(picked for _, picked in drawn) == password
        alphabet = set(drawn[0][0])
        assert all(set(a) == alphabet for a, _ in drawn)
        assert len(alphabet) >= 50  # at least 90 bits for 16 characters
        assert not alphabet & LOOK_ALIKES
        assert set(password) <= alphabet
        assert user.initial_password_expires_at == t0 + timedelta(hours=hours)
        assert (
            f"初期パスワードの有効期限：{long_date_time(t0 + timedelta(hours=hours))}"
            in (readable(last_mail_to(user.email))[0])
        )
        clock.move_to(t0 + timedelta(hours=hours, seconds=-1))
        assert login(app.test_client(), user.email, password).headers["Location"] == "/login/otp"
        clock.move_to(t0 + timedelta(hours=hours, seconds=1))
        late = login(app.test_client(), user.email, password)
        assert late.status_code == 422
        assert "初期パスワードの有効期限が切れています" in late.text
    assert count(PortalSession) == 0
    # Many of them: all different, all from the alphabet.
    many = {passwords.generate_initial_password() for _ in range(500)}
    assert len(many) == 500
    assert all(len(p) >= 16 and set(p) <= alphabet for p in many)


def test_an_initial_password_that_expires_during_the_login_cannot_set_the_new_password(
    app, db
) -> None:
    """Typed a second before the expiry, the one-time password entered after it: the session exists,
    but the expired initial password no longer works as the current password."""
    hours = app.config["INITIAL_PASSWORD_HOURS"]
    t0 = start_time()
    with time_machine.travel(t0, tick=False) as clock:
        publish_terms()
        user, password = make_registrant()
        client = app.test_client()
        clock.move_to(t0 + timedelta(hours=hours, seconds=-1))
        login(client, user.email, password)
        clock.move_to(t0 + timedelta(hours=hours, seconds=30))
        assert enter_otp(client, otp_of(user.email)).headers["Location"] == "/password/change"
        changed = submit(
            client,
            "/password/change",
            {"current": password, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD},
        )
        assert changed.status_code == 422
        db.session.refresh(user)
        assert user.must_change_password
        assert passwords.verify_password(user.password_hash, password)


# Rule 43 -----------------------------------------------------------------------------------------


def test_a_reset_needs_the_mailed_code_which_works_once_and_expires(app, registrant, db) -> None:
    """No code, a wrong code or none asked for: the password stays. The right code resets it once; the
    same code replayed from a cookie captured before is refused. A code typed after its TTL is refused
    as expired (frozen clock), and the password stays."""
    user, initial = registrant
    full_first_login(app.test_client(), user, initial)  # the password is NEW_PASSWORD now

    def password_is(expected: str) -> None:
        db.session.expire_all()
        stored = db.session.get(PortalUser, user.id).password_hash
        assert passwords.verify_password(stored, expected)
        for other in {NEW_PASSWORD, RESET_PASSWORD, OTHER_PASSWORD} - {expected}:
            assert not passwords.verify_password(stored, other)

    # Without asking first: no reset page.
    stranger = app.test_client()
    assert stranger.get("/password/reset").headers["Location"] == "/password/forgot"
    client = app.test_client()
    submit(client, "/password/forgot", {"email": user.email})
    code = otp_of(user.email)
    wrong = "000000" if code != "000000" else "111111"
    for typed in ("", wrong):
        refused = submit(
            client,
            "/password/reset",
            {"code": typed, "new": RESET_PASSWORD, "confirm": RESET_PASSWORD},
        )
        assert refused.status_code == 422
        password_is(NEW_PASSWORD)
    assert login(app.test_client(), user.email, NEW_PASSWORD).status_code == 302

    token = csrf_token(client.get("/password/reset").text)
    captured = copy_of(app, client)
    done = client.post(
        "/password/reset",
        data={"csrf_token": token, "code": code, "new": RESET_PASSWORD, "confirm": RESET_PASSWORD},
    )
    assert done.headers["Location"] == "/login"
    password_is(RESET_PASSWORD)
    replay = captured.post(
        "/password/reset",
        data={"csrf_token": token, "code": code, "new": OTHER_PASSWORD, "confirm": OTHER_PASSWORD},
    )
    assert replay.headers["Location"] == "/password/forgot"
    password_is(RESET_PASSWORD)
    assert actions("portal.password_reset") == 1

    ttl = timedelta(minutes=app.config["OTP_TTL_MINUTES"])
    t0 = start_time()
    with time_machine.travel(t0, tick=False) as clock:
        late = app.test_client()
        submit(late, "/password/forgot", {"email": user.email})
        late_code = otp_of(user.email)
        assert challenge_of(Purpose.PASSWORD_RESET).expires_at == t0 + ttl
        clock.move_to(t0 + ttl + timedelta(seconds=1))
        expired = submit(
            late,
            "/password/reset",
            {"code": late_code, "new": OTHER_PASSWORD, "confirm": OTHER_PASSWORD},
        )
        assert expired.status_code == 422
        assert EXPIRED in expired.text
    password_is(RESET_PASSWORD)
    assert actions("portal.password_reset") == 1
    assert login(app.test_client(), user.email, RESET_PASSWORD).status_code == 302
