"""マイページ's re-authentication pages in a real Chromium on a phone (375 px): the password asked on
ユーザ新規登録 and on ユーザを無効にする, their error states, axe and reflow."""

import re

from playwright.sync_api import expect

from backoffice.mail.outbox import readable
from tests.builders.accounts import last_mail_to, make_registrant, publish_terms
from tests.builders.browser import check_phone_page as check
from tests.builders.inquiries import make_inquiry

PASSWORD = "haru-no-sakura-namiki-2026"


def mail_text(app, address: str) -> str:
    with app.app_context():
        return readable(last_mail_to(address))[0]


def first_login(page, app, email: str, initial: str) -> None:
    """ログイン → ワンタイムパスワード → パスワードの変更 → 利用規約, up to マイページ."""
    page.goto(app.base_url + "/login")
    page.get_by_label("ID（メールアドレス）").fill(email)
    page.locator("#password").fill(initial)
    page.get_by_role("button", name="ログインする").click()
    page.locator("#code").fill(re.search(r"^(\d{6})$", mail_text(app, email), re.M).group(1))
    page.get_by_role("button", name="ログインする").click()
    page.locator("#current").fill(initial)
    page.locator("#new").fill(PASSWORD)
    page.locator("#confirm").fill(PASSWORD)
    page.get_by_role("button", name="パスワードを変更する").click()
    page.get_by_label("利用規約に同意する").check()
    page.get_by_role("button", name="同意して進む").click()


def test_adding_and_disabling_a_user_ask_for_the_password_again(
    phone, live_app, axe_source
) -> None:
    page, base = phone, live_app.base_url
    with live_app.test_request_context():  # the initial password's mail builds its links
        publish_terms()
        user, initial = make_registrant()
        email = user.email
        sent = make_inquiry(live_app.test_client(), email=email, email_confirm=email)
        number = sent.reference_number
    first_login(page, live_app, email, initial)
    expect(page.locator("body")).to_contain_text("ユーザはあと4名追加できます")

    # マイページ「お問い合わせ」: the list and one inquiry with 「追加で連絡する」, its error state too.
    page.goto(base + "/mypage/inquiries")
    expect(page.locator("body")).to_contain_text(number)
    check(page, axe_source)
    page.get_by_role("link", name=f"受付番号 {number}").click()
    check(page, axe_source)
    page.get_by_role("button", name="送信する").click()
    expect(page.locator("#err-body")).to_be_visible()
    check(page, axe_source)
    page.get_by_label("連絡内容").fill("補足します。")
    page.get_by_role("button", name="送信する").click()
    expect(page.locator("body")).to_contain_text("追加のご連絡を送信しました")
    page.goto(base + "/mypage")

    live_app.config["PORTAL_REAUTH_MINUTES"] = 0  # every change now asks for the password
    page.get_by_role("link", name="ユーザ新規登録").click()
    expect(page.get_by_label("現在のパスワード")).to_be_visible()
    check(page, axe_source)
    page.locator("#name").fill("田中 一郎")
    page.locator("#name_kana").fill("たなか いちろう")
    page.locator("#email").fill("tanaka@clinic.example.jp")
    page.locator("#email_confirm").fill("tanaka@clinic.example.jp")
    page.locator("#phone").fill("03-1234-5679")
    page.get_by_label("現在のパスワード").fill("not-my-password")
    page.get_by_role("button", name="登録する").click()
    expect(page).to_have_title(re.compile("^エラー："))
    expect(page.locator("#err-password")).to_contain_text("現在のパスワードが正しくありません")
    expect(page.locator("#email")).to_have_value("tanaka@clinic.example.jp")
    check(page, axe_source)
    page.get_by_label("現在のパスワード").fill(PASSWORD)
    page.get_by_role("button", name="登録する").click()
    expect(page.locator("body")).to_contain_text("田中 一郎さんを追加しました")

    check(page, axe_source)  # マイページ with two users: each a card, its buttons in reach
    page.get_by_role("button", name=re.compile(r"^無効にする\s*：田中 一郎$")).click()
    expect(page.locator("h1")).to_have_text("ユーザを無効にする")
    check(page, axe_source)
    page.get_by_role("button", name="無効にする").click()  # no password: the error state
    expect(page.locator("#err-password")).to_contain_text("現在のパスワードをもう一度入力")
    check(page, axe_source)
    page.get_by_label("現在のパスワード").fill(PASSWORD)
    page.get_by_role("button", name="無効にする").click()
    expect(page.locator("body")).to_contain_text("田中 一郎さんを無効にしました")
    expect(page.locator("body")).to_contain_text("ユーザはあと4名追加できます")
