"""The registration and back-office flows in a real Chromium, with axe-core on every step."""

import re

import pyotp
import sqlalchemy as sa
from playwright.sync_api import expect

from backoffice.accounts.first_login import current_terms
from backoffice.eclaims.importer import import_csv
from backoffice.extensions import db
from backoffice.mail.models import OutboundEmail
from backoffice.mail.outbox import readable
from backoffice.operators import operations as operator_ops
from backoffice.operators.models import Role
from tests.builders.accounts import publish_terms
from tests.builders.browser import axe_violations, shot
from tests.builders.inquiries import account_request_input

OFFICE = (
    "eclaims_id,password,security_email,security_code,office_number,office_name,kind\n"
    "KJ000000000003,eclaims-pass-1,sec3@demo.example.jp,7391,2710100039,みどりケアセンター,care\n"
)


REQUEST_FIELDS = (
    "name",
    "name_kana",
    "email",
    "email_confirm",
    "phone",
    "medical_code",
    "institution_name",
    "institution_kana",
    "postal_code",
    "address",
)


def send_account_request(page, base: str, data: dict[str, str]) -> str:
    """Send an ID-issuance inquiry through the real form; returns its 受付番号."""
    page.goto(base + "/inquiry")
    page.get_by_label("お問い合わせ区分（大カテゴリー）").select_option(label="その他")
    page.get_by_label("お問い合わせ区分（中カテゴリー）").select_option(
        label="介護情報基盤ポータルのID発行申請"
    )
    for field in REQUEST_FIELDS:
        page.locator(f"#{field}").fill(data[field])
    page.get_by_label("個人情報の取扱いに同意する").check()
    page.get_by_role("button", name="確認画面へ進む").click()
    page.get_by_role("button", name="この内容で送信する").click()
    return page.locator(".reference-number").inner_text()


def make_agent() -> str:
    """An agent operator (inside an app context); returns the authenticator secret."""
    operator = operator_ops.create_operator(
        "agent@ops.example.jp", "担当 太郎", Role.AGENT, "correct horse battery staple"
    )
    return operator.totp_secret


def operator_sign_in(page, secret: str) -> None:
    """On the back-office sign-in page: email, password and the current authenticator code."""
    page.locator("#email").fill("agent@ops.example.jp")
    page.locator("#password").fill("correct horse battery staple")
    page.locator("#code").fill(pyotp.TOTP(secret).now())
    # Wait for the signed-in page: a goto or a title read racing the POST's redirect sees nothing.
    with page.expect_navigation():
        page.get_by_role("button", name="ログイン").click()
    # A refused sign-in navigates too (the form again): say so here, not at a later step.
    expect(page).not_to_have_url(re.compile(r"/admin/login"))


def mail_to(app, address: str, subject: str) -> str:
    with app.app_context():
        mails = db.session.scalars(
            sa.select(OutboundEmail)
            .where(OutboundEmail.to_address == address)
            .order_by(OutboundEmail.id)
        ).all()
        return [readable(m)[0] for m in mails if subject in m.subject][-1]


