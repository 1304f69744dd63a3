"""The facts panel of the ticket page: mails to the requester (with the SMTP answer or the bounce),
the portal account and its first-login step, the e-claims directory entry (masked), the organization's
checklist, the requester's other tickets — for 管理者 and 担当者 only; and the audited 再送."""

import re
from datetime import timedelta

import sqlalchemy as sa

from backoffice.audit.models import AuditEvent
from backoffice.db import utcnow
from backoffice.eclaims.models import EClaimsOffice
from backoffice.extensions import db
from backoffice.inquiries import facts
from backoffice.mail.models import EmailStatus, OutboundEmail
from backoffice.operators.models import Role
from backoffice.passwords import hash_password
from tests.builders.accounts import make_registrant
from tests.builders.inquiries import make_inquiry, seed_tree
from tests.builders.web import csrf_token

ADDRESS = "yamada@himawari.example.jp"


def _mail(subject: str, status: EmailStatus, **values) -> OutboundEmail:
    email = OutboundEmail(
        to_address=values.pop("to", ADDRESS),
        subject=subject,
        body_text="本文",
        body_html="<p>本文</p>",
        status=status,
        **values,
    )
    db.session.add(email)
    db.session.commit()
    return email


def _setting(client) -> tuple:
    seed_tree()
    inquiry = make_inquiry(
        client,
        body="ワンタイムパスワードが届きません。電子請求受付システムのIDはKJ000000000001です。",
    )
    user, _password = make_registrant(email=ADDRESS)
    user.locked_until = utcnow() + timedelta(minutes=25)
    db.session.add(
        EClaimsOffice(
            eclaims_id="KJ000000000001",
            password_hash=hash_password("x" * 12),
            security_email="security.person@himawari.example.jp",
            security_code_hash=None,
            office_number="1310000001",
            office_name="ひまわりデイサービス",
            kind=user.organization.kind,
        )
    )
    db.session.commit()
    failed = _mail(
        "【介護情報基盤ポータル】ワンタイムパスワードのお知らせ",
        EmailStatus.FAILED,
        contains_secret=True,
        kind="otp",
        attempts=5,
        last_error="550 5.1.1 <yamada@himawari.example.jp>: Recipient address rejected",
    )
    bounced = _mail(
        "【介護情報基盤ポータル】お問い合わせを受け付けました",
        EmailStatus.BOUNCED,
        bounce_detail="5.2.2 mailbox full",
        sent_at=utcnow(),
        inquiry_id=inquiry.id,
    )
    return inquiry, user, failed, bounced


def test_the_panel_shows_mails_account_directory_and_checklist(client, signed_in) -> None:
    inquiry, user, failed, bounced = _setting(client)
    other = make_inquiry(client, body="別件です。")  # the requester's other ticket
    agent = signed_in(Role.AGENT)
    page = agent.get(f"/admin/tickets/{inquiry.id}/").text
    panel = page.split('id="facts"', 1)[1].split('id="history"', 1)[0]
    # The failed OTP mail with the SMTP server's answer, and no 再送 (its body is not kept).
    assert "ワンタイムパスワードのお知らせ" in panel
    assert "送信失敗" in panel
    assert "550 5.1.1" in panel
    assert "不達" in panel
    assert "5.2.2 mailbox full" in panel
    assert f"/mails/{failed.id}/resend" not in panel
    assert "ログイン（初回利用登録は最初の画面）をやり直すと" in panel
    assert f"/mails/{bounced.id}/resend" in panel
    # The locked portal user, the step of the first login, and the one-click actions.
    assert "ロック中" in panel
    assert "ロックを解除" in panel
    assert "ロック中のため、ログインできません" in panel
    assert 'value="unlock"' in panel
    assert f'name="rowid" value="{user.id}"' in panel
    # The directory entry named in the body: found, with the security email masked, never shown.
    assert "KJ000000000001" in panel
    assert "登録あり" in panel
    assert "security.person" not in page
    assert "s***@h***.jp" in panel
    assert "セキュリティコード：未設定" in panel
    # The organization's checklist and the other ticket.
    assert "さくら在宅クリニック" in panel
    assert "未：ログイン・ワンタイムパスワード認証" in panel
    assert f'href="/admin/tickets/{other.id}/">{other.reference_number}</a>' in panel


def test_a_viewer_sees_the_ticket_without_the_panel(client, signed_in) -> None:
    inquiry, _user, _failed, _bounced = _setting(client)
    viewer = signed_in(Role.VIEWER)
    page = viewer.get(f"/admin/tickets/{inquiry.id}/").text
    assert inquiry.reference_number in page
    assert 'id="facts"' not in page
    assert "550 5.1.1" not in page
    assert "s***@h***.jp" not in page
    assert "ロック中" not in page


