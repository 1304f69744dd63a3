"""Identity rules 35, 36, 39, 40, 42 and 44 for the back office and every request: who the back office
refuses, CSRF on every Flask-Admin change, the security headers of every page in production, what the
audit log records of each event, per-IP limits behind spoofed X-Forwarded-For, and operators' TOTP seeds
and their stored last step (docs/security.md)."""

import base64
import re
import threading
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
import sqlalchemy as sa
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.exc import OperationalError

from backoffice.accounts import first_login
from backoffice.accounts.models import PortalUser, TermsVersion
from backoffice.accounts.users import SESSIONS as PORTAL_SESSIONS
from backoffice.accounts.views import SESSION_KEY as PORTAL_SESSION_KEY
from backoffice.admin.access import SESSION_KEY
from backoffice.audit.models import AuditEvent, Outcome
from backoffice.eclaims.importer import import_csv
from backoffice.extensions import db as _db
from backoffice.inquiries.canned import CannedReply
from backoffice.inquiries.models import Inquiry, InquiryCategory
from backoffice.inquiries.vocabulary import InquiryStatus
from backoffice.mail.outbox import readable
from backoffice.operators import operations
from backoffice.operators.models import Operator, OperatorSession, Role
from tests.builders.accounts import (
    NEW_PASSWORD,
    enter_otp,
    full_first_login,
    initial_password_of,
    last_mail_to,
    let_otp_cooldown_pass,
    make_registrant,
    otp_of,
    publish_terms,
    signed_in_as,
    submit,
)
from tests.builders.accounts import login as portal_login
from tests.builders.inquiries import general_input, seed_tree, send
from tests.builders.operators import PASSWORD, current_code, login, make_operator
from tests.builders.web import csrf_token

CSRF_REFUSED = "送信を受け付けられませんでした"
# Back-office pages for people who are not signed in: sign-in, first enrolment, the mailed link.
PUBLIC_ADMIN = {
    "admin_auth.login",
    "admin_auth.enrol",
    "admin_credentials.enrolment_link",
    "admin.static",
}


# --- helpers ---------------------------------------------------------------------------------------


def state(*, with_audit: bool = False) -> dict[str, list]:
    """Every row of every table, to show that a refused request changed nothing. Left out: when a
    session was last seen (a GET may note it) and, unless `with_audit`, the append-only audit log."""
    rows = {}
    for table in _db.metadata.sorted_tables:
        if table.name == "audit_events" and not with_audit:
            continue
        columns = [c for c in table.columns if c.name != "last_seen_at"]
        rows[table.name] = _db.session.execute(
            sa.select(*columns).order_by(*table.primary_key.columns)
        ).all()
    return rows


def count(model, *where) -> int:
    return _db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def admin_rules(app: Flask) -> list:
    return [
        r
        for r in app.url_map.iter_rules()
        if r.rule.startswith("/admin") and r.endpoint not in PUBLIC_ADMIN
    ]


def url_of(rule, ids: dict[str, int]) -> str:
    """The rule's URL with sample arguments: the row of its view for `?id=` pages."""
    view = rule.endpoint.split(".")[0]
    row = ids.get(view, 1)
    url = re.sub(r"<int:inquiry_id>", str(ids.get("tickets", 1)), rule.rule)
    url = re.sub(r"<int:\w+>", str(ids.get("tickets", 1)), url)
    url = url.replace("<export_type>", "csv").replace("<token>", "no-such-token")
    if rule.endpoint.endswith((".edit_view", ".details_view")):
        url += f"?id={row}"
    if rule.endpoint == "tickets.bulk":
        url += f"?kind=status&ids={row}"
    return url


def change_data(rule, ids: dict[str, int], action: str | None = None) -> dict[str, str]:
    """Form data that would change something real at `rule`, were it accepted."""
    view = rule.endpoint.split(".")[0]
    row = str(ids.get(view, 1))
    return {
        "id": row,
        "rowid": row,
        "list_form_pk": row,
        "action": action or "delete",
        "ids": row,
        "target": "spam",
        "note-body": "メモ",
        "body": "本文",
        "title": "件名",
        "name": "改名",
        "version": "2099-01",
        "position": "9",
        "kind": "general",
        "is_active": "y",
        "role": "admin",
        "email": "intruder@ops.example.jp",
        "stage": "password",
        "password": PASSWORD,
        "current": PASSWORD,
        "new": NEW_PASSWORD,
        "confirm": NEW_PASSWORD,
        "code": "123456",
    }


def operator_client(app: Flask, operator: Operator, **request_args) -> FlaskClient:
    client = app.test_client()
    key = operations.start_session(operator, "127.0.0.1")
    with client.session_transaction(**request_args) as session:
        session[SESSION_KEY] = key
    client.operator = operator  # type: ignore[attr-defined]
    return client


