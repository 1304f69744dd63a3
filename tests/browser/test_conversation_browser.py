"""The requester's status page in a real Chromium on a phone (375 px): the thread, 「追加で連絡する」
with its error state, axe and reflow."""

import re

from playwright.sync_api import expect

from backoffice.inquiries import replies
from backoffice.operators.models import Role
from backoffice.operators.operations import OperatorActor
from tests.builders.browser import check_phone_page as check
from tests.builders.inquiries import make_inquiry
from tests.builders.operators import make_operator
from tests.conversation.helpers import link_in, mails_to


def test_the_requester_answers_on_the_status_page(phone, live_app, axe_source) -> None:
    with live_app.test_request_context():
        inquiry = make_inquiry(live_app.test_client())
        actor = OperatorActor.of(make_operator(Role.AGENT))
        replies.reply(
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


def test_a_correction_is_asked_in_the_back_office_and_made_on_a_phone(
    page, phone, live_app, axe_source
) -> None:
    """差し戻し: the operator's ticket page (1280 px and 200 % zoom), then the requester's form at 375 px."""
    from tests.browser.test_flows_browser import make_agent, operator_sign_in
    from tests.browser.test_operator_browser import check as check_wide
    from tests.builders.inquiries import account_request_input, send

    with live_app.test_request_context():
        secret = make_agent()
        assert send(live_app.test_client(), account_request_input(medical_code="1310110048"))
        from backoffice.extensions import db
        from backoffice.inquiries.models import Inquiry

        inquiry = db.session.query(Inquiry).one()
        inquiry_id, email = inquiry.id, inquiry.email
    base = live_app.base_url
    page.goto(base + "/admin/login")
    operator_sign_in(page, secret)
    page.goto(f"{base}/admin/tickets/{inquiry_id}/")
    check_wide(page, axe_source, "ticket page")
    page.get_by_role("button", name="差し戻す").click()  # nothing chosen: the errors first
    expect(page.locator("body")).to_contain_text("＊修正を依頼する項目を選んでください。")
    check_wide(page, axe_source, "ticket page with errors")
    page.get_by_label("医療機関コード", exact=True).check()
    page.get_by_label("理由（依頼者に送信）").fill("医療機関コードの検証番号が一致しません。")
    page.get_by_role("button", name="差し戻す").click()
    expect(page.locator("body")).to_contain_text("差し戻しました")
    check_wide(page, axe_source, "ticket page after 差し戻し")

    with live_app.app_context():
        link = link_in(mails_to(email)[-1])
    phone.goto(base + link)
    expect(phone.locator("body")).to_contain_text("修正をお願いしている項目")
    check(phone, axe_source)
    phone.locator("#fix-medical_code").fill("123")
    phone.get_by_role("button", name="修正して送信する").click()
    expect(phone.locator("#err-fix-medical_code")).to_contain_text("10桁の数字")
    check(phone, axe_source)
    phone.locator("#fix-medical_code").fill("1310110049")
    phone.get_by_role("button", name="修正して送信する").click()
    expect(phone.locator("body")).to_contain_text("修正内容を送信しました")
    check(phone, axe_source)
    phone.goto(base + "/inquiry/link")
    check(phone, axe_source)
    phone.get_by_role("button", name="URLを送る").click()
    expect(phone.locator(".error-summary")).to_be_visible()
    check(phone, axe_source)
