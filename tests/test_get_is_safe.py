"""No GET changes state (docs/security.md, "Requests and responses").

With data in every table (operators of each role, a portal registrant past the first login, a user still
at it, inquiries with a reply and a note, registration flows at each step, open one-time passwords, an
operator's enrolment link), every GET route of `app.url_map` is requested by each kind of visitor, and
every table is compared before and after, row by row. Only what MAY_CHANGE and MAY_APPEND list may
differ. A route whose URL parameters this test cannot fill fails the test (add a value in `populate`),
so that a new GET route is never left out.
"""

import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from email.mime.text import MIMEText
from itertools import product
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask, url_for
from flask.testing import FlaskClient

from backoffice.accounts.models import PortalUser
from backoffice.attachments import operations as attachments
from backoffice.audit.operations import record
from backoffice.db import utcnow
from backoffice.eclaims.importer import import_csv
from backoffice.extensions import db
from backoffice.inbound.models import InboundSource, InboundState
from backoffice.inbound.receive import receive
from backoffice.inquiries import replies, triage
from backoffice.inquiries.actors import REQUESTER
from backoffice.inquiries.canned import CannedReply
from backoffice.inquiries.models import Inquiry, InquiryCategory
from backoffice.mail.models import OutboundEmail
from backoffice.mail.outbox import readable
from backoffice.notices import operations as notices
from backoffice.operators import enrolment, operations
from backoffice.operators.models import Operator, Role
from backoffice.operators.operations import OperatorActor
from backoffice.saved_views import operations as saved
from tests.attachments.helpers import png as png_bytes
from tests.builders.accounts import (
    NEW_PASSWORD,
    full_first_login,
    last_mail_to,
    let_otp_cooldown_pass,
    login,
    make_registrant,
    otp_of,
    publish_terms,
    signed_in_as,
    submit,
)
from tests.builders.inquiries import (
    account_request_input,
    general_input,
    make_inquiry,
    post_input,
    seed_tree,
    send,
)
from tests.builders.operators import make_operator
from tests.inbound.helpers import reply as inbound_reply

# Columns a GET may change, each with why.
LAST_USE = "a live session notes its last use (at most once a minute), for the idle limit"
MAY_CHANGE = {
    ("portal_sessions", "last_seen_at"): LAST_USE,
    ("operator_sessions", "last_seen_at"): LAST_USE,
}
# Tables a GET may add rows to; their existing rows must still never change or go.
MAY_APPEND = {
    "audit_events": "the append-only audit log: the CSV export records who exported what, "
    "opening a received mail's original who opened it, and downloading a ticket's file who did",
}

ECLAIMS_PASSWORD = "eclaims-pass-1"
OFFICES = (
    "eclaims_id,password,security_email,security_code,office_number,office_name,kind\n"
    f"KJ000000000001,{ECLAIMS_PASSWORD},sec1@demo.example.jp,,1310100019,あおぞら訪問介護,care\n"
    f"KJ000000000002,{ECLAIMS_PASSWORD},sec2@demo.example.jp,,2710100039,みどりケア,care\n"
    f"KJ000000000003,{ECLAIMS_PASSWORD},sec3@demo.example.jp,,0110112489,かえで内科,deemed\n"
)


# --- what the tables hold -------------------------------------------------------------------------

Rows = dict[tuple, dict[str, Any]]
Snapshot = dict[str, Rows]


def snapshot() -> Snapshot:
    """Every row of every table, by primary key (read in the test's session, after the request's
    transaction has ended as a real request's does)."""
    tables: Snapshot = {}
    for table in db.metadata.sorted_tables:
        key = list(table.primary_key.columns) or list(table.columns)
        rows = db.session.execute(sa.select(table).order_by(*key)).mappings()
        tables[table.name] = {tuple(row[c.name] for c in key): dict(row) for row in rows}
    db.session.rollback()
    return tables


@dataclass
class Changes:
    forbidden: list[str] = field(default_factory=list)
    allowed: list[str] = field(default_factory=list)