def ready_portal_user(
    email: str = "registrant@clinic.example.jp", **kwargs
) -> tuple[PortalUser, str]:
    """A registrant past the first-login steps (a password of their own, consent to the current
    terms), and that password."""
    user, password = make_registrant(email=email, **kwargs)
    user.must_change_password = False
    user.initial_password_expires_at = None
    _db.session.commit()
    if (terms := first_login.current_terms()) is not None:
        first_login.accept_terms(user, terms)
    return user, password


@pytest.fixture
def targets(app, client, db) -> dict[str, int]:
    """One real row for each back-office screen, to aim every request at."""
    seed_tree()
    publish_terms()
    assert send(client, general_input()).status_code == 302
    inquiry = db.session.scalars(sa.select(Inquiry)).one()
    user, _ = ready_portal_user()
    draft = TermsVersion(version="2030-01", title="利用規約", body="第1条 下書き")
    canned = CannedReply(title="挨拶", body="お問い合わせありがとうございます。", position=1)
    db.session.add_all([draft, canned])
    db.session.commit()
    colleague = make_operator(Role.AGENT, email="colleague@ops.example.jp")
    category = db.session.scalars(
        sa.select(InquiryCategory).where(InquiryCategory.name == "費用・補助金")
    ).one()
    return {
        "tickets": inquiry.id,
        "portal_users": user.id,
        "organizations": user.organization_id,
        "terms": draft.id,
        "canned": canned.id,
        "categories": category.id,
        "operators": colleague.id,
        "audit": db.session.scalars(sa.select(AuditEvent.id)).first(),
    }


# --- rule 35 ---------------------------------------------------------------------------------------


def test_rule_35_every_admin_route_and_method_refuses_non_operators(app, targets, db) -> None:
    """Every /admin route (GET, HEAD and POST, POST-only ones included, with a valid CSRF token)
    sends anonymous visitors, portal users (signed in, or still on the initial password) and
    operators whose account was disabled to sign-in (or answers 403), and changes nothing."""
    registrant = db.session.get(PortalUser, targets["portal_users"])
    newcomer, _ = make_registrant(email="new@care.example.jp", office_number="04A0700017")
    gone = make_operator(Role.ADMIN, email="gone@ops.example.jp")
    gone_client = operator_client(app, gone)
    gone.is_active = False
    db.session.commit()
    assert gone_client.get("/admin/").status_code == 302  # its session ends at this first request
    visitors = {
        "anonymous": app.test_client(),
        "portal user": signed_in_as(app, registrant),
        "portal user on the initial password": signed_in_as(app, newcomer),
        "disabled operator": gone_client,
    }
    assert visitors["portal user"].get("/mypage").status_code == 200
    rules = sorted(admin_rules(app), key=lambda r: r.endpoint == "admin_auth.logout")
    post_only = [r for r in rules if "GET" not in r.methods]
    assert len(post_only) >= 27
    before = state()
    tried = 0
    for who, client in visitors.items():
        token = csrf_token(client.get("/inquiry").text)
        for rule in rules:
            url = url_of(rule, targets)
            for method in sorted(rule.methods & {"GET", "HEAD", "POST"}):
                if method == "POST":
                    data = {"csrf_token": token, **change_data(rule, targets, "disable")}
                    response = client.post(url, data=data)
                else:
                    response = client.open(url, method=method)
                tried += 1
                assert response.status_code in (302, 403), (who, method, url)
                if response.status_code == 302:
                    assert response.headers["Location"].startswith("/admin/login"), (who, url)
    assert tried > 4 * 150
    assert state() == before
    db.session.refresh(registrant)
    assert registrant.is_active
    inquiry = db.session.get(Inquiry, targets["tickets"])
    assert inquiry.status is InquiryStatus.NEW


# --- rule 36 ---------------------------------------------------------------------------------------


