"""Every public and portal page, signed in or not, with each form's error state, in a real Chromium at
1280 and at 375 px: nothing scrolls sideways, axe finds nothing serious or critical, the console stays
clean. The tour ends by checking it saw every page the app routes (a new page joins it or fails here)."""

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from backoffice.accounts.models import PortalUser
from backoffice.db import utcnow
from backoffice.eclaims.importer import import_csv
from backoffice.extensions import db
from tests.browser.test_flows_browser import mail_to
from tests.builders.accounts import publish_terms
from tests.builders.browser import Checker, fill_general_inquiry, shot

OFFICE = (
    "eclaims_id,password,security_email,security_code,office_number,office_name,kind\n"
    "KJ000000000003,eclaims-pass-1,sec3@demo.example.jp,7391,2710100039,みどりケアセンター,care\n"
    "KJ000000000005,eclaims-pass-5,,,2710100047,ひまわり訪問介護,care\n"
)
REGISTRANT = "boss@midori.example.jp"
PASSWORD = "aki-no-momiji-2026-kyoto"
MEMBER = "tanaka@midori.example.jp"

# Pages a person never lands on as a page: files, probes, and the form steps that only redirect.
NOT_PAGES = {
    "static",
    "public.healthz",
    "public.favicon",
    "monitoring.metrics_page",
    "inquiries.file",
    "portal.inquiry_file",
}


def code_in(app, address: str) -> str:
    return re.search(r"^(\d{6})$", mail_to(app, address, "ワンタイム"), re.M).group(1)


def prove_eclaims(page, eclaims_id: str, password: str) -> None:
    """初回利用登録's first step, on /register."""
    page.get_by_label("電子請求受付システムのID").fill(eclaims_id)
    page.locator("#password").fill(password)
    page.get_by_role("button", name="次へ進む").click()


def logged_in_once(address: str) -> None:
    """As if the user had done the first login (their own password, the 利用規約): a 登録者 can now hand
    the role to them."""
    user = db.session.scalars(sa.select(PortalUser).where(PortalUser.email == address)).one()
    user.must_change_password = False
    user.first_login_at = user.password_changed_at = user.terms_accepted_at = utcnow()
    db.session.commit()


def errors_of(page, button: str) -> None:
    """Send the form as it is (empty or wrong) and wait for its error page."""
    page.get_by_role("button", name=button, exact=True).click()
    expect(page).to_have_title(re.compile("^エラー："))


