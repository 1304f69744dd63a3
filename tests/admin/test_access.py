"""Who may open and change what in the back office (roles on every view and action, CSRF)."""

import re

import pytest
import sqlalchemy as sa

from backoffice.inquiries.canned import CannedReply
from backoffice.inquiries.vocabulary import InquiryStatus
from backoffice.operators.models import Role
from tests.builders.web import csrf_token

READ_PAGES = ["/admin/", "/admin/tickets/", "/admin/tickets/{id}/", "/admin/reports/"]
MANAGE_PAGES = [
    "/admin/categories/",
    "/admin/canned/",
    "/admin/operators/",
    "/admin/audit/",
    "/admin/categories/new/",
    "/admin/canned/new/",
]
# 閲覧者 read on screen only: the CSV carries every requester's personal data away.
WORK_PAGES = [
    "/admin/tickets/bulk/?kind=assign&ids={id}",
    "/admin/tickets/export.csv",
    "/admin/reports/?download=volume",
]


def admin_get_urls(app, ticket_id: int) -> list[str]:
    """Every GET route of the back office, with sample arguments."""
    urls = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/admin") or "GET" not in rule.methods:
            continue
        # Sign-in pages and the mailed enrolment link are for people not signed in.
        public = ("admin_auth.", "admin_credentials.enrolment_link")
        if "static" in rule.endpoint or rule.endpoint.startswith(public):
            continue
        urls.append(re.sub(r"<int:\w+>", str(ticket_id), rule.rule))
    return urls


def test_every_admin_page_sends_anonymous_visitors_to_sign_in(app, client, inquiry) -> None:
    urls = admin_get_urls(app, inquiry.id)
    assert len(urls) > 20
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.headers["Location"].startswith("/admin/login?next="), url


def test_posts_from_anonymous_visitors_change_nothing(client, inquiry, db) -> None:
    page = client.get("/inquiry")
    token = csrf_token(page.text)
    response = client.post(
        f"/admin/tickets/{inquiry.id}/", data={"csrf_token": token, "note-body": "x"}
    )
    assert response.status_code == 302
    response = client.post(
        "/admin/tickets/action/",
        data={"csrf_token": token, "action": "mark_spam", "rowid": inquiry.id},
    )
    assert response.status_code == 302
    db.session.refresh(inquiry)
    assert inquiry.status is InquiryStatus.NEW


@pytest.mark.parametrize("role", list(Role))
def test_each_role_against_each_page(signed_in, inquiry, role: Role) -> None:
    client = signed_in(role)
    for url in READ_PAGES:
        assert client.get(url.format(id=inquiry.id)).status_code == 200, url
    for url in MANAGE_PAGES:
        expected = 200 if role is Role.ADMIN else 403
        assert client.get(url).status_code == expected, (url, role)
    for url in WORK_PAGES:
        expected = 403 if role is Role.VIEWER else 200
        assert client.get(url.format(id=inquiry.id)).status_code == expected, (url, role)


def test_forbidden_page_answers_in_japanese(signed_in) -> None:
    response = signed_in(Role.AGENT).get("/admin/operators/")
    assert response.status_code == 403
    assert "このページを表示する権限がありません" in response.text


def test_viewer_sees_tickets_but_cannot_change_anything(signed_in, inquiry, db) -> None:
    client = signed_in(Role.VIEWER)
    page = client.get(f"/admin/tickets/{inquiry.id}/")
    assert "閲覧権限のため、このお問い合わせを変更できません。" in page.text
    assert "回答を送信する" not in page.text
    token = csrf_token(page.text)
    attempts = [
        (f"/admin/tickets/{inquiry.id}/", {"note-body": "メモ"}),
        (f"/admin/tickets/{inquiry.id}/", {"reply-body": "回答", "reply-version": inquiry.version}),
        (
            f"/admin/tickets/{inquiry.id}/",
            {
                "ticket-status": "in_progress",
                "ticket-assignee": "none",
                "ticket-priority": "high",
                "ticket-version": inquiry.version,
            },
        ),
        ("/admin/tickets/action/", {"action": "mark_spam", "rowid": inquiry.id}),
        ("/admin/tickets/action/", {"action": "assign_me", "rowid": inquiry.id}),
        ("/admin/tickets/bulk/?kind=status", {"ids": str(inquiry.id), "target": "spam"}),
    ]
    for url, data in attempts:
        assert client.post(url, data={"csrf_token": token, **data}).status_code == 403, (url, data)
    db.session.refresh(inquiry)
    assert inquiry.status is InquiryStatus.NEW
    assert len(inquiry.events) == 1
    list_page = client.get("/admin/tickets/")
    assert "スパムにする" not in list_page.text


