"""The ticket page's facts panel and its corrections in a real Chromium, with axe at 1280 px and
200 % zoom: a failed mail and a locked portal user shown, the ticket re-filed into ID発行申請 (the
request's fields asked on the spot, a mistake shown next to its field), and a phone call logged."""

import re
from datetime import timedelta

import sqlalchemy as sa
from playwright.sync_api import expect

from backoffice.db import utcnow
from backoffice.extensions import db
from backoffice.inquiries.models import Inquiry
from backoffice.mail.models import EmailStatus, OutboundEmail
from tests.browser.test_flows_browser import make_agent, operator_sign_in
from tests.browser.test_operator_browser import check
from tests.builders.accounts import make_registrant
from tests.builders.inquiries import general_input, send

ADDRESS = "facts@himawari.example.jp"


def _ticket_with_facts(live_app) -> int:
    client = live_app.test_client()
    assert send(client, general_input(email=ADDRESS, email_confirm=ADDRESS)).status_code == 302
    user, _password = make_registrant(email=ADDRESS)
    user.locked_until = utcnow() + timedelta(minutes=20)
    db.session.add(
        OutboundEmail(
            to_address=ADDRESS,
            kind="otp",
            subject="【介護情報基盤ポータル】ワンタイムパスワードのお知らせ",
            body_text="x",
            body_html="x",
            contains_secret=True,
            status=EmailStatus.FAILED,
            attempts=5,
            last_error="550 5.1.1 Recipient address rejected",
        )
    )
    db.session.commit()
    return db.session.scalar(sa.select(Inquiry.id).where(Inquiry.email == ADDRESS))


def test_the_panel_and_a_refile_into_an_id_request(page, live_app, axe_source) -> None:
    with live_app.test_request_context():  # the initial password's mail builds its links
        secret = make_agent()
        ticket = _ticket_with_facts(live_app)
    page.goto(live_app.base_url + "/admin/login")
    operator_sign_in(page, secret)
    page.goto(f"{live_app.base_url}/admin/tickets/{ticket}/")
    panel = page.locator("section.facts")
    expect(panel).to_contain_text("550 5.1.1 Recipient address rejected")
    expect(panel).to_contain_text("ロック中のため、ログインできません")
    expect(
        panel.get_by_role("button", name=re.compile(r"^ロックを解除\s*（佐藤 花子）$"))
    ).to_be_visible()
    check(page, axe_source, "ticket page with the facts panel")

    page.get_by_label("変更先の区分").select_option(label="介護情報基盤ポータルのID発行申請")
    page.get_by_label("医療機関コード").fill("12345")
    page.get_by_role("button", name="区分を変更する").click()
    expect(page.locator("#err-refile-medical_code")).to_contain_text("10桁の数字")
    expect(page.get_by_label("医療機関コード")).to_have_value("12345")
    check(page, axe_source, "re-file with an error")

    page.get_by_label("医療機関コード").fill("0110113719")
    page.get_by_label("医療機関名", exact=True).fill("さくら在宅クリニック")
    page.get_by_label("医療機関名（フリガナ）").fill("サクラザイタククリニック")
    page.get_by_label("郵便番号").fill("060-0001")
    page.get_by_label("所在地").fill("北海道札幌市中央区北1条西1-1")
    page.get_by_role("button", name="区分を変更する").click()
    expect(page.locator("body")).to_contain_text("区分を変更しました。")
    expect(page.locator("h1")).to_contain_text("介護情報基盤ポータルのID発行申請")
    expect(page.get_by_role("link", name="アカウント発行")).to_be_visible()


def test_a_phone_call_logged_without_an_email(page, live_app, axe_source) -> None:
    with live_app.app_context():
        secret = make_agent()
        send(live_app.test_client(), general_input())  # the category tree
    page.goto(live_app.base_url + "/admin/login")
    operator_sign_in(page, secret)
    page.goto(live_app.base_url + "/admin/tickets/")
    page.get_by_role("link", name="電話・FAX・窓口の受付を登録").click()
    expect(page.locator("h1")).to_have_text("電話・FAX・窓口のお問い合わせを登録")
    check(page, axe_source, "log a call")
    page.get_by_label("お問い合わせ区分").select_option(label="ログイン・パスワード")
    page.get_by_label("氏名", exact=True).fill("山田 太郎")
    page.get_by_label("お問い合わせ内容").fill("ワンタイムパスワードが届かないとのお電話。")
    page.get_by_role("button", name="登録する").click()
    expect(page.locator("#error-summary")).to_contain_text("電話番号かメールアドレス")
    expect(page.get_by_label("お問い合わせ内容")).to_have_value(
        "ワンタイムパスワードが届かないとのお電話。"
    )
    check(page, axe_source, "log a call with an error")
    page.get_by_label("電話番号（任意）").fill("03-1234-5678")
    page.get_by_role("button", name="登録する").click()
    expect(page.locator("body")).to_contain_text("（メールは送りません）")
    expect(page.locator("body")).to_contain_text("なし（メールは送信されません")