def compare(before: Snapshot, after: Snapshot) -> Changes:
    changes = Changes()
    for name in sorted(before.keys() | after.keys()):
        old, new = before.get(name, {}), after.get(name, {})
        for key in new.keys() - old.keys():
            (changes.allowed if name in MAY_APPEND else changes.forbidden).append(
                f"{name}: row {key} added"
            )
        for key in old.keys() - new.keys():
            changes.forbidden.append(f"{name}: row {key} deleted")
        for key in old.keys() & new.keys():
            columns = sorted(c for c in new[key] if new[key][c] != old[key].get(c))
            if not columns:
                continue
            if all((name, c) in MAY_CHANGE for c in columns):
                changes.allowed.append(f"{name}: row {key} {', '.join(columns)}")
            else:
                changes.forbidden.append(f"{name}: row {key} changed {', '.join(columns)}")
    return changes


def age_sessions() -> None:
    """Make every session's last use two minutes old (inside the idle limit), so that each GET of a
    signed-in visitor really writes last_seen_at, as it does once a minute in use."""
    two_minutes_ago = utcnow() - timedelta(minutes=2)
    for table in db.metadata.sorted_tables:
        if any(table.name == t for t, _ in MAY_CHANGE) and "last_seen_at" in table.c:
            db.session.execute(sa.update(table).values(last_seen_at=two_minutes_ago))
    db.session.commit()


# --- the GET routes ---------------------------------------------------------------------------------


def get_rules(app: Flask, prefix: str = "/") -> list:
    return sorted(
        (
            rule
            for rule in app.url_map.iter_rules()
            if "GET" in rule.methods
            and rule.rule.startswith(prefix)
            and rule.endpoint != "static"
            and not rule.endpoint.endswith(".static")
        ),
        key=lambda rule: rule.rule,
    )


def urls_of(
    app: Flask,
    rules: Iterable,
    values: dict[str, list[Any]],
    queries: dict[str, list[dict[str, Any]]],
) -> list[str]:
    """Every URL to request: each rule with each combination of the values of its parameters (keys
    `endpoint.argument`, or just `argument`), bare and with each extra query of its endpoint."""
    urls = []
    with app.test_request_context():
        for rule in rules:
            choices = []
            for argument in sorted(rule.arguments):
                found = values.get(f"{rule.endpoint}.{argument}") or values.get(argument)
                assert found, f"no value for <{argument}> of {rule.rule}: add one in populate()"
                choices.append([(argument, v) for v in found])
            for combination in product(*choices):
                args = dict(combination)
                for query in [{}, *queries.get(rule.endpoint, [])]:
                    urls.append(url_for(rule.endpoint, **args, **query))
    return urls


@dataclass
class Walk:
    forbidden: list[str] = field(default_factory=list)
    allowed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    requests: int = 0


def walk(visitors: dict[str, FlaskClient], urls: list[str]) -> Walk:
    """GET every URL as every visitor, comparing all tables around each request."""
    result = Walk()
    for (name, client), url in product(visitors.items(), urls):
        age_sessions()
        before = snapshot()
        response = client.get(url)
        response.get_data()  # a streamed body (the CSV export) runs to its end
        response.close()
        status = response.status_code
        # The test keeps one app context for every request; a real request's transaction ends with it.
        db.session.rollback()
        changes = compare(before, snapshot())
        result.requests += 1
        result.forbidden += [f"GET {url} as {name} ({status}): {c}" for c in changes.forbidden]
        result.allowed += [f"GET {url} as {name}: {c}" for c in changes.allowed]
        if status >= 500:
            result.errors.append(f"GET {url} as {name}: {status}")
    return result


# --- the data ---------------------------------------------------------------------------------------


def operator_client(app: Flask, operator: Operator) -> FlaskClient:
    from backoffice.admin.access import SESSION_KEY

    client = app.test_client()
    key = operations.start_session(operator, "127.0.0.1")
    with client.session_transaction() as session:
        session[SESSION_KEY] = key
    return client