def test_care_office_registers_and_reaches_mypage(page, live_app, axe_source) -> None:
    with live_app.app_context():
        import_csv(OFFICE)
        if current_terms() is None:
            publish_terms()
    base = live_app.base_url
    page.goto(base + "/register")
    assert axe_violations(page, axe_source) == []
    page.get_by_label("電子請求受付システムのID").fill("ｋｊ０００００００００００３")
    page.get_by_label("パスワード", exact=False).first.fill("eclaims-pass-1")
    page.get_by_role("button", name="次へ進む").click()
    expect(page.locator("body")).to_contain_text("s***@d***.example.jp")
    shot(page, "04-register-otp")
    assert axe_violations(page, axe_source) == []
    code = re.search(
        r"^(\d{6})$", mail_to(live_app, "sec3@demo.example.jp", "ワンタイム"), re.M
    ).group(1)
    page.get_by_label("ワンタイムパスワード", exact=False).first.fill(code)
    page.get_by_label("セキュリティコード").fill("7391")
    page.get_by_role("button", name="次へ進む").click()
    expect(page.locator("h1")).to_have_text("ユーザ登録")
    assert axe_violations(page, axe_source) == []
    page.locator("#name").fill("鈴木 一郎")
    page.locator("#name_kana").fill("すずき いちろう")
    page.locator("#email").fill("boss@midori.example.jp")
    page.locator("#email_confirm").fill("boss@midori.example.jp")
    page.locator("#phone").fill("06-1234-5678")
    page.get_by_role("button", name="登録する").click()
    expect(page.locator("h1")).to_have_text("登録が完了しました")
    assert axe_violations(page, axe_source) == []

    password = re.search(
        r"^初期パスワード：(\S+)$",
        mail_to(live_app, "boss@midori.example.jp", "初期パスワード"),
        re.M,
    ).group(1)
    page.goto(base + "/login")
    assert axe_violations(page, axe_source) == []
    page.get_by_label("ID（メールアドレス）").fill("boss@midori.example.jp")
    page.locator("#password").fill(password)
    page.get_by_role("button", name="ログインする").click()
    expect(page.locator("h1")).to_have_text("ワンタイムパスワードを入力してください")
    assert axe_violations(page, axe_source) == []
    code = re.search(
        r"^(\d{6})$", mail_to(live_app, "boss@midori.example.jp", "ワンタイム"), re.M
    ).group(1)
    page.locator("#code").fill(code)
    page.get_by_role("button", name="ログインする").click()
    expect(page.locator("h1")).to_have_text("パスワードの変更")
    assert axe_violations(page, axe_source) == []
    page.locator("#current").fill(password)
    page.locator("#new").fill("aki-no-momiji-2026-kyoto")
    page.locator("#confirm").fill("aki-no-momiji-2026-kyoto")
    page.get_by_role("button", name="パスワードを変更する").click()
    expect(page.locator("h1")).to_have_text("利用規約への同意")
    assert axe_violations(page, axe_source) == []
    page.get_by_label("利用規約に同意する").check()
    page.get_by_role("button", name="同意して進む").click()
    expect(page.locator("h1")).to_have_text("マイページ")
    expect(page.locator("body")).to_contain_text("みどりケアセンター")
    shot(page, "05-mypage")
    assert axe_violations(page, axe_source) == []


def test_operator_signs_in_and_answers_a_ticket(page, live_app, axe_source) -> None:

    with live_app.app_context():
        secret = make_agent()
        data = account_request_input()
    base = live_app.base_url
    # A requester sends an inquiry through the real form first.
    number = send_account_request(page, base, data)

    page.goto(base + "/admin/")
    expect(page).to_have_url(re.compile(re.escape("/admin/login?next=/admin/") + "$"))
    assert axe_violations(page, axe_source) == []
    operator_sign_in(page, secret)
    assert "ダッシュボード" in page.title()
    shot(page, "06-admin-dashboard")
    assert axe_violations(page, axe_source) == []
    with page.expect_navigation():
        page.get_by_role("link", name=number).first.click()
    page.wait_for_load_state("load")  # axe reads colours: the stylesheets must have applied
    assert number in page.locator("h1").inner_text()
    assert axe_violations(page, axe_source) == []
    page.locator("#reply-body").fill("アカウントの発行手続きを進めています。")
    page.get_by_role("button", name="回答を送信する").click()
    expect(page.locator("body")).to_contain_text("回答を送信しました")
    shot(page, "07-admin-ticket")
    expect(page.locator("body")).to_contain_text("回答（依頼者に送信）")
    with page.expect_navigation():
        page.get_by_role("link", name="お問い合わせ一覧に戻る").click()
    page.wait_for_load_state("load")
    assert axe_violations(page, axe_source) == []
    page.get_by_role("button", name="ログアウト").click()
    expect(page).to_have_url(re.compile(re.escape("/admin/login") + "$"))