def test_rule_36_every_admin_change_without_a_valid_csrf_token_gets_400_and_changes_nothing(
    app, targets, signed_in, db
) -> None:
    """Every POST under /admin (Flask-Admin's create, edit, delete, every action of every view, the
    list's ajax update, the ticket page, issuance, bulk changes, invites, credentials, logout) by an
    admin without a token, with an empty, a forged or another session's token: 400, and no row of
    any table (the audit log included) changes. The same requests with the token do change things."""
    admin = signed_in(Role.ADMIN)
    other_admin = operator_client(app, make_operator(Role.ADMIN, email="other@ops.example.jp"))
    foreign = csrf_token(other_admin.get("/admin/").text)
    admin.get("/admin/")  # this session has a token of its own, which is never sent
    adm = app.extensions["admin"][0]
    actions = {
        v.endpoint: [name for name, _ in v._actions]
        for v in adm._views
        if getattr(v, "_actions", None)
    }
    assert actions["portal_users"] >= ["delete", "disable", "enable", "lock", "reissue", "unlock"]
    requests = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/admin") or "POST" not in rule.methods:
            continue
        names = actions.get(rule.endpoint.split(".")[0], ["delete"])
        for name in names if rule.endpoint.endswith(".action_view") else [None]:
            requests.append((url_of(rule, targets), change_data(rule, targets, name)))
    assert len(requests) > 60
    before = state(with_audit=True)
    for url, data in requests:
        for token in (None, "", "forged-token", foreign):
            payload = dict(data) if token is None else {**data, "csrf_token": token}
            response = admin.post(url, data=payload)
            assert response.status_code == 400, (url, data.get("action"), token)
            assert CSRF_REFUSED in response.text, url
    assert state(with_audit=True) == before
    assert admin.get("/admin/").status_code == 200  # not even the logout went through

    # With the token, the same kind of request changes what it says.
    token = csrf_token(admin.get("/admin/").text)

    def action(view: str, name: str) -> None:
        row = targets[view]
        response = admin.post(
            f"/admin/{view}/action/", data={"csrf_token": token, "action": name, "rowid": row}
        )
        assert response.status_code == 302, (view, name)

    action("tickets", "mark_spam")
    action("portal_users", "disable")
    action("terms", "publish")
    action("operators", "reset_password")
    created = admin.post(
        "/admin/canned/new/",
        data={"csrf_token": token, "title": "新しい定型文", "body": "本文", "position": "2"},
    )
    assert created.status_code == 302
    assert db.session.get(Inquiry, targets["tickets"]).status is InquiryStatus.SPAM
    assert db.session.get(PortalUser, targets["portal_users"]).is_active is False
    assert db.session.get(TermsVersion, targets["terms"]).published_at is not None
    assert count(CannedReply) == 2
    assert count(OperatorSession, OperatorSession.revoked_at.is_not(None)) == 0
    admin.post("/admin/logout", data={"csrf_token": token})
    assert admin.get("/admin/").status_code == 302


# --- rule 39 ---------------------------------------------------------------------------------------

BASE = "https://localhost"
PRODUCTION = {
    "TESTING": False,
    "DEVELOPMENT": False,
    "PUBLIC_URL": BASE,
    "MAIL_SERVER": "mail.example",
    "MAIL_SUPPRESS_SEND": True,
    "MAIL_DELIVER_IN_BACKGROUND": False,
    "RATELIMIT_ENABLED": True,
    "REGISTRATION_LIMIT": "1 per minute",
}
REFERRER_POLICIES = {
    "strict-origin-when-cross-origin",
    "no-referrer",
    "same-origin",
    "strict-origin",
}


def header_problems(response) -> list[str]:
    """What is missing from a response's security headers (rule 39); empty when all is well."""
    headers = response.headers
    problems = []
    hsts = re.search(r"max-age=(\d+)", headers.get("Strict-Transport-Security", ""))
    if not hsts or int(hsts.group(1)) < 31536000:
        problems.append("HSTS max-age >= 31536000")
    if "frame-ancestors 'none'" not in headers.get("Content-Security-Policy", ""):
        problems.append("CSP frame-ancestors 'none'")
    if headers.get("X-Content-Type-Options") != "nosniff":
        problems.append("nosniff")
    if headers.get("Referrer-Policy") not in REFERRER_POLICIES:
        problems.append("Referrer-Policy")
    if headers.get("Cross-Origin-Opener-Policy") != "same-origin":
        problems.append("Cross-Origin-Opener-Policy")
    return problems