def register_to(client: FlaskClient, eclaims_id: str, security_email: str, step: str) -> None:
    """初回利用登録 in `client` up to `step`: "otp", "details" or "complete"."""
    response = submit(client, "/register", {"eclaims_id": eclaims_id, "password": ECLAIMS_PASSWORD})
    assert response.headers["Location"] == "/register/otp", response.text
    if step == "otp":
        return
    response = submit(
        client, "/register/otp", {"code": otp_of(security_email), "security_code": ""}
    )
    assert response.headers["Location"] == "/register/details", response.text
    if step == "details":
        return
    email = "boss@aozora.example.jp"
    response = submit(
        client,
        "/register/details",
        {
            "name": "鈴木 一郎",
            "name_kana": "すずき いちろう",
            "email": email,
            "email_confirm": email,
            "phone": "045-123-4567",
            "department": "管理者",
        },
    )
    assert response.headers["Location"] == "/register/complete", response.text


@dataclass
class World:
    visitors: dict[str, FlaskClient]
    values: dict[str, list[Any]]
    queries: dict[str, list[dict[str, Any]]]


def populate(app: Flask) -> World:
    """Rows in every table, made the way users make them, and a client for each kind of visitor."""
    seed_tree()
    publish_terms()
    assert import_csv(OFFICES).imported
    admin = make_operator(Role.ADMIN)
    agent = make_operator(Role.AGENT)
    viewer = make_operator(Role.VIEWER)
    actor = OperatorActor.of(admin)
    invited = enrolment.invite("invited@ops.example.jp", "招待 太郎", Role.AGENT, actor)
    enrolment_token = re.search(
        r"/admin/enrolment/(\S+)", readable(last_mail_to(invited.email))[0]
    ).group(1)
    db.session.add(CannedReply(title="受付のご連絡", body="確認しております。"))
    db.session.commit()
    # An お知らせ shown now, and each operator's saved view of the list.
    notice = notices.publish(
        notices.NoticeInput(
            title="メンテナンスのお知らせ",
            body="本日18時から停止します。",
            starts_at=utcnow() - timedelta(hours=1),
            ends_at=None,
            on_public=True,
            on_portal=True,
        ),
        actor,
    )
    views = [
        saved.save_view(o.id, "新規", saved.ListState(filters=(("status", "new"),)))
        for o in (admin, agent, viewer)
    ]

    # Inquiries: a general one with a reply and a note, and an ID発行申請.
    requester = app.test_client()
    general = make_inquiry(requester)
    status_token = re.search(
        r"/inquiry/status/(\S+)", readable(last_mail_to(general.email))[0]
    ).group(1)
    assert send(requester, account_request_input()).status_code == 302
    account_request = db.session.scalars(sa.select(Inquiry).where(Inquiry.id != general.id)).one()
    replies.reply(general.id, "ご確認ください。", actor, expected_version=general.version)
    triage.add_note(general.id, "電話で確認済み。", actor)

    # Portal: a registrant past the first login, with an email change waiting for its code, and a
    # user they added, signed in with the initial password still to change.
    registrant, initial = make_registrant()
    portal = app.test_client()
    full_first_login(portal, registrant, initial)
    added_email = "tanaka@clinic.example.jp"
    added = submit(
        portal,
        "/mypage/users/new",
        {
            "name": "田中 一郎",
            "name_kana": "タナカ イチロウ",
            "email": added_email,
            "email_confirm": added_email,
            "phone": "0312345679",
            "department": "",
        },
    )
    assert added.headers["Location"] == "/mypage", added.text
    new_email = "hanako@clinic.example.jp"
    changing = submit(
        portal,
        "/mypage/email",
        {"email": new_email, "email_confirm": new_email, "password": NEW_PASSWORD},
    )
    assert changing.headers["Location"] == "/mypage/email/confirm", changing.text
    added_user = db.session.scalars(
        sa.select(PortalUser).where(PortalUser.email == added_email)
    ).one()
    first_login = signed_in_as(app, added_user)

    # Anonymous visitors part-way through every flow.
    midway = app.test_client()
    draft = general_input(email="draft@example.jp", email_confirm="draft@example.jp")
    assert post_input(midway, draft).status_code == 302
    register_to(midway, "KJ000000000001", "sec1@demo.example.jp", "otp")
    let_otp_cooldown_pass()
    assert login(midway, registrant.email, NEW_PASSWORD).headers["Location"] == "/login/otp"
    let_otp_cooldown_pass()
    forgot = submit(midway, "/password/forgot", {"email": registrant.email})
    assert forgot.headers["Location"] == "/password/reset"
    at_details = app.test_client()
    register_to(at_details, "KJ000000000002", "sec2@demo.example.jp", "details")
    sent = general_input(email="sent@example.jp", email_confirm="sent@example.jp")
    assert send(at_details, sent).status_code == 302
    registered = app.test_client()
    register_to(registered, "KJ000000000003", "sec3@demo.example.jp", "complete")

    # Mail received: a stranger's (未振り分け) and a reply from another address (held on the ticket).
    stranger = MIMEText("IDの発行について教えてください。", "plain", "utf-8")
    stranger["From"] = "stranger@example.net"
    stranger["Message-ID"] = "<get-is-safe-1@example.net>"
    unmatched = receive(stranger.as_bytes(), InboundSource.PIPE)
    held = receive(
        inbound_reply(last_mail_to(general.email), "代わりに返信します。", sender="x@example.org"),
        InboundSource.PIPE,
    )
    assert held.state is InboundState.HELD

    # A file on a ticket (its thumbnail and download are GET routes too).
    picture = png_bytes()
    [stored] = attachments.take([attachments.Upload(io.BytesIO(picture), "画面.png", len(picture))])
    [attachment] = attachments.attach([stored], REQUESTER, inquiry=general)
    db.session.commit()

    secret_mail = last_mail_to(registrant.email)  # a one-time password, sealed
    plain_mail = db.session.scalars(
        sa.select(OutboundEmail).where(OutboundEmail.contains_secret.is_(False)).limit(1)
    ).first()
    assert secret_mail.contains_secret
    assert plain_mail is not None

    visitors = {
        "anonymous": app.test_client(),
        "anonymous mid-way (inquiry draft, registration OTP, login OTP, password reset)": midway,
        "anonymous at registration details, after sending an inquiry": at_details,
        "anonymous after registering": registered,
        "portal registrant (email change pending)": portal,
        "portal user at the first login": first_login,
        "admin": operator_client(app, admin),
        "agent": operator_client(app, agent),
        "viewer": operator_client(app, viewer),
    }
    values: dict[str, list[Any]] = {
        "inquiry_id": [account_request.id, general.id],
        "email_id": [secret_mail.id, plain_mail.id],
        "inbound_id": [unmatched.inbound_id, held.inbound_id],
        "attachment_id": [attachment.id],
        "notice_id": [notice.id],
        "view_id": [v.id for v in views],
        "export_type": ["csv"],
        "inquiries.status.token": [status_token],
        "inquiries.file.token": [status_token],
        "portal.inquiry_file.reference_number": [general.reference_number],
        "admin_credentials.enrolment_link.token": [enrolment_token],
        "portal.disable_user.user_id": [added_user.id],
        "portal.inquiry.reference_number": [
            general.reference_number,
            account_request.reference_number,
        ],
    }
    return World(visitors, values, admin_queries(app, [account_request.id, general.id]))


