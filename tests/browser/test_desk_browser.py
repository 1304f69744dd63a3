"""The operator's desk by keyboard in a real Chromium, with axe on each page: search (/) → the list
→ open a ticket (j, Enter) → reply (r, with the mail previewed first) → the next ticket (n); and a
saved view opened from the menu; a bulk reply; an お知らせ published and shown at 375 px."""

import pyotp
from playwright.sync_api import expect

from backoffice.operators import operations as operator_ops
from backoffice.operators.models import Role
from tests.browser.test_flows_browser import make_agent, operator_sign_in
from tests.browser.test_operator_browser import check
from tests.builders.browser import check_phone_page
from tests.builders.inquiries import general_input, send


def _press_key(page, key: str) -> None:
    """Press a shortcut once the page's deferred keys.js has run (a key pressed
    while a page is still loading reaches no handler)."""
    page.wait_for_load_state("load")
    page.locator("h1").click()
    page.keyboard.press(key)


def _two_tickets(live_app) -> None:
    client = live_app.test_client()
    for i, body in enumerate(("ログインできません。", "パスワードが分かりません。")):
        email = f"desk{i}@himawari.example.jp"
        assert (
            send(client, general_input(body=body, email=email, email_confirm=email)).status_code
            == 302
        )


def _agent_with_two_tickets(page, live_app) -> None:
    """Two tickets from the form, and an agent signed in on `page`."""
    with live_app.app_context():
        secret = make_agent()
        _two_tickets(live_app)
    page.goto(live_app.base_url + "/admin/login")
    operator_sign_in(page, secret)


def test_search_open_reply_and_next_by_keyboard(page, live_app, axe_source) -> None:
    with live_app.app_context():
        secret = make_agent()
        _two_tickets(live_app)
    page.goto(live_app.base_url + "/admin/login")
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    operator_sign_in(page, secret)
    page.wait_for_load_state("load")
    assert errors == []

    # / from the dashboard reaches the list's search box.
    page.keyboard.press("/")
    search = page.locator("form[role=search] input[name=search]")
    expect(search).to_be_focused()
    search.fill("山田")
    page.keyboard.press("Enter")
    rows = page.locator("table.model-list td.col-reference_number a")
    expect(rows).to_have_count(2)
    check(page, axe_source, "searched list")
    first, second = rows.nth(0).inner_text(), rows.nth(1).inner_text()

    # One key reaches the first ticket of the list, Enter opens it.
    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("j")
    expect(rows.nth(0)).to_be_focused()
    page.keyboard.press("j")
    page.keyboard.press("k")
    expect(rows.nth(0)).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_title(f"受付番号 {first} | 運営管理画面")
    expect(page.locator("[data-ticket-place]")).to_contain_text("表示中の一覧の1件目（2件中）")
    check(page, axe_source, "ticket page")

    # r goes to the reply box; letters typed there are text, not shortcuts.
    page.keyboard.press("r")
    box = page.locator("#reply-body")
    expect(box).to_be_focused()
    page.keyboard.type("再設定の手順をご案内します。jkn")
    expect(box).to_have_value("再設定の手順をご案内します。jkn")
    expect(page).to_have_title(f"受付番号 {first} | 運営管理画面")
    page.get_by_role("button", name="送信するメールを確認する").click()
    preview = page.locator("#reply-preview")
    expect(preview).to_contain_text("山田 太郎 様")
    expect(preview).to_contain_text("再設定の手順をご案内します。jkn")
    expect(page.locator("#reply-preview-title")).to_be_focused()
    check(page, axe_source, "reply preview")
    page.get_by_role("button", name="回答を送信する").click()
    expect(page.locator("body")).to_contain_text("回答を送信しました")

    # n opens the next ticket of the list shown before.
    _press_key(page, "n")
    expect(page).to_have_title(f"受付番号 {second} | 運営管理画面")
    _press_key(page, "p")
    expect(page).to_have_title(f"受付番号 {first} | 運営管理画面")

    # ? opens the list of keys.
    _press_key(page, "?")
    expect(page.locator("#keyboard-help")).to_have_attribute("open", "")
    expect(page.locator("#keyboard-help summary")).to_be_focused()
    check(page, axe_source, "keyboard help")


def test_a_saved_view_from_the_menu(page, live_app, axe_source) -> None:
    _agent_with_two_tickets(page, live_app)
    page.goto(live_app.base_url + "/admin/tickets/?search=desk1%40himawari.example.jp")
    page.get_by_label("この表示を保存").fill("desk1の問い合わせ")
    page.get_by_role("button", name="保存", exact=True).click()
    expect(page.locator("body")).to_contain_text("「desk1の問い合わせ」を保存しました。")
    check(page, axe_source, "saved view")
    page.goto(live_app.base_url + "/admin/")
    page.get_by_role("link", name="保存した表示").click()
    page.get_by_role("link", name="desk1の問い合わせ").click()
    expect(page.locator("table.model-list td.col-reference_number a")).to_have_count(1)
    page.goto(live_app.base_url + "/admin/tickets/views/")
    expect(page.locator("h1")).to_have_text("保存した表示")
    check(page, axe_source, "saved views page")
    page.get_by_role("button", name="「desk1の問い合わせ」を削除").click()
    expect(page.locator("body")).to_contain_text("「desk1の問い合わせ」を削除しました。")


