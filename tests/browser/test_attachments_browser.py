"""Attachments in a real Chromium: a phone screenshot on the form with JavaScript (its name and size
shown before sending) and without it (a plain file input), at 375 px with axe; the error state; and
the operator's ticket page with its thumbnail and reply box, at 1280 px and 200 % zoom."""

import re

import sqlalchemy as sa
from playwright.sync_api import expect

from backoffice.attachments.models import Attachment
from backoffice.extensions import db
from backoffice.inquiries.models import Inquiry
from tests.attachments import helpers as files
from tests.browser.test_flows_browser import make_agent, operator_sign_in
from tests.browser.test_operator_browser import check
from tests.builders.browser import check_phone_page, fill_general_inquiry
from tests.conversation.helpers import link_in, mails_to


def _screenshot(name: str = "IMG_0042.JPG") -> dict:
    return {"name": name, "mimeType": "image/jpeg", "buffer": files.jpeg_with_gps((375, 812))}


def test_a_screenshot_on_the_form_with_javascript_at_375px(browser, live_app, axe_source) -> None:
    context = browser.new_context(
        locale="ja-JP", viewport={"width": 375, "height": 740}, is_mobile=True
    )
    page = context.new_page()
    try:
        page.goto(live_app.base_url + "/inquiry")
        expect(page.locator("#hint-attachments")).to_contain_text("5個まで、1ファイル10MBまで")
        # A bad file first: the message next to the field, the form kept, at 375 px.
        fill_general_inquiry(page)
        page.get_by_label("添付ファイル").set_input_files(
            {"name": "screen.png", "mimeType": "image/png", "buffer": files.html_as_png()}
        )
        expect(page.locator("[data-file-list]")).to_contain_text("screen.png（1KB）")
        page.get_by_role("button", name="確認画面へ進む").click()
        expect(page.locator("#err-attachments")).to_contain_text("内容が画像ではありません")
        expect(page.locator("#name")).to_have_value("山田 太郎")
        check_phone_page(page, axe_source)

        page.get_by_label("添付ファイル").set_input_files(_screenshot())
        expect(page.locator("[data-file-list]")).to_contain_text("IMG_0042.JPG")
        page.get_by_role("button", name="確認画面へ進む").click()
        expect(page.locator("h1")).to_have_text("入力内容の確認")
        expect(page.locator("body")).to_contain_text("IMG_0042.JPG")
        check_phone_page(page, axe_source)
        # 「変更」 keeps it, listed with a way to remove it.
        page.get_by_role("link", name=re.compile("変更.*添付ファイル")).click()
        expect(page.get_by_label("IMG_0042.JPG（", exact=False)).to_be_visible()
        check_phone_page(page, axe_source)
        page.get_by_role("button", name="確認画面へ進む").click()
        page.get_by_role("button", name="この内容で送信する").click()
        expect(page.locator("h1")).to_have_text("送信が完了しました")
    finally:
        context.close()
    with live_app.app_context():
        assert db.session.scalars(sa.select(Attachment)).one().inquiry_id is not None


def test_a_file_on_the_form_without_javascript(browser, live_app, axe_source) -> None:
    context = browser.new_context(
        locale="ja-JP", viewport={"width": 375, "height": 740}, is_mobile=True
    )
    # The app's scripts never load. (Chromium's own switch for JavaScript would also stop axe, whose
    # evaluation then never returns.)
    context.route("**/*.js", lambda route: route.abort())
    page = context.new_page()
    try:
        page.goto(live_app.base_url + "/inquiry")
        fill_general_inquiry(page)
        page.get_by_label("添付ファイル").set_input_files(
            {"name": "手順.pdf", "mimeType": "application/pdf", "buffer": files.pdf()}
        )
        page.get_by_role("button", name="確認画面へ進む").click()
        expect(page.locator("h1")).to_have_text("入力内容の確認")
        expect(page.locator("body")).to_contain_text("手順.pdf")
        check_phone_page(page, axe_source)
        page.get_by_role("button", name="この内容で送信する").click()
        expect(page.locator("h1")).to_have_text("送信が完了しました")
    finally:
        context.close()


def test_the_operator_sees_the_thumbnail_and_answers_with_a_file(
    page, phone, live_app, axe_source
) -> None:
    with live_app.app_context():
        secret = make_agent()
    # The requester's inquiry with a screenshot, through the form.
    page.goto(live_app.base_url + "/inquiry")
    fill_general_inquiry(page)
    page.get_by_label("添付ファイル").set_input_files(_screenshot())
    page.get_by_role("button", name="確認画面へ進む").click()
    page.get_by_role("button", name="この内容で送信する").click()
    with live_app.app_context():
        inquiry_id = db.session.scalars(sa.select(Inquiry.id)).one()
    page.goto(live_app.base_url + "/admin/login")
    operator_sign_in(page, secret)
    page.goto(f"{live_app.base_url}/admin/tickets/{inquiry_id}/")
    thumbnail = page.get_by_role("img", name="IMG_0042.JPG（画像を表示）")
    expect(thumbnail).to_be_visible()
    assert page.evaluate("(img) => img.naturalWidth", thumbnail.element_handle()) > 0
    check(page, axe_source, "ticket page with a thumbnail")
    page.locator("#reply-body").fill("手順書をお送りします。")
    page.locator("#reply-attachments").set_input_files(
        {"name": "手順書.pdf", "mimeType": "application/pdf", "buffer": files.pdf()}
    )
    expect(page.locator("#act-reply ~ form [data-file-list]")).to_contain_text("手順書.pdf")
    page.get_by_role("button", name="回答を送信する").click()
    expect(page.locator("body")).to_contain_text("回答を送信しました")
    expect(page.get_by_role("link", name="手順書.pdf")).to_be_visible()
    check(page, axe_source, "ticket page after a reply with a file")
    # The requester's status page on a phone: their screenshot and the operator's PDF.
    with live_app.app_context():
        link = link_in(mails_to("yamada@sakura.example.jp")[0])
    phone.goto(live_app.base_url + link)
    expect(phone.get_by_role("img", name="IMG_0042.JPG（画像を表示）")).to_be_visible()
    expect(phone.get_by_role("link", name="手順書.pdf")).to_be_visible()
    check_phone_page(phone, axe_source)