def admin_queries(app: Flask, inquiry_ids: list[int]) -> dict[str, list[dict[str, Any]]]:
    """The query arguments that make Flask-Admin's pages show a real row, and the bulk pages' steps."""
    queries: dict[str, list[dict[str, Any]]] = {}
    for admin in app.extensions["admin"]:
        for view in admin._views:
            model = getattr(view, "model", None)
            if model is None:
                continue
            key = sa.inspect(model).primary_key[0]
            row_id = db.session.scalar(sa.select(key).order_by(key).limit(1))
            assert row_id is not None, f"no {model.__tablename__} row for {view.endpoint}"
            for page in ("edit_view", "details_view"):
                queries[f"{view.endpoint}.{page}"] = [{"id": row_id}]
            queries[f"{view.endpoint}.index_view"] = [{"search": "さくら"}]
    ids = ",".join(map(str, inquiry_ids))
    queries["tickets.bulk"] = [{"kind": "status", "ids": ids}, {"kind": "assign", "ids": ids}]
    queries["tickets.bulk_reply"] = [{"ids": ids}]
    db.session.rollback()
    return queries


# --- the tests --------------------------------------------------------------------------------------


def test_no_get_route_changes_state(app: Flask) -> None:
    world = populate(app)
    urls = urls_of(app, get_rules(app), world.values, world.queries)
    result = walk(world.visitors, urls)
    assert result.forbidden == [], "\n".join(result.forbidden)
    assert result.errors == [], "\n".join(result.errors)
    assert result.requests == len(urls) * len(world.visitors)
    # The allowances were really used, so the walk did reach signed-in pages and the export.
    assert any("_sessions: row" in line and "last_seen_at" in line for line in result.allowed)
    exports = [line for line in result.allowed if "/admin/tickets/export.csv" in line]
    assert any("as admin: audit_events: row" in line for line in exports)
    assert {line.split(": ", 1)[1].split(":", 1)[0] for line in result.allowed} <= {
        *(t for t, _ in MAY_CHANGE),
        *MAY_APPEND,
    }