@pytest.mark.parametrize("app_overrides", [PRODUCTION])
def test_rule_39_every_html_page_in_production_carries_all_five_security_headers(app, db) -> None:
    assert not app.testing
    assert not app.config["DEVELOPMENT"]

    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("an unexpected error")

    @app.get("/database-down")
    def database_down() -> str:
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    def browser() -> FlaskClient:
        client = app.test_client()
        # Flask-WTF checks the Referer of HTTPS posts (WTF_CSRF_SSL_STRICT), as a browser sends it.
        client.environ_base["HTTP_REFERER"] = f"{BASE}/"
        return client

    anonymous = browser()
    seed_tree()
    publish_terms()
    sent = send(anonymous, general_input())
    assert sent.status_code == 302, sent.text
    inquiry = db.session.scalars(sa.select(Inquiry)).one()
    status_link = re.search(
        r"https?://localhost(/inquiry/status/\S+)", readable(last_mail_to(inquiry.email))[0]
    ).group(1)
    user, password = ready_portal_user()
    portal = browser()
    with portal.session_transaction(base_url=BASE) as session:
        session[PORTAL_SESSION_KEY] = PORTAL_SESSIONS.start(user, "127.0.0.1")
    admin = browser()
    with admin.session_transaction(base_url=BASE) as session:
        session[SESSION_KEY] = operations.start_session(make_operator(Role.ADMIN), "127.0.0.1")
    agent = browser()
    with agent.session_transaction(base_url=BASE) as session:
        session[SESSION_KEY] = operations.start_session(make_operator(Role.AGENT), "127.0.0.1")
    assert portal.get("/mypage", base_url=BASE).status_code == 200
    assert admin.get("/admin/", base_url=BASE).status_code == 200

    checked: list[tuple[str, str, int]] = []
    problems: list[tuple[str, str, int, list[str]]] = []

    def check(who: str, response, url: str) -> None:
        response.close()  # a file's response (the icon) holds its file open until closed
        if response.mimetype != "text/html":
            return
        checked.append((who, url, response.status_code))
        if found := header_problems(response):
            problems.append((who, url, response.status_code, found))

    ids = {"tickets": inquiry.id, "portal_users": user.id, "organizations": user.organization_id}
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or "static" in rule.endpoint:
            continue
        url = status_link if rule.endpoint == "inquiries.status" else url_of(rule, ids)
        for who, client in (("anonymous", browser()), ("portal", portal), ("admin", admin)):
            check(who, client.get(url, base_url=BASE), url)
    # Pages in the middle of a flow.
    pending = browser()
    check("flow", portal_login(pending, user.email, "a wrong password"), "/login (422)")
    portal_login(pending, user.email, password)
    check("flow", pending.get("/login/otp", base_url=BASE), "/login/otp")
    flows = browser()
    page = flows.get("/password/forgot", base_url=BASE)
    flows.post(
        "/password/forgot",
        base_url=BASE,
        data={"csrf_token": csrf_token(page.text), "email": user.email},
    )
    check("flow", flows.get("/password/reset", base_url=BASE), "/password/reset")
    # Every error page a person can meet.
    token = csrf_token(anonymous.get("/register", base_url=BASE).text)
    errors = {
        400: anonymous.post("/inquiry", base_url=BASE, data={"name": "no token"}),
        403: agent.get("/admin/operators/", base_url=BASE),
        404: anonymous.get("/no-such-page", base_url=BASE),
        405: anonymous.get("/logout", base_url=BASE),
        413: anonymous.post("/inquiry/link", base_url=BASE, data={"body": "x" * 300_000}),
        500: anonymous.get("/boom", base_url=BASE),
        503: anonymous.get("/database-down", base_url=BASE),
    }
    register = {"csrf_token": token, "eclaims_id": "KJ000000000001", "password": "x"}
    anonymous.post("/register", base_url=BASE, data=register)
    errors[429] = anonymous.post("/register", base_url=BASE, data=register)
    errors["400 (unknown host)"] = anonymous.get("/", base_url="https://evil.example")
    for code, response in errors.items():
        expected = int(str(code)[:3])
        assert response.status_code == expected, (code, response.status_code)
        check("error", response, str(code))
    assert {status for _, _, status in checked} >= {200, 302, 400, 403, 404, 405, 413, 429}
    assert {status for _, _, status in checked} >= {500, 503}
    assert any(url == status_link for _, url, _ in checked)
    assert len(checked) > 150
    assert problems == []


# --- rule 40 ---------------------------------------------------------------------------------------

OFFICES = (
    "eclaims_id,password,security_email,security_code,office_number,office_name,kind\n"
    "KJ000000000003,eclaims-pass-1,sec3@demo.example.jp,7391,2710100039,みどりケア,care\n"
)
OFFICE_IP = "203.0.113.7"
REGISTRANT_IP = "198.51.100.23"
STAFF_IP = "198.51.100.42"
OPERATOR_IP = "192.0.2.80"


def events_since(first_id: int) -> list[AuditEvent]:
    return list(
        _db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.id > first_id).order_by(AuditEvent.id)
        )
    )


def last_event_id() -> int:
    return _db.session.scalar(sa.select(sa.func.coalesce(sa.func.max(AuditEvent.id), 0)))


def assert_well_formed(events: list[AuditEvent], since: datetime, until: datetime) -> None:
    """Each event has its time (aware UTC, within the test), an actor, the client's IP and an
    outcome."""
    assert events
    slack = timedelta(seconds=1)
    for event in events:
        where = (event.action, event.id)
        assert event.occurred_at.utcoffset() == timedelta(0), where
        assert since - slack <= event.occurred_at <= until + slack, where
        assert event.actor_type in ("anonymous", "portal_user", "operator"), where
        assert event.actor_id is not None or event.actor_label, where
        assert event.ip_address, where
        assert isinstance(event.outcome, Outcome), where


def one(events: list[AuditEvent], action: str, outcome: Outcome, **expected) -> AuditEvent:
    """The event of `action` with `outcome` whose fields include `expected` (the first of them)."""
    for event in events:
        if (
            event.action == action
            and event.outcome is outcome
            and all(getattr(event, k) == v for k, v in expected.items())
        ):
            return event
    raise AssertionError(f"no {action} {outcome.value} with {expected}")


