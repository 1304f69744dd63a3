"""The public inquiry form in a real Chromium, with JavaScript on, at desktop and phone widths."""

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from backoffice.extensions import db
from backoffice.inquiries.models import Inquiry
from tests.builders.browser import axe_violations, shot, sideways


def fill_account_request(page) -> None:
    page.get_by_label("お問い合わせ区分（大カテゴリー）").select_option(label="その他")
    page.get_by_label("お問い合わせ区分（中カテゴリー）").select_option(
        label="介護情報基盤ポータルのID発行申請"
    )
    page.get_by_label("氏名", exact=False).first.fill("佐藤 花子")
    page.locator("#name_kana").fill("さとう はなこ")
    page.locator("#email").fill("sato@sakura-clinic.example.jp")
    page.locator("#email_confirm").fill("sato@sakura-clinic.example.jp")
    page.locator("#phone").fill("03-1234-5678")
    page.locator("#medical_code").fill("１３１０１１００４９")
    page.locator("#institution_name").fill("さくら在宅クリニック")
    page.locator("#institution_kana").fill("さくらざいたくクリニック")
    page.locator("#postal_code").fill("100-0001")
    page.locator("#address").fill("東京都千代田区千代田1-1")
    page.get_by_label("個人情報の取扱いに同意する").check()


def test_id_issuance_inquiry_with_javascript(page, live_app, axe_source) -> None:
    page.goto(live_app.base_url + "/")
    shot(page, "01-top")
    page.goto(live_app.base_url + "/inquiry")
    assert axe_violations(page, axe_source) == []
    # The 中カテゴリー list follows the 大カテゴリー; the institution's fields appear only when needed.
    section = page.locator("[data-account-request-section]")
    assert section.is_hidden()
    page.get_by_label("お問い合わせ区分（大カテゴリー）").select_option(label="その他")
    minor_options = page.locator("#category option").all_inner_texts()
    assert "介護情報基盤ポータルのID発行申請" in minor_options
    assert "ログイン・パスワード" not in minor_options
    page.get_by_label("お問い合わせ区分（中カテゴリー）").select_option(
        label="介護情報基盤ポータルのID発行申請"
    )
    assert section.is_visible()

    # Sending it empty: the error summary takes the focus and links to the fields.
    page.get_by_role("button", name="確認画面へ進む").click()
    expect(page).to_have_title(re.compile("^エラー："))
    shot(page, "02-inquiry-errors")
    expect(page.locator(".error-summary")).to_be_focused()  # by app.js, once it has run
    assert axe_violations(page, axe_source) == []
    page.get_by_role("link", name="＊氏名を入力してください。").click()
    assert page.evaluate("document.activeElement.id") == "name"

    fill_account_request(page)
    page.get_by_role("button", name="確認画面へ進む").click()
    expect(page.locator("h1")).to_have_text("入力内容の確認")
    assert axe_violations(page, axe_source) == []
    page.get_by_role("button", name="この内容で送信する").click()
    expect(page.locator("h1")).to_have_text("送信が完了しました")
    shot(page, "03-inquiry-complete")
    number = page.locator(".reference-number").inner_text()
    assert re.fullmatch(r"[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}", number)
    assert axe_violations(page, axe_source) == []
    with live_app.app_context():
        stored = db.session.scalars(sa.select(Inquiry)).one()
        assert stored.reference_number == number
        assert stored.account_request.medical_code == "1310110049"


@pytest.mark.parametrize(
    ("width", "mobile"),
    [(375, True), (640, False)],  # a phone, and a 1280px screen at 200 % zoom
)
def test_public_pages_reflow_without_horizontal_scrolling(
    browser, live_app, axe_source, width: int, mobile: bool
) -> None:
    context = browser.new_context(
        locale="ja-JP", viewport={"width": width, "height": 740}, is_mobile=mobile
    )
    page = context.new_page()
    try:
        for path in (
            "/",
            "/flows",
            "/inquiry",
            "/inquiry/link",
            "/login",
            "/register",
            "/password/forgot",
        ):
            page.goto(live_app.base_url + path)
            overflow = sideways(page)
            assert overflow <= 0, (path, overflow)
            assert axe_violations(page, axe_source) == [], path
    finally:
        context.close()


def test_keyboard_reaches_the_skip_link_first(page, live_app) -> None:
    page.goto(live_app.base_url + "/inquiry")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "本文へ移動"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


def test_the_accessibility_check_does_find_violations(page, axe_source) -> None:
    """Guards the guard: a page with a known serious problem must fail the check."""
    page.set_content(
        '<html lang="ja"><head><title>t</title></head><body><main><img src="x.png">'
        '<input type="text"></main></body></html>'
    )
    ids = {v["id"] for v in axe_violations(page, axe_source)}
    assert {"image-alt", "label"} <= ids


def test_the_markers_follow_the_chosen_category(page, live_app, axe_source) -> None:
    """「ID発行を申請する」 opens the form with the request chosen; the markers change with the choice."""
    page.goto(live_app.base_url + "/")
    page.get_by_role("link", name="ID発行を申請する（お問い合わせフォーム）").click()

    def marker(field: str) -> str:
        return page.locator(f'label[for="{field}"] .marker').inner_text()

    expect(page.locator("#category option:checked")).to_have_text(
        "介護情報基盤ポータルのID発行申請"
    )
    assert page.locator("[data-account-request-section]").is_visible()
    assert (marker("medical_code"), marker("organization"), marker("body")) == (
        "※必須",
        "※入力不要",
        "※任意",
    )
    page.get_by_label("お問い合わせ区分（大カテゴリー）").select_option(
        label="介護情報基盤ポータルについて"
    )
    assert (marker("organization"), marker("body")) == (
        "※必須（ID発行申請の場合は入力不要）",
        "※必須（ID発行申請の場合は任意）",
    )
    page.locator("#category").select_option(index=1)
    assert (marker("organization"), marker("body")) == ("※必須", "※必須")
    assert page.locator("[data-account-request-section]").is_hidden()
    assert axe_violations(page, axe_source) == []
