"""「未振り分けメール」 and the ticket page: what operators see of received mail, and what they do."""

import pytest
import sqlalchemy as sa

from backoffice.extensions import db
from backoffice.inbound.models import InboundEmail, InboundSource, InboundState
from backoffice.inbound.receive import receive
from backoffice.inquiries.models import Inquiry
from backoffice.inquiries.vocabulary import InquiryStatus
from backoffice.mail.models import OutboundEmail
from backoffice.operators.models import Role
from tests.builders.web import csrf_token
from tests.conversation.helpers import operator_reply
from tests.inbound.helpers import bounce, inbound_rows, last_mail_to, mail_messages, reply


def _stranger(
    text: str = "ポータルのIDを発行してほしいです。", subject: str = "ID発行について"
) -> bytes:
    from email.mime.text import MIMEText

    message = MIMEText(text, "plain", "utf-8")
    message["From"] = "鈴木 一郎 <suzuki@clinic.example.jp>"
    message["To"] = "support@kaigo-portal.example.jp"
    message["Subject"] = subject
    message["Message-ID"] = f"<s-{abs(hash(text))}@clinic.example.jp>"
    return message.as_bytes()


def _take(raw: bytes) -> InboundEmail:
    received = receive(raw, InboundSource.PIPE)
    return db.session.get(InboundEmail, received.inbound_id)


def test_the_list_shows_what_waits_and_the_dashboard_counts_it(signed_in, inquiry) -> None:
    row = _take(_stranger())
    agent = signed_in(Role.AGENT)
    page = agent.get("/admin/inbound-mail/")
    assert page.status_code == 200
    assert "ID発行について" in page.text
    assert "suzuki@clinic.example.jp" in page.text
    assert f"/admin/inbound-mail/{row.id}/" in page.text
    assert "未振り分けメール</a>" in agent.get("/admin/").text
    detail = agent.get(f"/admin/inbound-mail/{row.id}/")
    assert "ポータルのIDを発行してほしいです。" in detail.text
    assert 'value="鈴木 一郎"' in detail.text  # the new ticket's name, from the mail


def test_an_operator_files_a_strangers_mail_on_a_ticket(signed_in, inquiry) -> None:
    row = _take(_stranger("先日の件の続きです。"))
    agent = signed_in(Role.AGENT)
    page = agent.get(f"/admin/inbound-mail/{row.id}/")
    response = agent.post(
        f"/admin/inbound-mail/{row.id}/",
        data={
            "file-csrf_token": csrf_token(page.text),
            "file-reference_number": inquiry.reference_number.lower().replace("-", ""),
        },
    )
    assert response.status_code == 302
    [message] = mail_messages(inquiry)
    assert message.body == "先日の件の続きです。"
    db.session.refresh(row)
    assert row.state is InboundState.FILED
    assert row.handled_by is not None
    # A second try (another operator's page) is refused, not doubled.
    again = agent.post(
        f"/admin/inbound-mail/{row.id}/",
        data={
            "file-csrf_token": csrf_token(page.text),
            "file-reference_number": inquiry.reference_number,
        },
        follow_redirects=True,
    )
    assert "ほかの担当者が処理済みです" in again.text
    assert len(mail_messages(inquiry)) == 1


def test_an_unknown_reference_number_is_refused_next_to_the_field(signed_in, inquiry) -> None:
    row = _take(_stranger())
    agent = signed_in(Role.AGENT)
    page = agent.get(f"/admin/inbound-mail/{row.id}/")
    response = agent.post(
        f"/admin/inbound-mail/{row.id}/",
        data={"file-csrf_token": csrf_token(page.text), "file-reference_number": "ZZZZ-ZZZZ"},
    )
    assert response.status_code == 422
    assert "その受付番号のお問い合わせはありません" in response.text
    assert 'value="ZZZZ-ZZZZ"' in response.text


def test_an_operator_makes_a_new_ticket_of_a_mail(signed_in, inquiry) -> None:
    row = _take(_stranger())
    agent = signed_in(Role.AGENT)
    page = agent.get(f"/admin/inbound-mail/{row.id}/")
    category = db.session.scalar(sa.select(Inquiry.category_id).where(Inquiry.id == inquiry.id))
    response = agent.post(
        f"/admin/inbound-mail/{row.id}/",
        data={
            "new-csrf_token": csrf_token(page.text),
            "new-category": str(category),
            "new-requester_name": "鈴木 一郎",
            "new-organization_name": "すずきクリニック",
            "new-email": "suzuki@clinic.example.jp",
            "new-acknowledge": "y",
        },
    )
    assert response.status_code == 302
    created = db.session.scalar(
        sa.select(Inquiry).where(Inquiry.email == "suzuki@clinic.example.jp")
    )
    assert created.body == "ポータルのIDを発行してほしいです。"
    assert created.status is InquiryStatus.NEW
    assert last_mail_to(created).subject.startswith(
        "【介護情報基盤ポータル】お問い合わせを受け付けました"
    )
    assert agent.get(f"/admin/tickets/{created.id}/").status_code == 200