def test_a_bulk_reply(page, live_app, axe_source) -> None:
    _agent_with_two_tickets(page, live_app)
    page.goto(live_app.base_url + "/admin/tickets/bulk/reply?ids=1,2")
    expect(page.locator("h1")).to_have_text("まとめて回答する")
    check(page, axe_source, "bulk reply")
    page.get_by_label("回答内容").fill("電子請求受付システムは復旧しました。")
    page.get_by_role("button", name="送信するメールを確認する").click()
    expect(page.locator(".mail-preview")).to_contain_text("山田 太郎 様")
    check(page, axe_source, "bulk reply preview")
    page.get_by_role("button", name="2件に回答を送信する").click()
    expect(page.locator("body")).to_contain_text("2件のお問い合わせに回答しました")


def test_a_notice_from_the_back_office_on_the_public_and_portal_pages(
    page, phone, live_app, axe_source
) -> None:
    with live_app.app_context():
        admin = operator_ops.create_operator(
            "admin@ops.example.jp", "管理 花子", Role.ADMIN, "correct horse battery staple"
        )
        secret = admin.totp_secret
    page.goto(live_app.base_url + "/admin/login")
    page.locator("#email").fill("admin@ops.example.jp")
    page.locator("#password").fill("correct horse battery staple")
    page.locator("#code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="ログイン").click()
    page.goto(live_app.base_url + "/admin/notices/")
    check(page, axe_source, "notices")
    page.get_by_role("link", name="お知らせを登録する").click()
    page.get_by_role("button", name="登録する").click()  # nothing typed: the errors
    expect(page.locator("#err-title")).to_have_text("見出しを入力してください。")
    check(page, axe_source, "notice form with an error")
    page.get_by_label("見出し（60文字以内）").fill("ワンタイムパスワードのメールが遅れています")
    page.get_by_label("本文（1000文字以内）").fill(
        "一部の携帯電話会社のメールで、ワンタイムパスワードが届くまで10分ほどかかっています。"
    )
    page.get_by_label("重要なお知らせとして目立たせる").check()
    page.get_by_role("button", name="登録する").click()
    expect(page.locator("body")).to_contain_text("を登録しました。")
    expect(page.locator("table")).to_contain_text("掲載中")
    for path in ("/inquiry", "/login"):
        phone.goto(live_app.base_url + path)
        expect(phone.get_by_role("region", name="お知らせ")).to_contain_text(
            "ワンタイムパスワードのメールが遅れています"
        )
        check_phone_page(phone, axe_source)


def test_n_and_p_go_on_across_the_pages_of_the_list(page, live_app) -> None:
    with live_app.app_context():
        secret = make_agent()
        client = live_app.test_client()
        for i in range(21):
            email = f"page{i}@himawari.example.jp"
            send(client, general_input(body=f"問い合わせ{i}", email=email, email_confirm=email))
    page.goto(live_app.base_url + "/admin/login")
    operator_sign_in(page, secret)
    page.goto(live_app.base_url + "/admin/tickets/?page_size=20")
    page.wait_for_load_state("load")
    rows = page.locator("table.model-list td.col-reference_number a")
    expect(rows).to_have_count(20)
    last_of_first_page = rows.nth(19).inner_text()
    rows.nth(19).click()
    expect(page.locator("[data-ticket-place]")).to_contain_text("20件目（20件中）")
    _press_key(page, "n")  # on to the list's second page, at its first ticket
    expect(page.locator("[data-ticket-place]")).to_contain_text("1件目（1件中）")
    _press_key(page, "p")  # back to the first page, at its last ticket
    expect(page).to_have_title(f"受付番号 {last_of_first_page} | 運営管理画面")


def test_the_single_letter_keys_can_be_turned_off(page, live_app) -> None:
    _agent_with_two_tickets(page, live_app)
    page.goto(live_app.base_url + "/admin/tickets/")
    page.wait_for_load_state("load")
    page.locator("#keyboard-help summary").click()
    page.get_by_label("1文字のキー操作を使う（この端末のブラウザに記憶します）").uncheck()
    page.reload()
    page.wait_for_load_state("load")
    page.locator("h1").click()
    page.keyboard.press("j")
    expect(page.locator("table.model-list td.col-reference_number a").first).not_to_be_focused()
    page.locator("#keyboard-help summary").click()
    page.get_by_label("1文字のキー操作を使う（この端末のブラウザに記憶します）").check()
    page.locator("h1").click()
    page.keyboard.press("j")
    expect(page.locator("table.model-list td.col-reference_number a").first).to_be_focused()