PROBES = "/probe-get-is-safe"


def install_probes(app: Flask) -> None:
    """GET routes that write, to show that the walk catches each kind of change (and lets through only
    what MAY_CHANGE and MAY_APPEND allow)."""

    def rename() -> str:
        db.session.scalars(sa.select(InquiryCategory).limit(1)).one().name = "書き換え"
        db.session.commit()
        return ""

    def add_canned() -> str:
        db.session.add(CannedReply(title="GETで追加", body="本文"))
        db.session.commit()
        return ""

    def forget_audit() -> str:
        db.session.execute(sa.delete(db.metadata.tables["audit_events"]))
        db.session.commit()
        return ""

    def flush_only() -> str:
        # Flushed and never committed: a real request's transaction ends with it, so nothing changes.
        db.session.scalars(sa.select(InquiryCategory).limit(1)).one().name = "書き換え"
        db.session.flush()
        return ""

    def append_audit() -> str:
        record("probe.read", actor_type="system")
        db.session.commit()
        return ""

    def touch_session() -> str:
        table = db.metadata.tables["operator_sessions"]
        db.session.execute(sa.update(table).values(last_seen_at=utcnow()))
        db.session.commit()
        return ""

    for view in (rename, add_canned, forget_audit, flush_only, append_audit, touch_session):
        app.add_url_rule(f"{PROBES}/{view.__name__}", view.__name__, view)


def test_the_walk_catches_a_get_that_changes_state(app: Flask) -> None:
    install_probes(app)  # before the app's first request
    seed_tree()
    operator_client(app, make_operator(Role.ADMIN))
    record("probe.before", actor_type="system")
    db.session.commit()
    urls = urls_of(app, get_rules(app, PROBES), {}, {})
    result = walk({"anonymous": app.test_client()}, urls)
    forbidden = "\n".join(result.forbidden)
    prefix = f"GET {PROBES}"
    assert (
        f"{prefix}/rename as anonymous (200): inquiry_categories: row (1,) changed name"
        in forbidden
    )
    assert f"{prefix}/add_canned as anonymous (200): canned_replies: row (1,) added" in forbidden
    assert re.search(
        rf"^{prefix}/forget_audit as anonymous \(200\): audit_events: row \(\d+,\) deleted$",
        forbidden,
        re.M,
    )
    for harmless in ("flush_only", "append_audit", "touch_session"):
        assert f"/{harmless} " not in forbidden
    allowed = "\n".join(result.allowed)
    assert f"{prefix}/append_audit as anonymous: audit_events: row" in allowed
    assert f"{prefix}/touch_session as anonymous: operator_sessions: row" in allowed


@pytest.mark.parametrize("argument", ["inquiry_id", "token"])
def test_a_get_route_whose_parameters_cannot_be_filled_fails_the_walk(
    app: Flask, argument: str
) -> None:
    rules = [r for r in get_rules(app) if argument in r.arguments]
    assert rules
    with pytest.raises(AssertionError, match="add one in populate"):
        urls_of(app, rules, {}, {})
