"""The development mailbox in a real Chromium: the mail's links open (in a new tab, outside the frame the
site's pages refuse), the HTML part renders, and the pages pass the same checks as the others."""

import pytest
from playwright.sync_api import expect

from tests.builders.browser import Checker, fill_general_inquiry


@pytest.mark.parametrize(("width", "mobile"), [(1280, False), (375, True)])
def test_the_mailbox_opens_a_mail_and_its_links(
    browser, live_app, axe_source, width: int, mobile: bool
) -> None:
    context = browser.new_context(
        locale="ja-JP", viewport={"width": width, "height": 800}, is_mobile=mobile
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    check = Checker(page, axe_source, live_app)
    try:
        page.goto(live_app.base_url + "/inquiry")
        fill_general_inquiry(page)
        page.get_by_role("button", name="確認画面へ進む").click()
        page.get_by_role("button", name="この内容で送信する").click()
        page.get_by_role("link", name="開発用メールボックス").click()
        check()
        page.get_by_role("link", name="お問い合わせを受け付けました").first.click()
        check()

        # The text part's address is a link; it opens the status page in a new tab.
        with context.expect_page() as opened:
            page.locator(".mail-text a").first.click()
        status = opened.value
        status.wait_for_load_state()
        expect(status.locator("h1")).to_contain_text("お問い合わせの対応状況")
        status.close()

        # The HTML part renders in its frame, and its link opens the same page outside it.
        frame = page.frame_locator("iframe.mail-html")
        expect(frame.locator("body")).to_contain_text("受付番号")
        with context.expect_page() as opened:
            frame.locator("a").first.click()
        status = opened.value
        status.wait_for_load_state()
        expect(status.locator("h1")).to_contain_text("お問い合わせの対応状況")
        status.close()
        check()
    finally:
        context.close()
    # The HTML part is a document of the frame, not a page of the site.
    check.saw_every_page({"devmail"}, except_for={"devmail.html"})
