"""The warning before an idle session ends, in a real Chromium: it appears before the limit, takes the
focus, passes axe, and 「ログインを続ける」 keeps the session alive."""

import re

from playwright.sync_api import expect

from tests.browser.test_mypage_browser import first_login
from tests.builders.accounts import make_registrant, publish_terms
from tests.builders.browser import Checker


def test_the_warning_offers_to_continue_and_continuing_keeps_the_session(
    page, live_app, axe_source
) -> None:
    with live_app.test_request_context():
        publish_terms()
        user, initial = make_registrant()
        email = user.email
    base = live_app.base_url
    first_login(page, live_app, email, initial)
    expect(page.locator("h1")).to_have_text("マイページ")

    # A one-minute limit, warned 40 s ahead: the warning comes a few seconds after the page loads.
    live_app.config.update(PORTAL_IDLE_MINUTES=1, SESSION_WARNING_SECONDS=40)
    page.reload()
    warning = page.get_by_role("alertdialog", name="まもなく自動的にログアウトします")
    expect(warning).to_be_visible(timeout=15_000)
    button = page.get_by_role("button", name="ログインを続ける")
    expect(button).to_be_focused()
    Checker(page, axe_source, live_app)()
    with page.expect_response(re.compile("/session/keepalive$")) as answered:
        button.click()
    assert answered.value.status == 204
    expect(warning).to_be_hidden()
    page.goto(base + "/mypage")  # still signed in
    expect(page.locator("h1")).to_have_text("マイページ")
