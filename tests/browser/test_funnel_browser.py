"""オンボーディング in a real Chromium: the funnel of offices from a real directory import and
registration, with axe at 1280 px and at 200 % zoom; a count opens its list (checked the same way);
a refused period is shown beside its field."""

import pytest
from playwright.sync_api import expect

from backoffice.eclaims.importer import import_csv
from backoffice.registration import operations as registration
from tests.browser.test_desk_browser import _agent_with_two_tickets
from tests.browser.test_operator_browser import check
from tests.builders.browser import shot

OFFICES = (
    "eclaims_id,password,security_email,security_code,office_number,office_name,kind\n"
    "KJ000000000001,eclaims-pass-1,sec1@demo.example.jp,,1310100019,あおぞら訪問介護,care\n"
    "KJ000000000002,eclaims-pass-1,,,1310100027,こもれび通所介護,care\n"
    "KJ000000000003,eclaims-pass-1,sec3@demo.example.jp,,2710100039,みどりケア,deemed\n"
)


def test_funnel_reads_well_and_its_counts_open_their_lists(page, live_app, axe_source) -> None:
    with live_app.app_context():
        assert import_csv(OFFICES).imported
        with pytest.raises(registration.NoSecurityEmail):
            registration.start("KJ000000000002", "eclaims-pass-1")
        registration.start("KJ000000000001", "eclaims-pass-1")
    _agent_with_two_tickets(page, live_app)
    page.get_by_role("link", name="オンボーディング", exact=True).click()
    expect(page).to_have_title("オンボーディング | 運営管理画面")
    expect(page.locator("svg.report-chart")).to_have_count(2)
    care = page.get_by_role("table", name="介護事業所・みなし介護事業所の段階ごとの件数")
    expect(care).to_be_visible()
    expect(page.get_by_role("heading", name="介護事業所・みなし介護事業所（3件）")).to_be_visible()
    check(page, axe_source, "funnel")
    shot(page, "09-admin-funnel")

    # ※3: one office stopped there; its count opens the directory entry.
    side = care.get_by_role("row", name="※3 セキュリティ用メールアドレス未登録で停止")
    side.get_by_role("link").nth(1).click()
    expect(page.locator("td.col-office_number")).to_have_count(1)
    expect(page.locator("td.col-office_number")).to_contain_text("1310100027")
    check(page, axe_source, "funnel entries")

    page.go_back()
    page.get_by_label("オンボーディング開始日（から）").fill("2026-12-31")
    page.get_by_label("オンボーディング開始日（まで）").fill("2026-01-01")
    page.get_by_role("button", name="集計する").click()
    expect(page).to_have_title("エラー：オンボーディング | 運営管理画面")
    expect(page.locator("#err-end")).to_contain_text("終了日は開始日と同じか、それより後の日")
    expect(page.get_by_label("オンボーディング開始日（から）")).to_have_value("2026-12-31")
    check(page, axe_source, "funnel refused")
