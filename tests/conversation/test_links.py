"""The status link itself: asked for again with 受付番号 + メールアドレス (the same answer whether or not
the pair exists, rate-limited, one mail per cooldown), and revoked by an operator."""

import pytest
import sqlalchemy as sa

from backoffice.audit.models import AuditEvent
from backoffice.operators.models import Role
from tests.builders.web import csrf_token
from tests.conversation.helpers import link_in, mails_to

SAME = "受付番号とメールアドレスがお問い合わせのものと一致する場合は"
LINK_MAIL = "対応状況の確認ページのURL"


def ask(client, number: str, email: str):
    page = client.get("/inquiry/link")
    response = client.post(
        "/inquiry/link",
        data={"csrf_token": csrf_token(page.text), "reference_number": number, "email": email},
    )
    return response, client.get("/inquiry/link").text if response.status_code == 302 else ""


def link_mails(address: str) -> list:
    return [m for m in mails_to(address) if LINK_MAIL in m.subject]


def test_the_link_is_mailed_again_for_the_right_pair_only_and_the_answer_is_the_same(
    inquiry, db, client
) -> None:
    number = inquiry.reference_number
    right, right_page = ask(client, number.lower().replace("-", ""), inquiry.email.upper())
    wrong, wrong_page = ask(client, number, "someone-else@example.jp")
    unknown, unknown_page = ask(client, "ZZZZ-ZZZZ", inquiry.email)
    assert right.status_code == wrong.status_code == unknown.status_code == 302
    assert SAME in right_page
    assert SAME in wrong_page
    assert SAME in unknown_page
    [mail] = link_mails(inquiry.email)
    assert mail.contains_secret
    assert link_in(mail) == link_in(mails_to(inquiry.email)[0])
    assert link_mails("someone-else@example.jp") == []
    # Within the cooldown a second request mails nothing more.
    ask(client, number, inquiry.email)
    assert len(link_mails(inquiry.email)) == 1
    failures = db.session.scalars(
        sa.select(AuditEvent.detail).where(AuditEvent.action == "ticket.link_requested")
    ).all()
    assert len(failures) == 4


def test_bad_input_is_answered_next_to_the_field(inquiry, client) -> None:
    response, _ = ask(client, "12", "not-an-address")
    assert response.status_code == 422
    assert "＊受付番号は、受付確認メールに記載の" in response.text
    assert 'value="12"' in response.text
    assert "not-an-address" in response.text


@pytest.mark.parametrize(
    "app_overrides", [{"RATELIMIT_ENABLED": True, "INQUIRY_LINK_LIMIT": "2 per 10 minutes"}]
)
def test_asking_is_rate_limited_per_ip_address(inquiry, client) -> None:
    statuses = [ask(client, "ZZZZ-ZZZZ", "a@example.jp")[0].status_code for _ in range(3)]
    assert statuses == [302, 302, 429]


def test_an_operator_revokes_a_leaked_link(signed_in, inquiry, db, client) -> None:
    old = link_in(mails_to(inquiry.email)[0])
    operator = signed_in(Role.AGENT)
    page = operator.get(f"/admin/tickets/{inquiry.id}/")
    revoked = operator.post(
        f"/admin/tickets/{inquiry.id}/",
        data={"csrf_token": csrf_token(page.text), "link-revoke": "1"},
    )
    assert revoked.status_code == 302
    assert client.get(old).status_code == 404
    [mail] = link_mails(inquiry.email)
    assert "以前のURLは使えなくなりました" in mail.body_text or mail.contains_secret
    new = link_in(mail)
    assert client.get(new).status_code == 200
    assert (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "ticket.link_revoked")
        )
        == 1
    )


def test_a_viewer_cannot_revoke(signed_in, inquiry, client) -> None:
    old = link_in(mails_to(inquiry.email)[0])
    viewer = signed_in(Role.VIEWER)
    page = viewer.get(f"/admin/tickets/{inquiry.id}/")
    refused = viewer.post(
        f"/admin/tickets/{inquiry.id}/",
        data={"csrf_token": csrf_token(page.text), "link-revoke": "1"},
    )
    assert refused.status_code == 403
    assert client.get(old).status_code == 200