@pytest.mark.parametrize(("width", "mobile"), [(1280, False), (375, True)])
def test_every_public_and_portal_page_fits_and_passes_axe(
    browser, live_app, axe_source, width: int, mobile: bool
) -> None:
    with live_app.app_context():
        import_csv(OFFICE)
        publish_terms()
    live_app.config["PORTAL_REAUTH_MINUTES"] = 0  # adding and disabling users ask for the password
    context = browser.new_context(
        locale="ja-JP", viewport={"width": width, "height": 800}, is_mobile=mobile
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    base = live_app.base_url
    check = Checker(page, axe_source, live_app)
    try:
        page.goto(base + "/")
        check()
        page.goto(base + "/flows")
        check()
        page.get_by_role("link", name="アクセシビリティ方針").click()
        expect(page.locator("h1")).to_have_text("アクセシビリティ方針")
        check()
        page.goto(base + "/no/such/page")
        check()

        # お問い合わせ: the form, its errors, 確認, 完了; the status page from the mail, its errors.
        page.goto(base + "/inquiry")
        check()
        errors_of(page, "確認画面へ進む")
        check()
        fill_general_inquiry(page)
        page.locator("#email").fill(REGISTRANT)  # マイページ lists it once the office registers
        page.locator("#email_confirm").fill(REGISTRANT)
        page.get_by_role("button", name="確認画面へ進む").click()
        expect(page.locator("h1")).to_have_text("入力内容の確認")
        check()
        page.get_by_role("button", name="この内容で送信する").click()
        expect(page.locator("h1")).to_have_text("送信が完了しました")
        check()
        status_url = re.search(
            r"http://\S+/inquiry/status/\S+",
            mail_to(live_app, REGISTRANT, "受け付けました"),
        ).group(0)
        page.goto(status_url)
        check()
        errors_of(page, "送信する")
        check()
        page.goto(base + "/inquiry/link")
        check()
        errors_of(page, "URLを送る")
        check()

        # 初回利用登録: an office without a security email (※3), then one that registers.
        page.goto(base + "/register")
        check()
        errors_of(page, "次へ進む")
        check()
        prove_eclaims(page, "KJ000000000005", "eclaims-pass-5")
        expect(page.locator("h1")).to_have_text("セキュリティ用メールアドレスの登録が必要です")
        check()
        page.goto(base + "/register")
        prove_eclaims(page, "KJ000000000003", "eclaims-pass-1")
        expect(page.locator("body")).to_contain_text("s***@d***.example.jp")
        check()
        page.locator("#code").fill("000000")
        errors_of(page, "次へ進む")
        check()
        page.locator("#code").fill(code_in(live_app, "sec3@demo.example.jp"))
        page.locator("#security_code").fill("7391")
        page.get_by_role("button", name="次へ進む").click()
        expect(page.locator("h1")).to_have_text("ユーザ登録")
        expect(page.locator(".privacy")).to_contain_text("個人情報の取扱い")
        check()
        errors_of(page, "登録する")
        check()
        page.locator("#name").fill("鈴木 一郎")
        page.locator("#name_kana").fill("すずき いちろう")
        page.locator("#email").fill(REGISTRANT)
        page.locator("#email_confirm").fill(REGISTRANT)
        page.locator("#phone").fill("06-1234-5678")
        page.get_by_role("button", name="登録する").click()
        expect(page.locator("h1")).to_have_text("登録が完了しました")
        check()
        page.goto(base + "/register")
        prove_eclaims(page, "KJ000000000003", "eclaims-pass-1")
        expect(page.locator("h1")).to_contain_text("登録済み")
        check()

        # The first login: ログイン, ワンタイムパスワード, パスワードの変更, 利用規約, each with its errors.
        initial = re.search(
            r"^初期パスワード：(\S+)$", mail_to(live_app, REGISTRANT, "初期パスワード"), re.M
        ).group(1)
        page.goto(base + "/login")
        check()
        errors_of(page, "ログインする")
        check()
        page.get_by_label("ID（メールアドレス）").fill(REGISTRANT)
        page.locator("#password").fill(initial)
        page.get_by_role("button", name="ログインする").click()
        expect(page.locator("h1")).to_have_text("ワンタイムパスワードを入力してください")
        check()
        page.locator("#code").fill("000000")
        errors_of(page, "ログインする")
        check()
        page.locator("#code").fill(code_in(live_app, REGISTRANT))
        page.get_by_role("button", name="ログインする").click()
        expect(page.locator("h1")).to_have_text("パスワードの変更")
        check()
        errors_of(page, "パスワードを変更する")
        check()
        page.locator("#current").fill(initial)
        page.locator("#new").fill(PASSWORD)
        page.locator("#confirm").fill(PASSWORD)
        page.get_by_role("button", name="パスワードを変更する").click()
        expect(page.locator("h1")).to_have_text("利用規約への同意")
        check()
        errors_of(page, "同意して進む")
        check()
        page.get_by_label("利用規約に同意する").check()
        page.get_by_role("button", name="同意して進む").click()
        expect(page.locator("h1")).to_have_text("マイページ")
        check()

        # マイページ: ユーザ新規登録, the list with a second user, 無効にする, and the user's own pages.
        page.get_by_role("link", name="ユーザ新規登録").click()
        check()
        errors_of(page, "登録する")
        check()
        page.locator("#name").fill("田中 一郎")
        page.locator("#name_kana").fill("たなか いちろう")
        page.locator("#email").fill(MEMBER)
        page.locator("#email_confirm").fill(MEMBER)
        page.locator("#phone").fill("06-1234-5679")
        page.get_by_label("現在のパスワード").fill(PASSWORD)
        page.get_by_role("button", name="登録する").click()
        expect(page.locator("body")).to_contain_text("田中 一郎さんを追加しました")
        check()
        if mobile:
            shot(page, "10-mypage-phone")  # the README shows マイページ on a phone
        page.get_by_role("button", name=re.compile(r"^無効にする\s*：田中 一郎$")).click()
        expect(page.locator("h1")).to_have_text("ユーザを無効にする")
        check()
        errors_of(page, "無効にする")
        check()

        # 登録者の引き継ぎ, to the second user once they have logged in: the choice, the code.
        with live_app.app_context():
            logged_in_once(MEMBER)
        page.goto(base + "/mypage")
        page.get_by_role("link", name="登録者をほかのユーザに引き継ぐ").click()
        check()
        errors_of(page, "ワンタイムパスワードを送る")
        check()
        page.get_by_label(re.compile("^田中 一郎")).check()
        page.get_by_label("現在のパスワード").fill(PASSWORD)
        page.get_by_role("button", name="ワンタイムパスワードを送る").click()
        expect(page.locator("body")).to_contain_text("登録者を田中 一郎さん")
        check()
        page.locator("#code").fill("000000")
        errors_of(page, "引き継ぐ")
        check()
        page.goto(base + "/mypage/profile")
        check()
        page.locator("#name").fill("")
        errors_of(page, "変更する")
        check()
        page.goto(base + "/mypage/email")
        check()
        errors_of(page, "ワンタイムパスワードを送る")
        check()
        page.locator("#email").fill("ichiro@midori.example.jp")
        page.locator("#email_confirm").fill("ichiro@midori.example.jp")
        page.locator("#password").fill(PASSWORD)
        page.get_by_role("button", name="ワンタイムパスワードを送る").click()
        check()
        page.locator("#code").fill("000000")
        errors_of(page, "変更する")
        check()
        page.goto(base + "/mypage/inquiries")
        check()
        page.get_by_role("link", name=re.compile("^受付番号 ")).click()
        check()
        errors_of(page, "送信する")
        check()
        page.goto(base + "/password/change")
        check()
        page.goto(base + "/mypage")
        page.get_by_role("button", name="ログアウト").click()
        check()

        # パスワードを忘れた場合: the request, its errors, the reset page, its errors.
        page.goto(base + "/password/forgot")
        check()
        errors_of(page, "ワンタイムパスワードを送る")
        check()
        page.locator("#email").fill(REGISTRANT)
        page.get_by_role("button", name="ワンタイムパスワードを送る").click()
        expect(page.locator("#code")).to_be_visible()
        check()
        errors_of(page, "パスワードを再設定する")
        check()
    finally:
        context.close()
    check.saw_every_page({"public", "inquiries", "portal", "register"}, except_for=NOT_PAGES)


def test_the_reflow_check_catches_a_table_too_wide(browser, live_app, axe_source) -> None:
    """Guards the guard: a table wider than a phone's screen must fail the check."""
    context = browser.new_context(
        locale="ja-JP", viewport={"width": 375, "height": 740}, is_mobile=True
    )
    page = context.new_page()
    try:
        page.goto(live_app.base_url + "/")
        page.evaluate(
            """() => {
                // Through the CSSOM: the page's CSP refuses inline style attributes.
                const table = document.createElement('table');
                table.innerHTML = '<tr>' + '<td>利用者の氏名</td>'.repeat(8) + '</tr>';
                table.querySelectorAll('td').forEach((td) => { td.style.whiteSpace = 'nowrap'; });
                document.querySelector('main').append(table);
            }"""
        )
        with pytest.raises(AssertionError, match="scrolls sideways"):
            Checker(page, axe_source, live_app)()
    finally:
        context.close()


def test_the_console_check_catches_a_script_error(browser, live_app, axe_source) -> None:
    context = browser.new_context(locale="ja-JP", viewport={"width": 1280, "height": 800})
    page = context.new_page()
    try:
        check = Checker(page, axe_source, live_app)
        page.goto(live_app.base_url + "/")
        page.evaluate("() => setTimeout(() => { throw new Error('broken widget') }, 0)")
        page.wait_for_timeout(50)
        with pytest.raises(AssertionError, match="broken widget"):
            check()
    finally:
        context.close()
