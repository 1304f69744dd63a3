"""Every back-office page an operator opens from the menu, in a real Chromium at 1280 px and at 200 %
zoom (640 CSS px): nothing scrolls sideways (a wide table scrolls inside its own box), axe finds nothing
serious, the console stays clean."""

import re

import pyotp
from playwright.sync_api import expect

from backoffice.inquiries.categories import seed_categories
from backoffice.operators import operations as operator_ops
from backoffice.operators.models import Role
from tests.browser.test_flows_browser import send_account_request
from tests.builders.accounts import make_registrant
from tests.builders.browser import Checker
from tests.builders.inquiries import account_request_input

PASSWORD = "correct horse battery staple"
# Pages that are not the back office's own screens: files, lookups, sign-in and enrolment (their own
# browser tests), and the ticket page's sub-forms reached from a ticket.
SKIP = re.compile(
    r"(static|ajax_lookup|export|\.file$|\.original$|admin_auth\.|enrol|details_view|edit_view"
    r"|create_view|open_view|\.issue$|\.log_contact$|\.ticket$|\.invite$|\.new$|\.edit$|\.detail$)"
)


def test_every_back_office_page_fits_at_1280_and_at_200_percent(page, live_app, axe_source) -> None:
    with live_app.test_request_context():  # the initial password's mail builds its links
        admin = operator_ops.create_operator(
            "admin@ops.example.jp", "管理 花子", Role.ADMIN, PASSWORD
        )
        secret = admin.totp_secret
        seed_categories()
        make_registrant()
        data = account_request_input()
    number = send_account_request(page, live_app.base_url, data)
    page.goto(live_app.base_url + "/admin/login")
    page.locator("#email").fill("admin@ops.example.jp")
    page.locator("#password").fill(PASSWORD)
    page.locator("#code").fill(pyotp.TOTP(secret).now())
    with page.expect_navigation():
        page.get_by_role("button", name="ログイン").click()
    expect(page).not_to_have_url(re.compile("/admin/login"))

    urls = sorted(
        rule.rule
        for rule in live_app.url_map.iter_rules()
        if rule.rule.startswith("/admin")
        and "GET" in rule.methods
        and not rule.arguments
        and not SKIP.search(rule.endpoint)
    )
    assert "/admin/tickets/" in urls
    assert "/admin/organizations/" in urls
    check = Checker(page, axe_source, live_app)
    for url in urls:
        page.goto(live_app.base_url + url)
        for width in (1280, 640):
            page.set_viewport_size({"width": width, "height": 900})
            check()
        page.set_viewport_size({"width": 1280, "height": 900})
    # The ticket page too, reached as an operator does.
    page.goto(live_app.base_url + "/admin/tickets/")
    with page.expect_navigation():
        page.get_by_role("link", name=number).first.click()
    for width in (1280, 640):
        page.set_viewport_size({"width": width, "height": 900})
        check()