def test_a_new_ticket_needs_a_category(signed_in, inquiry) -> None:
    row = _take(_stranger())
    agent = signed_in(Role.AGENT)
    page = agent.get(f"/admin/inbound-mail/{row.id}/")
    response = agent.post(
        f"/admin/inbound-mail/{row.id}/",
        data={
            "new-csrf_token": csrf_token(page.text),
            "new-category": "",
            "new-requester_name": "鈴木 一郎",
            "new-email": "suzuki@clinic.example.jp",
        },
    )
    assert response.status_code == 422
    assert "お問い合わせ区分を選んでください" in response.text
    assert db.session.get(InboundEmail, row.id).state is InboundState.UNMATCHED


def test_dismissing_takes_a_mail_off_the_list(signed_in, inquiry) -> None:
    row = _take(_stranger("広告です"))
    agent = signed_in(Role.AGENT)
    page = agent.get(f"/admin/inbound-mail/{row.id}/")
    response = agent.post(
        f"/admin/inbound-mail/{row.id}/",
        data={"dismiss-csrf_token": csrf_token(page.text), "dismiss": "1"},
    )
    assert response.status_code == 302
    assert db.session.get(InboundEmail, row.id).state is InboundState.DISMISSED
    assert f"/admin/inbound-mail/{row.id}/" not in agent.get("/admin/inbound-mail/").text


def test_a_viewer_reads_but_cannot_act_or_open_the_original(signed_in, inquiry) -> None:
    row = _take(_stranger())
    viewer = signed_in(Role.VIEWER)
    page = viewer.get(f"/admin/inbound-mail/{row.id}/")
    assert page.status_code == 200
    assert "お問い合わせに追加する" not in page.text
    assert viewer.get(f"/admin/inbound-mail/{row.id}/original.eml").status_code == 403
    assert (
        viewer.post(
            f"/admin/inbound-mail/{row.id}/", data={"dismiss-csrf_token": csrf_token(page.text)}
        ).status_code
        == 403
    )


def test_an_agent_opens_the_original_as_received_and_it_is_audited(signed_in, inquiry) -> None:
    from backoffice.audit.models import AuditEvent

    raw = _stranger()
    row = _take(raw)
    response = signed_in(Role.AGENT).get(f"/admin/inbound-mail/{row.id}/original.eml")
    assert response.status_code == 200
    assert response.mimetype == "message/rfc822"
    assert response.data == raw
    assert db.session.scalar(
        sa.select(AuditEvent).where(AuditEvent.action == "mail.original_opened")
    )


def test_the_ticket_page_shows_held_mail_and_files_it_from_there(signed_in, inquiry) -> None:
    agent = signed_in(Role.AGENT)
    operator_reply(agent, inquiry, "ご確認ください。")
    _take(
        reply(
            last_mail_to(inquiry), "同僚の佐藤です。代わりに返信します。", sender="sato@example.org"
        )
    )
    page = agent.get(f"/admin/tickets/{inquiry.id}/")
    assert "保留中のメール（1件）" in page.text
    assert "同僚の佐藤です。" in page.text
    [row] = inbound_rows()
    response = agent.post(
        f"/admin/inbound-mail/{row.id}/",
        data={
            "file-csrf_token": csrf_token(page.text),
            "file-reference_number": inquiry.reference_number,
            "next": "ticket",
            "ticket": str(inquiry.id),
        },
    )
    assert response.headers["Location"].endswith(f"/admin/tickets/{inquiry.id}/")
    assert [m.body for m in mail_messages(inquiry)] == ["同僚の佐藤です。代わりに返信します。"]
    assert "保留中のメール" not in agent.get(f"/admin/tickets/{inquiry.id}/").text


def test_the_ticket_page_warns_of_a_bounced_address_and_links_mail_messages(
    signed_in, inquiry
) -> None:
    agent = signed_in(Role.AGENT)
    operator_reply(agent, inquiry, "ご確認ください。")
    asked = last_mail_to(inquiry)
    _take(reply(asked, "届きました。"))
    _take(bounce(asked))
    page = agent.get(f"/admin/tickets/{inquiry.id}/")
    assert "このアドレスへのメールが届いていません" in page.text
    assert "依頼者へのメールが届きませんでした" in page.text
    assert "受信したメール</a>" in page.text
    assert db.session.get(OutboundEmail, asked.id).bounce_detail.startswith("5.1.1")


@pytest.mark.parametrize("path", ["/admin/inbound-mail/", "/admin/inbound-mail/1/"])
def test_signed_out_visitors_are_sent_to_sign_in(client, path) -> None:
    response = client.get(path)
    assert response.status_code == 302
    assert "/admin/login" in response.headers["Location"]
