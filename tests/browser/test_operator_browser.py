"""Operators' own account pages in a real Chromium: the invite, the mailed enrolment link and the password
change, each checked by axe at 1280 px and at 200 % zoom (640 CSS px) without sideways scrolling."""

import re
from datetime import UTC, datetime, timedelta

import pyotp
from playwright.sync_api import expect

from backoffice.operators import operations as operator_ops
from backoffice.operators.models import Operator, Role
from tests.browser.test_flows_browser import mail_to
from tests.builders.browser import axe_violations, sideways

PASSWORD = "correct horse battery staple"
NEW = "fuyu-no-yoru-no-hoshizora-2027"


def check(page, axe_source: str, name: str) -> None:
    """axe finds nothing serious, at 1280 px and at 200 % zoom, and nothing scrolls sideways."""
    page.wait_for_load_state(
        "load"
    )  # the page's deferred scripts have run (they name some widgets)
    for width in (1280, 640):
        page.set_viewport_size({"width": width, "height": 900})
        overflow = sideways(page)
        assert overflow <= 0, (name, width, overflow)
        assert axe_violations(page, axe_source) == [], (name, width)
    page.set_viewport_size({"width": 1280, "height": 900})


def sign_in(page, base: str, email: str, password: str, code: str) -> None:
    page.goto(base + "/admin/login")
    page.locator("#email").fill(email)
    page.locator("#password").fill(password)
    page.locator("#code").fill(code)
    page.get_by_role("button", name="ログイン").click()


def test_an_invited_operator_enrols_from_the_mail_and_changes_the_password(
    page, live_app, axe_source
) -> None:
    base = live_app.base_url
    with live_app.app_context():
        admin = operator_ops.create_operator(
            "admin@ops.example.jp", "管理 花子", Role.ADMIN, PASSWORD
        )
        admin_secret = admin.totp_secret
    sign_in(page, base, "admin@ops.example.jp", PASSWORD, pyotp.TOTP(admin_secret).now())
    page.goto(base + "/admin/operators/")
    page.get_by_role("link", name="運営担当者を招待する").click()
    check(page, axe_source, "invite")
    page.get_by_label("メールアドレス").fill("new.agent@ops.example.jp")
    page.get_by_label("氏名").fill("新任 担当")
    page.get_by_role("button", name="招待のメールを送る").click()
    expect(page.locator("body")).to_contain_text("招待のメールを送りました")
    page.get_by_role("button", name="ログアウト").click()

    link = re.search(
        r"http://\S+/admin/enrolment/\S+",
        mail_to(live_app, "new.agent@ops.example.jp", "パスワードの設定"),
    ).group(0)
    page.goto(link)
    check(page, axe_source, "enrolment link")
    page.get_by_role("button", name="登録する").click()  # empty: each field says what is missing
    expect(page.locator(".error-summary")).to_be_visible()
    check(page, axe_source, "enrolment link with errors")
    with live_app.app_context():
        from backoffice.extensions import db

        secret = (
            db.session.query(Operator).filter_by(email="new.agent@ops.example.jp").one().totp_secret
        )
    page.locator("#new").fill(NEW)
    page.locator("#confirm").fill(NEW)
    page.locator("#code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="登録する").click()
    expect(page).to_have_url(re.compile(re.escape("/admin/login") + "$"))

    later = datetime.now(UTC) + timedelta(seconds=30)
    sign_in(page, base, "new.agent@ops.example.jp", NEW, pyotp.TOTP(secret).at(later))
    page.get_by_role("link", name="パスワードの変更").click()
    check(page, axe_source, "password change")
    page.get_by_role("button", name="変更する").click()
    expect(page.locator(".error-summary")).to_be_visible()
    check(page, axe_source, "password change with errors")