def test_issued_account_reaches_mypage_and_adds_a_user(page, live_app, axe_source) -> None:
    """ID-issuance inquiry → the operator's 「アカウント発行」 → the institution's first login → ユーザ新規登録."""

    with live_app.app_context():
        secret = make_agent()
        data = account_request_input()
        if current_terms() is None:
            publish_terms()
    base = live_app.base_url
    number = send_account_request(page, base, data)

    page.goto(base + "/admin/login")
    operator_sign_in(page, secret)
    page.get_by_role("link", name=number).first.click()
    with page.expect_navigation():
        page.get_by_role("link", name="アカウント発行").click()
    page.wait_for_load_state("load")
    assert axe_violations(page, axe_source) == []
    page.get_by_role("button", name="発行する").click()
    expect(page.locator("body")).to_contain_text("アカウントを発行しました")
    page.get_by_role("button", name="ログアウト").click()

    email = data["email"]
    password = re.search(
        r"^初期パスワード：(\S+)$", mail_to(live_app, email, "初期パスワード"), re.M
    ).group(1)
    page.goto(base + "/login")
    page.get_by_label("ID（メールアドレス）").fill(email)
    page.locator("#password").fill(password)
    page.get_by_role("button", name="ログインする").click()
    code = re.search(r"^(\d{6})$", mail_to(live_app, email, "ワンタイム"), re.M).group(1)
    page.locator("#code").fill(code)
    page.get_by_role("button", name="ログインする").click()
    page.locator("#current").fill(password)
    page.locator("#new").fill("fuyu-no-hoshizora-2026")
    page.locator("#confirm").fill("fuyu-no-hoshizora-2026")
    page.get_by_role("button", name="パスワードを変更する").click()
    page.get_by_label("利用規約に同意する").check()
    page.get_by_role("button", name="同意して進む").click()
    expect(page.locator("body")).to_contain_text("ユーザはあと4名追加できます")
    with page.expect_navigation():
        page.get_by_role("link", name="ユーザ新規登録").click()
    page.wait_for_load_state("load")
    assert axe_violations(page, axe_source) == []
    page.get_by_role("button", name="登録する").click()  # empty: the errors first
    expect(page).to_have_title(re.compile("^エラー："))
    assert axe_violations(page, axe_source) == []
    page.locator("#name").fill("田中 一郎")
    page.locator("#name_kana").fill("たなか いちろう")
    page.locator("#email").fill("tanaka@sakura-clinic.example.jp")
    page.locator("#email_confirm").fill("tanaka@sakura-clinic.example.jp")
    page.locator("#phone").fill("03-1234-5679")
    page.get_by_role("button", name="登録する").click()
    expect(page.locator("body")).to_contain_text("ユーザはあと3名追加できます")
    expect(page.locator("body")).to_contain_text("tanaka@sakura-clinic.example.jp")


def test_error_states_are_accessible(page, live_app, axe_source) -> None:
    """Every form answered with its errors, each checked by axe."""
    base = live_app.base_url
    for path, button in (
        ("/login", "ログインする"),
        ("/register", "次へ進む"),
        ("/password/forgot", "ワンタイムパスワードを送る"),
        ("/admin/login", "ログイン"),
    ):
        page.goto(base + path)
        page.get_by_role("button", name=button).click()
        expect(page).to_have_title(re.compile("^エラー："))
        assert axe_violations(page, axe_source) == [], path
    page.goto(base + "/login")
    page.get_by_label("ID（メールアドレス）").fill("nobody@example.jp")
    page.locator("#password").fill("wrong password here")
    page.get_by_role("button", name="ログインする").click()
    expect(page.locator("body")).to_contain_text("ログインできませんでした")
    assert axe_violations(page, axe_source) == []
