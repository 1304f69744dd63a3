"""The operator's desk in a real Chromium, at 1280 px and 200 % zoom with axe: 通知の設定 reached from
the header, saved and shown again; the queues above the ticket list, counted and followed."""

from playwright.sync_api import expect

from tests.browser.test_flows_browser import make_agent, operator_sign_in
from tests.browser.test_operator_browser import check
from tests.builders.browser import fill_general_inquiry


def test_an_agent_chooses_their_alerts(page, live_app, axe_source) -> None:
    with live_app.app_context():
        secret = make_agent()
    page.goto(live_app.base_url + "/admin/login")
    operator_sign_in(page, secret)
    page.get_by_role("link", name="通知の設定").click()
    expect(page.locator("h1")).to_have_text("通知の設定")
    check(page, axe_source, "alert settings")
    page.get_by_label(
        "毎朝、担当しているお問い合わせのうち本日期限・期限切れのものの一覧"
    ).uncheck()
    page.get_by_label("ログイン・パスワード").check()
    page.get_by_role("button", name="保存する").click()
    expect(page.locator("body")).to_contain_text("通知の設定を保存しました。")
    expect(page.get_by_label("ログイン・パスワード")).to_be_checked()
    expect(
        page.get_by_label("毎朝、担当しているお問い合わせのうち本日期限・期限切れのものの一覧")
    ).not_to_be_checked()
    check(page, axe_source, "alert settings after saving")


def test_the_queues_above_the_ticket_list(page, live_app, axe_source) -> None:
    with live_app.app_context():
        secret = make_agent()
    page.goto(live_app.base_url + "/inquiry")
    fill_general_inquiry(page, "ログインできません。")
    page.get_by_role("button", name="確認画面へ進む").click()
    page.get_by_role("button", name="この内容で送信する").click()
    page.goto(live_app.base_url + "/admin/login")
    operator_sign_in(page, secret)
    page.goto(live_app.base_url + "/admin/tickets/")
    queues = page.get_by_role("navigation", name="キュー")
    expect(queues).to_contain_text("未割り当て（1件）")
    check(page, axe_source, "ticket list with its queues")
    queues.get_by_role("link", name="未割り当て（1件）").click()
    expect(queues.locator("[aria-current=page]")).to_have_text("未割り当て（1件）")
    expect(page.locator("table.model-list")).to_contain_text("山田 太郎")
    check(page, axe_source, "the 未割り当て queue")
