"""レポート in a real Chromium: the charts and tables with axe at 1280 px and at 200 % zoom, the
refused period shown beside its field, and the CSV link."""

from playwright.sync_api import expect

from tests.browser.test_desk_browser import _agent_with_two_tickets
from tests.browser.test_operator_browser import check
from tests.builders.browser import shot


def test_reports_read_well_and_refuse_a_bad_period_beside_it(page, live_app, axe_source) -> None:
    _agent_with_two_tickets(page, live_app)
    page.get_by_role("link", name="レポート").click()
    expect(page).to_have_title("レポート | 運営管理画面")
    expect(page.locator("svg.report-chart")).to_have_count(4)
    expect(page.get_by_role("table", name="日ごとの受付件数・解決件数・未完了件数")).to_be_visible()
    expect(page.locator(".report-scope")).to_contain_text("受付 2件")
    expect(
        page.get_by_role("link", name="「受付経路（期間中に受け付けたもの）」をCSVでダウンロード")
    ).to_be_visible()
    check(page, axe_source, "reports")
    shot(page, "08-admin-reports")

    page.get_by_label("期間（開始日）").fill("2026-01-01")
    page.get_by_label("期間（終了日）").fill("2026-12-31")
    page.get_by_role("button", name="集計する").click()
    expect(page).to_have_title("エラー：レポート | 運営管理画面")
    expect(page.locator("#err-grain")).to_contain_text("日ごとに表示できるのは92日までです")
    expect(page.get_by_label("期間（開始日）")).to_have_value("2026-01-01")
    check(page, axe_source, "reports refused")
    page.get_by_label("集計の単位").select_option("month")
    page.get_by_role("button", name="集計する").click()
    expect(page.get_by_role("table", name="月ごとの受付件数・解決件数・未完了件数")).to_be_visible()
    check(page, axe_source, "reports by month")