def test_agent_cannot_manage_but_admin_can(signed_in, db) -> None:
    agent = signed_in(Role.AGENT)
    token = csrf_token(agent.get("/admin/").text)
    data = {
        "csrf_token": token,
        "title": "挨拶",
        "body": "お問い合わせありがとうございます。",
        "position": "1",
        "is_active": "y",
    }
    assert agent.post("/admin/canned/new/", data=data).status_code == 403
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CannedReply)) == 0
    admin = signed_in(Role.ADMIN)
    data["csrf_token"] = csrf_token(admin.get("/admin/canned/new/").text)
    assert admin.post("/admin/canned/new/", data=data).status_code == 302
    assert db.session.scalars(sa.select(CannedReply.title)).one() == "挨拶"


@pytest.mark.parametrize(
    ("url", "data"),
    [
        ("/admin/canned/new/", {"title": "件名", "body": "本文", "position": "1"}),
        ("/admin/categories/edit/?id=1", {"name": "改名"}),
        ("/admin/categories/delete/", {"id": "1"}),
        ("/admin/tickets/action/", {"action": "mark_spam", "rowid": "1"}),
        ("/admin/tickets/1/", {"note-body": "メモ"}),
        ("/admin/tickets/bulk/?kind=status", {"ids": "1", "target": "spam"}),
        ("/admin/logout", {}),
    ],
)
def test_csrf_is_required_on_every_change(signed_in, inquiry, url: str, data: dict) -> None:
    client = signed_in(Role.ADMIN)
    response = client.post(url, data=data)
    assert response.status_code == 400, url
    assert "送信を受け付けられませんでした" in response.text


def test_ticket_numbers_link_to_the_ticket_page(signed_in, inquiry) -> None:
    client = signed_in(Role.VIEWER)
    link = f'<a href="/admin/tickets/{inquiry.id}/">{inquiry.reference_number}</a>'
    assert link in client.get("/admin/tickets/").text
    assert link in client.get("/admin/").text


def test_admin_pages_carry_a_strict_csp_with_a_nonce(signed_in) -> None:
    response = signed_in(Role.AGENT).get("/admin/tickets/")
    policy = response.headers["Content-Security-Policy"]
    nonce = re.search(r"'nonce-([^']+)'", policy).group(1)
    assert "unsafe-inline" not in policy
    assert f'nonce="{nonce}"' in response.text
    # The actions menu works without inline handlers (the CSP would refuse them).
    assert 'data-model-action="assign_me"' in response.text
    assert "modelActions.execute(" not in response.text
    assert '/static/js/admin.js"' in response.text


def test_portal_users_are_strangers_to_the_back_office(app, inquiry, db) -> None:
    """A signed-in portal user has no operator session: every admin page sends them to sign-in."""
    from tests.builders.accounts import make_registrant, signed_in_as

    user, _ = make_registrant()
    portal_client = signed_in_as(app, user)
    assert portal_client.get("/password/change").status_code == 200  # signed in to the portal
    for url in admin_get_urls(app, inquiry.id):
        response = portal_client.get(url)
        assert response.status_code == 302, url
        assert response.headers["Location"].startswith("/admin/login"), url
    token = csrf_token(portal_client.get("/password/change").text)
    response = portal_client.post(
        "/admin/tickets/action/",
        data={"csrf_token": token, "action": "mark_spam", "rowid": inquiry.id},
    )
    assert response.status_code == 302
    db.session.refresh(inquiry)
    assert inquiry.status is InquiryStatus.NEW
