"""Before an idle session ends, signed-in pages warn and offer 「ログインを続ける」 (WCAG 2.2.1): the page
names its limits and the keep-alive address, and the keep-alive keeps the server's session alive."""

import re
from datetime import timedelta

import sqlalchemy as sa

from backoffice.accounts.models import PortalSession
from backoffice.db import utcnow
from backoffice.extensions import db
from backoffice.operators.models import OperatorSession, Role
from tests.builders.accounts import make_registrant, signed_in_as


def _body(html: str) -> str:
    return re.search(r"<body[^>]*>", html).group(0)


def _token(html: str) -> str:
    return re.search(r'<meta name="csrf-token" content="([^"]+)">', html).group(1)


def test_signed_in_portal_pages_name_the_limit_and_the_keepalive(app, client) -> None:
    assert "data-session-idle" not in _body(client.get("/").text)  # nobody signed in
    user, _ = make_registrant()
    portal = signed_in_as(app, user)
    html = portal.get("/").text
    body = _body(html)
    assert 'data-session-idle="1800"' in body
    assert 'data-session-warning="120"' in body
    assert 'data-session-keepalive="/session/keepalive"' in body
    assert "/static/js/session.js" in html


def test_the_keepalive_refreshes_the_session_and_needs_the_csrf_token(app, client) -> None:
    user, _ = make_registrant()
    portal = signed_in_as(app, user)
    token = _token(portal.get("/").text)
    db.session.execute(
        sa.update(PortalSession).values(last_seen_at=utcnow() - timedelta(minutes=20))
    )
    db.session.commit()
    assert portal.post("/session/keepalive").status_code == 400  # no token: refused
    assert portal.post("/session/keepalive", headers={"X-CSRFToken": token}).status_code == 204
    seen = db.session.scalar(sa.select(PortalSession.last_seen_at))
    assert utcnow() - seen.replace(tzinfo=utcnow().tzinfo) < timedelta(minutes=1)
    assert client.post("/session/keepalive", headers={"X-CSRFToken": token}).status_code in (
        400,
        403,
    )


def test_back_office_pages_warn_too(app, signed_in) -> None:
    operator = signed_in(Role.AGENT)
    html = operator.get("/admin/").text
    body = _body(html)
    assert 'data-session-idle="1800"' in body
    assert 'data-session-keepalive="/admin/session/keepalive"' in body
    db.session.execute(
        sa.update(OperatorSession).values(last_seen_at=utcnow() - timedelta(minutes=20))
    )
    db.session.commit()
    response = operator.post("/admin/session/keepalive", headers={"X-CSRFToken": _token(html)})
    assert response.status_code == 204
    seen = db.session.scalar(sa.select(OperatorSession.last_seen_at))
    assert utcnow() - seen.replace(tzinfo=utcnow().tzinfo) < timedelta(minutes=1)
