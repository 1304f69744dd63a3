"""The reply box: it says what the mail adds by itself, and shows the exact mail before it is sent."""

import html
import re

import sqlalchemy as sa

from backoffice.inquiries.models import InquiryEvent
from backoffice.inquiries.notifications import STATUS_URL_PLACEHOLDER
from backoffice.inquiries.vocabulary import EventKind
from backoffice.mail.models import OutboundEmail
from backoffice.mail.outbox import readable
from backoffice.operators.models import Role
from tests.builders.web import csrf_token

BODY = "パスワードの再設定をお試しください。\n再設定の手順は次のとおりです。"


def _post(client, inquiry, data):
    page = client.get(f"/admin/tickets/{inquiry.id}/")
    return client.post(
        f"/admin/tickets/{inquiry.id}/",
        data={"csrf_token": csrf_token(page.text), "reply-version": str(inquiry.version), **data},
    )


def _preview(page: str) -> tuple[str, str, str]:
    section = re.search(r'<section class="mail-preview.*?</section>', page, re.S).group(0)
    to, subject = re.findall(r"<dd>([^<]*)</dd>", section)
    body = re.search(r'<pre class="mail-preview__body">(.*?)</pre>', section, re.S).group(1)
    return html.unescape(to), html.unescape(subject), html.unescape(body)


def test_the_box_says_the_salutation_and_signature_are_added(signed_in, inquiry) -> None:
    page = signed_in(Role.AGENT).get(f"/admin/tickets/{inquiry.id}/")
    assert (
        f"宛名（{inquiry.requester_name} 様）、あいさつ、確認ページのURLと窓口の署名は" in page.text
    )
    assert 'aria-describedby="hint-reply-body"' in page.text


def test_the_preview_is_the_mail_that_is_then_sent(signed_in, inquiry, db) -> None:
    agent = signed_in(Role.AGENT)
    mails = db.session.scalar(sa.select(sa.func.count()).select_from(OutboundEmail))
    shown = _post(agent, inquiry, {"reply-body": BODY, "reply-preview": "1"})
    assert shown.status_code == 200
    to, subject, text = _preview(shown.text)
    # Nothing is sent or written, and what was typed stays in the box.
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboundEmail)) == mails
    assert not db.session.scalars(
        sa.select(InquiryEvent).where(InquiryEvent.kind == EventKind.PUBLIC_REPLY)
    ).all()
    assert html.escape(BODY, quote=False) in shown.text.replace("\r\n", "\n")

    sent = _post(agent, inquiry, {"reply-body": BODY})
    assert sent.status_code == 302
    mail = db.session.scalars(sa.select(OutboundEmail).order_by(OutboundEmail.id.desc())).first()
    sent_text = readable(mail)[0]
    assert (to, subject) == (mail.to_address, mail.subject)
    link = re.search(r"http://localhost/inquiry/status/\S+", sent_text).group(0)
    assert text.replace(STATUS_URL_PLACEHOLDER, link) == sent_text
    assert f"\n{inquiry.requester_name} 様\n" in text


def test_a_preview_of_an_empty_reply_gets_the_message(signed_in, inquiry) -> None:
    refused = _post(signed_in(Role.AGENT), inquiry, {"reply-body": " ", "reply-preview": "1"})
    assert refused.status_code == 422
    assert "＊回答内容を入力してください。" in refused.text
    assert "mail-preview" not in refused.text


def test_viewers_cannot_preview(signed_in, inquiry) -> None:
    viewer = signed_in(Role.VIEWER)
    page = viewer.get(f"/admin/tickets/{inquiry.id}/")
    refused = viewer.post(
        f"/admin/tickets/{inquiry.id}/",
        data={"csrf_token": csrf_token(page.text), "reply-body": BODY, "reply-preview": "1"},
    )
    assert refused.status_code == 403
