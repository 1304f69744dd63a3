"""The header of every public and portal page: ログイン for a visitor; for a signed-in user, the name,
マイページ and ログアウト."""

import re

import pytest
import sqlalchemy as sa

from backoffice.accounts.models import PortalUser
from backoffice.extensions import db
from tests.builders.accounts import make_registrant, signed_in_as

PAGES = ("/", "/flows", "/inquiry", "/inquiry/link", "/register", "/no/such/page")


def header(html: str) -> str:
    return html[html.index('<header class="site-header">') : html.index("</header>")]


@pytest.mark.parametrize("url", [*PAGES, "/login", "/password/forgot"])
def test_a_visitor_sees_login(client, url: str) -> None:
    top = header(client.get(url).text)
    assert '<a href="/login">ログイン</a>' in top
    assert "マイページ" not in top
    assert "ログアウト" not in top


def test_a_signed_in_user_sees_the_name_mypage_and_logout(app) -> None:
    user, _ = make_registrant()
    client = signed_in_as(app, user)
    for url in (*PAGES, "/mypage"):
        top = header(client.get(url, follow_redirects=True).text)
        assert "佐藤 花子 様" in top, url
        assert '<a href="/mypage">マイページ</a>' in top
        assert 'action="/logout"' in top
        assert ">ログアウト</button>" in top
        assert ">ログイン</a>" not in top
    assert client.post("/logout", data={"csrf_token": _token(client)}).status_code == 302
    assert '<a href="/login">ログイン</a>' in header(client.get("/").text)


def test_a_session_that_ended_shows_login_again(app) -> None:
    user, _ = make_registrant()
    client = signed_in_as(app, user)
    db.session.execute(sa.update(PortalUser).values(is_active=False))
    db.session.commit()
    assert '<a href="/login">ログイン</a>' in header(client.get("/").text)


def _token(client) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get("/").text).group(1)


@pytest.mark.parametrize("url", [*PAGES, "/login", "/accessibility"])
def test_every_footer_links_the_accessibility_policy(client, url: str) -> None:
    html = client.get(url).text
    footer = html[html.index('<footer class="site-footer">') :]
    assert '<a href="/accessibility">アクセシビリティ方針</a>' in footer


def test_the_accessibility_policy_names_its_target_and_what_is_tested(client) -> None:
    page = client.get("/accessibility").text
    assert "JIS X 8341-3:2016" in page
    assert "適合レベルAA" in page
    assert "axe-core" in page
    assert "375ピクセル" in page


def test_the_back_offices_own_pages_have_no_portal_account_links(client) -> None:
    top = header(client.get("/admin/login").text)
    assert ">ログイン</a>" not in top
    assert "マイページ" not in top


def test_the_header_writes_nothing_and_keeps_no_session_alive(app) -> None:
    """Looking at a public page neither extends the portal session nor commits the request's work."""
    from datetime import timedelta

    from backoffice.accounts.models import PortalSession
    from backoffice.db import utcnow

    user, _ = make_registrant()
    client = signed_in_as(app, user)
    before = utcnow() - timedelta(minutes=10)
    db.session.execute(sa.update(PortalSession).values(last_seen_at=before))
    db.session.commit()
    assert "佐藤 花子 様" in header(client.get("/flows").text)
    db.session.expire_all()
    seen = db.session.scalar(sa.select(PortalSession.last_seen_at))
    assert seen.replace(tzinfo=None) == before.replace(tzinfo=None)