def test_rule_40_every_registration_step_is_audited_with_time_actor_ip_and_outcome(app, db) -> None:
    publish_terms()
    assert import_csv(OFFICES).imported
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = OFFICE_IP
    start = last_event_id()
    since = datetime.now(UTC)
    wrong = submit(client, "/register", {"eclaims_id": "KJ000000000003", "password": "wrong"})
    assert wrong.status_code == 422
    submit(client, "/register", {"eclaims_id": "KJ000000000003", "password": "eclaims-pass-1"})
    code = otp_of("sec3@demo.example.jp")
    other = "000000" if code != "000000" else "111111"
    wrong_pair = submit(client, "/register/otp", {"code": code, "security_code": "0000"})
    assert wrong_pair.status_code == 422
    submit(client, "/register/otp", {"code": other, "security_code": "7391"})
    passed = submit(client, "/register/otp", {"code": code, "security_code": "7391"})
    assert passed.headers["Location"] == "/register/details"
    done = submit(
        client,
        "/register/details",
        {
            "name": "鈴木 一郎",
            "name_kana": "スズキ イチロウ",
            "email": "boss@office.example.jp",
            "email_confirm": "boss@office.example.jp",
            "phone": "045-123-4567",
            "department": "",
        },
    )
    assert done.headers["Location"] == "/register/complete"
    events = events_since(start)
    assert_well_formed(events, since, datetime.now(UTC))
    assert {e.ip_address for e in events} == {OFFICE_IP}
    office = {"actor_type": "anonymous", "actor_label": "KJ000000000003"}
    one(events, "registration.credentials", Outcome.FAILURE, **office)
    one(events, "registration.otp_sent", Outcome.SUCCESS, **office)
    one(events, "registration.security_code_failed", Outcome.FAILURE, **office)
    one(events, "registration.otp_failed", Outcome.FAILURE, **office)
    one(events, "registration.otp_passed", Outcome.SUCCESS, **office)
    one(events, "registration.completed", Outcome.SUCCESS, **office)


def test_rule_40_logins_otps_lockout_passwords_consent_and_users_are_audited(app, db) -> None:
    publish_terms()
    user, password = make_registrant()
    registrant = app.test_client()
    registrant.environ_base["REMOTE_ADDR"] = REGISTRANT_IP
    start = last_event_id()
    since = datetime.now(UTC)
    unknown = portal_login(registrant, "nobody@clinic.example.jp", "whatever it is")
    assert unknown.status_code == 422
    assert portal_login(registrant, user.email, "not the password at all").status_code == 422
    portal_login(registrant, user.email, password)
    code = otp_of(user.email)
    enter_otp(registrant, "000000" if code != "000000" else "111111")
    let_otp_cooldown_pass()
    full_first_login(registrant, user, password)  # otp passed, login, password changed, consent
    assert submit(registrant, "/mypage/users/new", _staff_input()).status_code == 302
    staff = db.session.scalars(
        sa.select(PortalUser).where(PortalUser.email == "staff1@clinic.example.jp")
    ).one()
    staff_password = initial_password_of(staff)
    # The added user locks their own account, then resets the password.
    staff_client = app.test_client()
    staff_client.environ_base["REMOTE_ADDR"] = STAFF_IP
    for _ in range(app.config["PORTAL_LOCKOUT_THRESHOLD"]):
        portal_login(staff_client, staff.email, "wrong password, again")
    submit(staff_client, "/password/forgot", {"email": staff.email})
    reset_code = otp_of(staff.email)
    new = "haru-no-sakura-no-michi-2027"
    bad = "000000" if reset_code != "000000" else "111111"
    submit(staff_client, "/password/reset", {"code": bad, "new": new, "confirm": new})
    done = submit(staff_client, "/password/reset", {"code": reset_code, "new": new, "confirm": new})
    assert done.headers["Location"] == "/login"
    # The registrant disables the user, and logs out.
    submit(registrant, f"/mypage/users/{staff.id}/disable", {}, page_url="/mypage")
    submit(registrant, "/logout", {}, page_url="/mypage")
    assert staff_password not in repr([(e.actor_label, e.detail) for e in events_since(start)])

    events = events_since(start)
    assert_well_formed(events, since, datetime.now(UTC))
    mine = {"actor_type": "portal_user", "actor_id": user.id, "ip_address": REGISTRANT_IP}
    theirs = {"actor_type": "portal_user", "actor_id": staff.id, "ip_address": STAFF_IP}
    one(
        events,
        "portal.login",
        Outcome.FAILURE,
        actor_type="anonymous",
        actor_label="nobody@clinic.example.jp",
        ip_address=REGISTRANT_IP,
    )
    one(events, "portal.login", Outcome.FAILURE, **mine)  # wrong password
    one(events, "portal.otp_sent", Outcome.SUCCESS, **mine)
    one(events, "portal.otp_failed", Outcome.FAILURE, **mine)
    one(events, "portal.otp_passed", Outcome.SUCCESS, **mine)
    one(events, "portal.login", Outcome.SUCCESS, **mine)
    one(events, "portal.password_changed", Outcome.SUCCESS, **mine)
    one(events, "portal.terms_accepted", Outcome.SUCCESS, **mine)
    added = one(events, "portal.user_added", Outcome.SUCCESS, **mine)
    assert added.target_id == str(staff.id)
    one(events, "portal.locked", Outcome.FAILURE, **theirs)
    one(events, "portal.otp_sent", Outcome.SUCCESS, **theirs)
    one(events, "portal.otp_failed", Outcome.FAILURE, **theirs)
    one(events, "portal.password_reset", Outcome.SUCCESS, **theirs)
    disabled = one(events, "portal.user_disabled", Outcome.SUCCESS, **mine)
    assert disabled.target_id == str(staff.id)
    one(events, "portal.logout", Outcome.SUCCESS, **mine)


