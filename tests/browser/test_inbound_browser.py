"""「未振り分けメール」 in a real Chromium: the list, a mail's page with its errors, and a ticket page
with a held mail and a bounced address, each checked by axe at 1280 px and at 200 % zoom."""

from email.mime.text import MIMEText

from playwright.sync_api import expect

from backoffice.extensions import db
from backoffice.inbound.models import InboundSource
from backoffice.inbound.receive import receive
from backoffice.inquiries.models import Inquiry
from tests.browser.test_flows_browser import make_agent, operator_sign_in
from tests.browser.test_operator_browser import check
from tests.builders.inquiries import general_input, send
from tests.inbound.helpers import bounce, last_mail_to, reply


def _stranger() -> bytes:
    message = MIMEText(
        "ポータルのIDを発行してほしいです。\n\nすずきクリニック 鈴木", "plain", "utf-8"
    )
    message["From"] = "鈴木 一郎 <suzuki@clinic.example.jp>"
    message["To"] = "support@kaigo-portal.example.jp"
    message["Subject"] = "ID発行について"
    message["Message-ID"] = "<browser-1@clinic.example.jp>"
    return message.as_bytes()


def test_an_operator_works_through_received_mail(page, live_app, axe_source) -> None:
    with live_app.test_request_context():
        secret = make_agent()
        assert send(live_app.test_client(), general_input())
        inquiry = db.session.query(Inquiry).one()
        inquiry_id, reference = inquiry.id, inquiry.reference_number
        acknowledgement = last_mail_to(inquiry)
        receive(_stranger(), InboundSource.PIPE)
        receive(
            reply(acknowledgement, "同僚が代わりに返信します。", sender="sato@example.org"),
            InboundSource.PIPE,
        )
        receive(bounce(acknowledgement), InboundSource.PIPE)
    base = live_app.base_url
    page.goto(base + "/admin/login")
    operator_sign_in(page, secret)

    page.goto(base + "/admin/inbound-mail/")
    expect(page.locator("body")).to_contain_text("ID発行について")
    check(page, axe_source, "inbound list")
    page.get_by_role("link", name="自動応答・不達通知").click()
    expect(page.locator("body")).to_contain_text("不達通知")
    check(page, axe_source, "inbound list, machines' mail")
    page.get_by_role("link", name="対応が必要").click()

    page.get_by_role("link", name="ID発行について").click()
    expect(page.locator("h1")).to_contain_text("ID発行について")
    check(page, axe_source, "inbound mail")
    page.get_by_role("button", name="お問い合わせにする").click()  # no category chosen
    expect(page.locator("#err-new-category")).to_contain_text("お問い合わせ区分を選んでください")
    check(page, axe_source, "inbound mail with errors")
    page.get_by_label("追加先の受付番号").fill("zzzz zzzz")
    page.get_by_role("button", name="追加する").click()
    expect(page.locator("#err-file-reference_number")).to_contain_text("お問い合わせはありません")
    page.get_by_label("追加先の受付番号").fill(reference)
    page.get_by_role("button", name="追加する").click()
    expect(page.locator("body")).to_contain_text(f"受付番号 {reference} に追加しました")

    page.goto(f"{base}/admin/tickets/{inquiry_id}/")
    expect(page.locator("body")).to_contain_text("保留中のメール（1件）")
    expect(page.locator("body")).to_contain_text("このアドレスへのメールが届いていません")
    check(page, axe_source, "ticket page with held mail")
    page.get_by_role("button", name="対応不要にする").click()
    expect(page.locator("body")).to_contain_text("対応不要にしました")
    expect(page.locator("body")).not_to_contain_text("保留中のメール")