def test_resend_is_audited_and_only_for_a_kept_body(client, signed_in) -> None:
    inquiry, _user, failed, bounced = _setting(client)
    agent = signed_in(Role.AGENT)
    token = csrf_token(agent.get(f"/admin/tickets/{inquiry.id}/").text)
    before = db.session.scalar(sa.select(sa.func.count()).select_from(OutboundEmail))
    response = agent.post(
        f"/admin/tickets/{inquiry.id}/mails/{bounced.id}/resend", data={"csrf_token": token}
    )
    assert response.status_code == 302
    copies = db.session.scalars(
        sa.select(OutboundEmail).where(OutboundEmail.id > bounced.id).order_by(OutboundEmail.id)
    ).all()
    assert [(c.to_address, c.subject, c.body_text) for c in copies] == [
        (bounced.to_address, bounced.subject, bounced.body_text)
    ]
    assert copies[0].inquiry_id == inquiry.id
    audit = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "mail.resent")
    ).one()
    assert audit.detail["original_id"] == bounced.id
    assert audit.actor_id == agent.operator.id
    # A mail with a secret is not sent again, whatever is posted.
    agent.post(f"/admin/tickets/{inquiry.id}/mails/{failed.id}/resend", data={"csrf_token": token})
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboundEmail)) == before + 1
    # Nor a mail the ticket's panel does not list, nor by a 閲覧者.
    stranger = _mail("関係のないメール", EmailStatus.SENT, to="someone@else.example.jp")
    assert (
        agent.post(
            f"/admin/tickets/{inquiry.id}/mails/{stranger.id}/resend", data={"csrf_token": token}
        ).status_code
        == 404
    )
    viewer = signed_in(Role.VIEWER)
    viewer_token = csrf_token(viewer.get(f"/admin/tickets/{inquiry.id}/").text)
    assert (
        viewer.post(
            f"/admin/tickets/{inquiry.id}/mails/{bounced.id}/resend",
            data={"csrf_token": viewer_token},
        ).status_code
        == 403
    )


def test_an_adapter_without_look_up_says_it_cannot_be_queried(
    client, signed_in, monkeypatch
) -> None:
    inquiry, _user, _failed, _bounced = _setting(client)

    class AuthenticateOnly:
        def authenticate(self, eclaims_id, password):
            return None

        def check_security_code(self, office_id, code):
            return False

    monkeypatch.setattr(facts, "directory", AuthenticateOnly())
    page = signed_in(Role.AGENT).get(f"/admin/tickets/{inquiry.id}/").text
    assert "照会できません" in page
    assert "s***@h***.jp" not in page


def test_an_operator_looks_up_an_id_given_on_the_phone(client, signed_in) -> None:
    inquiry, _user, _failed, _bounced = _setting(client)
    agent = signed_in(Role.AGENT)
    page = agent.get(f"/admin/tickets/{inquiry.id}/", query_string={"lookup": "1310000001"}).text
    assert re.search(r"1310000001：登録あり", page)
    missing = agent.get(
        f"/admin/tickets/{inquiry.id}/", query_string={"lookup": "ｋｊ９９９９９９９９９９９９"}
    ).text
    assert "KJ999999999999：登録がありません" in missing
    wrong = agent.get(f"/admin/tickets/{inquiry.id}/", query_string={"lookup": "12-34"})
    assert wrong.status_code == 200
    assert "10桁の事業所番号・医療機関コードを入力してください" in wrong.text
    assert 'value="12-34"' in wrong.text


def test_the_panels_unlock_works_and_comes_back_to_the_ticket(client, signed_in) -> None:
    inquiry, user, _failed, _bounced = _setting(client)
    agent = signed_in(Role.AGENT)
    page = agent.get(f"/admin/tickets/{inquiry.id}/").text
    forms = re.findall(
        r'<form method="post" action="/admin/portal_users/action/".*?</form>', page, re.S
    )
    unlock = next(f for f in forms if 'value="unlock"' in f)
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', unlock))
    response = agent.post("/admin/portal_users/action/", data=fields)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/admin/tickets/{inquiry.id}/#facts")
    db.session.refresh(user)
    assert user.locked_until is None or user.locked_until <= utcnow()


def test_a_double_click_on_resend_sends_once(client, signed_in) -> None:
    inquiry, _user, _failed, bounced = _setting(client)
    agent = signed_in(Role.AGENT)
    token = csrf_token(agent.get(f"/admin/tickets/{inquiry.id}/").text)
    url = f"/admin/tickets/{inquiry.id}/mails/{bounced.id}/resend"
    agent.post(url, data={"csrf_token": token})
    second = agent.post(url, data={"csrf_token": token}, follow_redirects=True)
    assert "少し前に再送しました" in second.text
    copies = db.session.scalars(sa.select(OutboundEmail).where(OutboundEmail.id > bounced.id))
    assert len(copies.all()) == 1


def test_a_search_term_that_lower_cases_longer_is_no_error(client, signed_in) -> None:
    seed_tree()
    make_inquiry(client)
    page = signed_in(Role.VIEWER).get("/admin/tickets/", query_string={"search": "İİ"})
    assert page.status_code == 200