def _staff_input() -> dict[str, str]:
    return {
        "name": "職員 1",
        "name_kana": "ショクイン",
        "email": "staff1@clinic.example.jp",
        "email_confirm": "staff1@clinic.example.jp",
        "phone": "03-1234-5678",
        "department": "",
    }


def test_rule_40_declining_the_terms_is_audited_as_a_consent_decision(app, db) -> None:
    publish_terms()
    user, password = make_registrant()
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = REGISTRANT_IP
    portal_login(client, user.email, password)
    enter_otp(client, otp_of(user.email))
    submit(
        client,
        "/password/change",
        {"current": password, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    start = last_event_id()
    assert submit(client, "/terms", {"decision": "decline"}).headers["Location"] == "/login"
    decisions = [e for e in events_since(start) if e.action.startswith("portal.terms")]
    assert decisions, "no audit event for the declined 利用規約"
    assert decisions[0].actor_id == user.id
    assert decisions[0].ip_address == REGISTRANT_IP


def test_rule_40_operator_sign_in_lockout_and_actions_are_audited(app, db) -> None:
    operator = make_operator(Role.AGENT)
    victim = make_operator(Role.VIEWER, email="victim@ops.example.jp")
    user, _ = ready_portal_user()
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = OPERATOR_IP
    start = last_event_id()
    since = datetime.now(UTC)
    assert login(client, "nobody@ops.example.jp", PASSWORD, "123456").status_code == 422
    for _ in range(app.config["OPERATOR_LOCKOUT_THRESHOLD"]):
        login(client, victim.email, "wrong password entirely", "000000")
    assert login(client, operator.email, PASSWORD, current_code(operator)).status_code == 302
    token = csrf_token(client.get("/admin/portal_users/").text)
    client.post(
        "/admin/portal_users/action/",
        data={"csrf_token": token, "action": "disable", "rowid": user.id},
    )
    client.post("/admin/logout", data={"csrf_token": token})
    events = events_since(start)
    assert_well_formed(events, since, datetime.now(UTC))
    assert {e.ip_address for e in events} == {OPERATOR_IP}
    me = {"actor_type": "operator", "actor_id": operator.id}
    one(
        events,
        "operator.login",
        Outcome.FAILURE,
        actor_type="anonymous",
        actor_label="nobody@ops.example.jp",
    )
    one(events, "operator.login", Outcome.FAILURE, actor_type="operator", actor_id=victim.id)
    one(events, "operator.locked", Outcome.FAILURE, actor_type="operator", actor_id=victim.id)
    one(events, "operator.login", Outcome.SUCCESS, **me)
    disabled = one(events, "portal.user_disabled", Outcome.SUCCESS, **me)
    assert disabled.target_id == str(user.id)
    one(events, "operator.logout", Outcome.SUCCESS, **me)


# --- rule 42 ---------------------------------------------------------------------------------------

LIMITED = {
    "RATELIMIT_ENABLED": True,
    "PORTAL_LOGIN_LIMIT": "3 per minute",
    "OPERATOR_LOGIN_LIMIT": "3 per minute",
    "REGISTRATION_LIMIT": "3 per minute",
}
DOORS = {
    "portal login": ("/login", {"email": "x@clinic.example.jp", "password": "whatever it is"}),
    "password reset": ("/password/forgot", {"email": "x@clinic.example.jp"}),
    "back-office sign-in": (
        "/admin/login",
        {"email": "x@ops.example.jp", "password": "whatever password", "code": "123456"},
    ),
    "初回利用登録": ("/register", {"eclaims_id": "KJ000000000001", "password": "whatever"}),
}


def knock(client: FlaskClient, door: str, forwarded_for: str | None, remote_addr: str) -> int:
    url, data = DOORS[door]
    page = client.get(url, environ_base={"REMOTE_ADDR": remote_addr})
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    response = client.post(
        url,
        data={"csrf_token": csrf_token(page.text), **data},
        headers=headers,
        environ_base={"REMOTE_ADDR": remote_addr},
    )
    return response.status_code


@pytest.mark.parametrize("door", list(DOORS))
@pytest.mark.parametrize("app_overrides", [{**LIMITED, "PROXY_FIX_HOPS": 0}])
def test_rule_42_without_a_proxy_a_spoofed_x_forwarded_for_does_not_evade_the_limit(
    app, db, door: str
) -> None:
    client = app.test_client()
    statuses = [knock(client, door, f"192.0.2.{n}", "198.51.100.7") for n in range(1, 5)]
    assert 429 not in statuses[:3]
    assert statuses[3] == 429
    # The limit is per address: another client still gets in.
    assert knock(app.test_client(), door, None, "198.51.100.8") != 429
    recorded = set(db.session.scalars(sa.select(AuditEvent.ip_address)))
    assert not {f"192.0.2.{n}" for n in range(1, 5)} & recorded


@pytest.mark.parametrize("door", list(DOORS))
@pytest.mark.parametrize("app_overrides", [{**LIMITED, "PROXY_FIX_HOPS": 1}])
def test_rule_42_behind_one_proxy_only_the_address_it_appended_counts(app, db, door: str) -> None:
    proxy = "10.0.0.1"
    client = app.test_client()
    # The attacker sends X-Forwarded-For values of their own; the proxy appends the real address.
    statuses = [knock(client, door, f"192.0.2.{n}, 198.51.100.7", proxy) for n in range(1, 5)]
    assert 429 not in statuses[:3]
    assert statuses[3] == 429
    # Keyed on the appended address, not on the proxy's: another client behind it still gets in.
    assert knock(app.test_client(), door, "198.51.100.8", proxy) != 429
    recorded = set(db.session.scalars(sa.select(AuditEvent.ip_address)))
    assert not {f"192.0.2.{n}" for n in range(1, 5)} & recorded
    assert proxy not in recorded


# --- rule 44 ---------------------------------------------------------------------------------------

SEED = re.compile(r"[A-Z2-7]{32}")


def next_step_start(now: datetime, offset: int = 5) -> datetime:
    """`offset` seconds into the next 30-second step, so that a frozen clock sits well inside one."""
    seconds = int(now.timestamp()) // 30 * 30 + 30 + offset
    return datetime.fromtimestamp(seconds, UTC)


def test_rule_44_every_way_of_making_a_seed_gives_32_base32_characters(
    app, runner, signed_in, db
) -> None:
    seeds: dict[str, str] = {}
    created = make_operator(Role.AGENT, email="created@ops.example.jp")
    seeds["create_operator"] = created.totp_secret
    cli = runner.invoke(
        args=["operators", "create", "cli@ops.example.jp", "--role", "viewer"],
        input="a long enough passphrase\n",
    )
    assert cli.exit_code == 0, cli.output
    seeds["flask operators create"] = re.search(r"secret=(\w+)", cli.output).group(1)
    admin = signed_in(Role.ADMIN)
    page = admin.get("/admin/operators/invite/")
    invited = admin.post(
        "/admin/operators/invite/",
        data={
            "csrf_token": csrf_token(page.text),
            "email": "invited@ops.example.jp",
            "name": "招待 担当",
            "role": "agent",
        },
    )
    assert invited.status_code == 302
    seeds["invite"] = (
        db.session.scalars(sa.select(Operator).where(Operator.email == "invited@ops.example.jp"))
        .one()
        .totp_secret
    )
    token = csrf_token(admin.get("/admin/operators/").text)
    admin.post(
        "/admin/operators/action/",
        data={"csrf_token": token, "action": "reset_authenticator", "rowid": created.id},
    )
    db.session.refresh(created)
    seeds["authenticator reset"] = created.totp_secret
    before_password_reset = created.totp_secret
    admin.post(
        "/admin/operators/action/",
        data={"csrf_token": token, "action": "reset_password", "rowid": created.id},
    )
    db.session.refresh(created)
    assert created.totp_secret == before_password_reset  # a password reset makes no seed
    viewer = signed_in(Role.VIEWER)
    page = viewer.get("/admin/account/authenticator")
    viewer.post(
        "/admin/account/authenticator",
        data={"csrf_token": csrf_token(page.text), "stage": "password", "password": PASSWORD},
    )
    operator = db.session.get(Operator, viewer.operator.id)
    db.session.refresh(operator)
    seeds["re-enrolment"] = operator.totp_pending_secret
    for path, seed in seeds.items():
        assert seed, path
        assert SEED.fullmatch(seed), (path, seed)
        assert len(base64.b32decode(seed)) == 20, path  # 160 bits
    assert len(set(seeds.values())) == len(seeds)  # each path makes a new one


def test_rule_44_a_code_is_refused_within_its_window_because_its_step_is_stored(
    app, client, db
) -> None:
    operator = make_operator(Role.AGENT)
    totp = pyotp.TOTP(operator.totp_secret)
    instant = next_step_start(datetime.now(UTC))
    step = totp.timecode(instant)
    with time_machine.travel(instant, tick=False):
        code = totp.at(instant)
        assert login(client, operator.email, PASSWORD, code).status_code == 302
        db.session.refresh(operator)
        assert operator.totp_last_step == step
        # The same code from another browser, and the previous step's (inside the ±1 window): refused.
        assert login(app.test_client(), operator.email, PASSWORD, code).status_code == 422
        older = totp.at(instant - timedelta(seconds=30))
        assert login(app.test_client(), operator.email, PASSWORD, older).status_code == 422
        assert count(OperatorSession) == 1
    with time_machine.travel(instant + timedelta(seconds=20), tick=False):  # the same step still
        assert login(app.test_client(), operator.email, PASSWORD, code).status_code == 422
        # It is the stored step that refuses it: moved back, the same code works again.
        db.session.execute(
            sa.update(Operator).where(Operator.id == operator.id).values(totp_last_step=step - 1)
        )
        db.session.commit()
        assert login(app.test_client(), operator.email, PASSWORD, code).status_code == 302
    with time_machine.travel(instant + timedelta(seconds=30), tick=False):
        newer = totp.at(instant + timedelta(seconds=30))
        assert login(app.test_client(), operator.email, PASSWORD, newer).status_code == 302
        db.session.refresh(operator)
        assert operator.totp_last_step == step + 1


def test_rule_44_the_codes_that_confirm_an_enrolment_are_spent_too(app, signed_in, db) -> None:
    viewer = signed_in(Role.VIEWER)
    operator = db.session.get(Operator, viewer.operator.id)
    instant = next_step_start(datetime.now(UTC))
    with time_machine.travel(instant, tick=False):
        page = viewer.get("/admin/account/authenticator")
        token = csrf_token(page.text)
        viewer.post(
            "/admin/account/authenticator",
            data={"csrf_token": token, "stage": "password", "password": PASSWORD},
        )
        db.session.refresh(operator)
        new = pyotp.TOTP(operator.totp_pending_secret)
        code = new.at(instant)
        confirmed = viewer.post(
            "/admin/account/authenticator",
            data={"csrf_token": token, "stage": "confirm", "code": code},
        )
        assert confirmed.status_code == 302
        db.session.refresh(operator)
        assert operator.totp_last_step == new.timecode(instant)
        assert login(app.test_client(), operator.email, PASSWORD, code).status_code == 422
    # An invite's link: the code that completes it cannot sign in afterwards.
    admin = signed_in(Role.ADMIN)
    page = admin.get("/admin/operators/invite/")
    admin.post(
        "/admin/operators/invite/",
        data={
            "csrf_token": csrf_token(page.text),
            "email": "link@ops.example.jp",
            "name": "リンク 担当",
            "role": "viewer",
        },
    )
    invited = db.session.scalars(
        sa.select(Operator).where(Operator.email == "link@ops.example.jp")
    ).one()
    link = re.search(
        r"http://localhost(/admin/enrolment/\S+)", readable(last_mail_to(invited.email))[0]
    )
    totp = pyotp.TOTP(invited.totp_secret)
    later = next_step_start(instant + timedelta(seconds=60))
    with time_machine.travel(later, tick=False):
        visitor = app.test_client()
        page = visitor.get(link.group(1))
        code = totp.at(later)
        done = visitor.post(
            link.group(1),
            data={
                "csrf_token": csrf_token(page.text),
                "new": NEW_PASSWORD,
                "confirm": NEW_PASSWORD,
                "code": code,
            },
        )
        assert done.headers["Location"] == "/admin/login"
        db.session.refresh(invited)
        assert invited.totp_last_step == totp.timecode(later)
        assert login(app.test_client(), invited.email, NEW_PASSWORD, code).status_code == 422


def test_rule_44_two_concurrent_sign_ins_with_one_code_let_one_in(app, db, database_url) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("concurrent requests need PostgreSQL (SQLite serialises writers)")
    operator = make_operator(Role.AGENT)
    code = current_code(operator)
    clients = [app.test_client() for _ in range(2)]
    tokens = [csrf_token(c.get("/admin/login").text) for c in clients]
    barrier = threading.Barrier(len(clients))
    statuses: list[int] = []

    def sign_in(n: int) -> None:
        barrier.wait()
        response = clients[n].post(
            "/admin/login",
            data={
                "csrf_token": tokens[n],
                "email": operator.email,
                "password": PASSWORD,
                "code": code,
            },
        )
        statuses.append(response.status_code)

    threads = [threading.Thread(target=sign_in, args=(n,)) for n in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [302, 422]
    db.session.rollback()
    assert count(OperatorSession) == 1
