"""The requester's status page in a real Chromium on a phone (375 px): the thread, 「追加で連絡する」
with its error state, axe and reflow."""

import re

import pytest
from playwright.sync_api import expect

from backoffice.inquiries import triage
from backoffice.operators.models import Role
from backoffice.operators.operations import OperatorActor
from tests.builders.browser import axe_violations
from tests.builders.inquiries import make_inquiry
from tests.builders.operators import make_operator
from tests.conversation.helpers import link_in, mails_to


def check(page, axe_source: str) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, (page.url, overflow)
    assert axe_violations(page, axe_source) == [], page.url


@pytest.fixture
def phone(browser):
    context = browser.new_context(
        locale="ja-JP", viewport={"width": 375, "height": 740}, is_mobile=True
    )
    yield context.new_page()
    context.close()


def test_the_requester_answers_on_the_status_page(phone, live_app, axe_source) -> None:
    with live_app.test_request_context():
        inquiry = make_inquiry(live_app.test_client())
        actor = OperatorActor.of(make_operator(Role.AGENT))
        triage.reply(
            inquiry.id,
            "エラーの文言を教えてください。",
            actor,
            expected_version=inquiry.version,
        )
        link = link_in(mails_to(inquiry.email)[-1])
    page = phone
    page.goto(live_app.base_url + link)
    expect(page.locator("body")).to_contain_text("ご回答をお待ちしています")
    expect(page.locator("body")).to_contain_text("エラーの文言を教えてください。")
    check(page, axe_source)
    page.get_by_role("button", name="送信する").click()  # empty: the error state
    expect(page).to_have_title(re.compile("^エラー："))
    expect(page.locator("#err-body")).to_contain_text("＊連絡内容を入力してください。")
    check(page, axe_source)
    page.get_by_label("連絡内容").fill("「ワンタイムパスワードが違います」と表示されます。")
    page.get_by_role("button", name="送信する").click()
    expect(page.locator("body")).to_contain_text("追加のご連絡を送信しました")
    expect(page.locator("body")).to_contain_text("あなたからの連絡")
    expect(page.locator(".status")).to_have_text("対応中")
    check(page, axe_source)
