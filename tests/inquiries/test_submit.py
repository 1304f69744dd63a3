"""Sending an inquiry: one ticket per draft, the acknowledgement in the outbox, protection, status page."""

import gc
import re
import threading

import pytest
import sqlalchemy as sa
from werkzeug.test import encode_multipart

from backoffice.extensions import db as _db
from backoffice.inquiries.drafts import InquiryDraft
from backoffice.inquiries.models import Inquiry, InquiryEvent
from backoffice.inquiries.operations import REFERENCE_ALPHABET
from backoffice.inquiries.vocabulary import EventKind, InquiryStatus
from backoffice.mail.models import EmailStatus, OutboundEmail
from backoffice.mail.outbox import readable
from tests.builders.inquiries import (
    account_request_input,
    confirm_fields,
    confirm_page,
    general_input,
    seed_tree,
    send,
)
from tests.builders.web import csrf_token

REFERENCE_RE = re.compile(rf"^[{REFERENCE_ALPHABET}]{{4}}-[{REFERENCE_ALPHABET}]{{4}}$")


@pytest.fixture(autouse=True)
def tree(app):
    seed_tree()


def count(model) -> int:
    return _db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_sending_creates_ticket_history_and_acknowledgement_in_one_go(client, db) -> None:
    response = send(client, account_request_input())
    assert response.status_code == 302
    complete = client.get(response.headers["Location"])
    inquiry = db.session.scalars(sa.select(Inquiry)).one()
    assert REFERENCE_RE.match(inquiry.reference_number)
    assert f'<strong class="reference-number">{inquiry.reference_number}</strong>' in complete.text
    assert '<h1 class="panel__title">送信が完了しました</h1>' in complete.text
    assert "「kaigo-portal.example.jp」からのメールを受信できるよう" in complete.text
    assert inquiry.status is InquiryStatus.NEW
    assert inquiry.category.name == "介護情報基盤ポータルのID発行申請"
    [event] = inquiry.events
    assert (event.kind, event.actor, event.new_value) == (EventKind.CREATED, "依頼者", "new")

    [email] = db.session.scalars(sa.select(OutboundEmail)).all()
    assert email.to_address == "sato@sakura-clinic.example.jp"
    assert email.status is EmailStatus.QUEUED
    assert (
        email.subject
        == f"【介護情報基盤ポータル】お問い合わせを受け付けました（受付番号 {inquiry.reference_number}）"
    )
    text, html = readable(email)
    assert f"受付番号：{inquiry.reference_number}" in text
    assert "医療機関コード：0110113719" in text
    assert "さくら在宅クリニック" in text
    assert inquiry.reference_number in html
    # The status link is a bearer secret: sealed while the mail waits in the outbox.
    assert "/inquiry/status/" not in email.body_text + email.body_html
    assert count(InquiryDraft) == 0


def test_reference_numbers_are_random_not_sequential(client, db) -> None:
    for i in range(3):
        send(client, general_input(body=f"問い合わせ{i}"))
    numbers = db.session.scalars(sa.select(Inquiry.reference_number).order_by(Inquiry.id)).all()
    assert len(set(numbers)) == 3
    assert all(REFERENCE_RE.match(n) for n in numbers)


def test_double_submit_makes_one_inquiry(client, db) -> None:
    page = confirm_page(client, general_input())
    fields = confirm_fields(page.text)
    first = client.post("/inquiry/confirm", data=fields)
    second = client.post("/inquiry/confirm", data=fields)
    assert first.status_code == second.status_code == 302
    assert count(Inquiry) == 1
    assert count(OutboundEmail) == 1
    again = client.get(second.headers["Location"])
    number = db.session.scalar(sa.select(Inquiry.reference_number))
    assert "このお問い合わせは送信済みです" in again.text
    assert number in again.text


def test_back_and_resend_after_completion_makes_no_second_inquiry(client, db) -> None:
    page = confirm_page(client, general_input())
    fields = confirm_fields(page.text)
    client.post("/inquiry/confirm", data=fields)
    # The browser's back button shows the confirmation page again; the draft is gone: the page says
    # it was sent, with its 受付番号, never 「もう一度入力してください」.
    back = client.get("/inquiry/confirm")
    assert back.headers["Location"] == "/inquiry/complete"
    shown = client.get(back.headers["Location"]).text
    assert "このお問い合わせは送信済みです" in shown
    assert "もう一度入力してください" not in shown
    assert db.session.scalars(sa.select(Inquiry)).one().reference_number in shown
    assert "対応状況を確認できるページ" in shown
    assert client.post("/inquiry/confirm", data=fields).status_code == 302
    assert count(Inquiry) == 1


def test_two_sends_at_the_same_moment_make_one_inquiry(app, client, db) -> None:
    page = confirm_page(client, general_input())
    fields = confirm_fields(page.text)
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    barrier = threading.Barrier(4)
    statuses: list[int] = []

    def post() -> None:
        other = app.test_client()
        other.set_cookie(cookie.key, cookie.value, domain=cookie.domain)
        barrier.wait()
        statuses.append(other.post("/inquiry/confirm", data=fields).status_code)

    threads = [threading.Thread(target=post) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [302] * 4
    db.session.expire_all()
    assert count(Inquiry) == 1
    assert count(OutboundEmail) == 1


def test_changed_draft_in_another_tab_is_not_sent_blindly(client, db) -> None:
    page = confirm_page(client, general_input())
    fields = confirm_fields(page.text) | {"submission_key": "stale-key-from-another-draft"}
    response = client.post("/inquiry/confirm", data=fields, follow_redirects=True)
    assert "入力内容が変更されています" in response.text
    assert count(Inquiry) == 0


def test_confirm_without_draft_goes_back_to_the_form(client) -> None:
    response = client.get("/inquiry/confirm", follow_redirects=True)
    assert "入力内容が見つかりませんでした" in response.text
    assert "<h1>お問い合わせフォーム</h1>" in response.text


def test_missing_csrf_token_is_refused_with_400(client, db) -> None:
    page = confirm_page(client, general_input())
    fields = confirm_fields(page.text)
    del fields["csrf_token"]
    response = client.post("/inquiry/confirm", data=fields)
    assert response.status_code == 400
    assert "送信を受け付けられませんでした" in response.text
    assert count(Inquiry) == 0
    no_token = client.post("/inquiry", data=general_input())
    assert no_token.status_code == 400


def test_wrong_csrf_token_is_refused(client) -> None:
    page = confirm_page(client, general_input())
    fields = confirm_fields(page.text) | {"csrf_token": "forged"}
    assert client.post("/inquiry/confirm", data=fields).status_code == 400


@pytest.mark.parametrize(
    "app_overrides", [{"RATELIMIT_ENABLED": True, "INQUIRY_SEND_LIMIT": "2 per hour"}]
)
def test_sending_is_rate_limited_per_ip(client, db) -> None:
    for i in range(2):
        assert send(client, general_input(body=f"{i}")).status_code == 302
    page = confirm_page(client, general_input(body="3"))
    limited = client.post("/inquiry/confirm", data=confirm_fields(page.text))
    assert limited.status_code == 429
    assert "短時間に多くの操作が行われました" in limited.text
    assert "Retry-After" in limited.headers
    assert count(Inquiry) == 2
    # Another address is not affected.
    other = client.post(
        "/inquiry/confirm",
        data=confirm_fields(page.text),
        environ_base={"REMOTE_ADDR": "192.0.2.9"},
    )
    assert other.status_code == 302


@pytest.mark.parametrize(
    "app_overrides", [{"RATELIMIT_ENABLED": True, "INQUIRY_FORM_LIMIT": "3 per hour"}]
)
def test_form_posts_are_rate_limited_too(client) -> None:
    page = client.get("/inquiry")
    statuses = [
        client.post("/inquiry", data={"csrf_token": csrf_token(page.text)}).status_code
        for _ in range(4)
    ]
    assert statuses == [422, 422, 422, 429]


# Werkzeug stops reading at the limit and drops the part's temporary file; the app's request closes
# it (a file left to the garbage collector would fail the test with its ResourceWarning).
@pytest.mark.parametrize(
    "app_overrides", [{"ATTACHMENT_MAX_FILES": 1, "ATTACHMENT_MAX_BYTES": 1000}]
)
def test_oversized_request_gets_the_413_page(client) -> None:
    # The form takes files, so its limit is the files' (1 × 1000 bytes here) plus the text's.
    page = client.get("/inquiry")
    # Encoded in memory: the test client would spool this body to a temporary file of its own.
    boundary, body = encode_multipart(
        general_input(body="あ" * 200_000, csrf_token=csrf_token(page.text))
    )
    response = client.post(
        "/inquiry", data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )
    assert response.status_code == 413
    assert "添付ファイルが大きすぎるため" in response.text
    assert "1個まで、1ファイル1KBまで" in response.text
    gc.collect()  # finds no file left open


def test_a_long_body_without_files_gets_its_message_not_the_413_page(client) -> None:
    page = client.get("/inquiry")
    response = client.post(
        "/inquiry", data=general_input(body="あ" * 100_000, csrf_token=csrf_token(page.text))
    )
    assert response.status_code == 422
    assert "文字以内で入力してください" in response.text
    gc.collect()  # finds no file left open


def status_link(db) -> str:
    body = readable(db.session.scalars(sa.select(OutboundEmail)).one())[0]
    match = re.search(r"http://localhost(/inquiry/status/\S+)", body)
    assert match, body
    return match.group(1)


def test_status_page_by_token_shows_number_category_status_and_public_replies(client, db) -> None:
    send(client, general_input())
    inquiry = db.session.scalars(sa.select(Inquiry)).one()
    inquiry.events.append(
        InquiryEvent(
            kind=EventKind.PUBLIC_REPLY, actor="運営担当", body="回答です。再設定をお試しください。"
        )
    )
    inquiry.events.append(
        InquiryEvent(
            kind=EventKind.INTERNAL_NOTE, actor="運営担当", body="内部メモ：電話で確認済み"
        )
    )
    db.session.commit()
    page = client.get(status_link(db))
    assert page.status_code == 200
    assert inquiry.reference_number in page.text
    assert "介護情報基盤ポータルについて ＞ ログイン・パスワード" in page.text
    assert "受付済み" in page.text  # the requester's word, never 新規
    assert "回答です。再設定をお試しください。" in page.text
    assert "内部メモ" not in page.text
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert page.headers["Cache-Control"] == "no-store"


def test_reference_number_alone_or_a_wrong_token_shows_nothing(client, db) -> None:
    send(client, general_input())
    number = db.session.scalar(sa.select(Inquiry.reference_number))
    assert client.get(f"/inquiry/status/{number}").status_code == 404
    assert client.get("/inquiry/status/" + "A" * 43).status_code == 404
    assert number not in client.get("/inquiry/status/" + "A" * 43).text


def test_status_token_is_stored_only_as_a_hash(client, db) -> None:
    send(client, general_input())
    token = status_link(db).rsplit("/", 1)[1]
    inquiry = db.session.scalars(sa.select(Inquiry)).one()
    assert token not in inquiry.status_token_hash
    assert len(inquiry.status_token_hash) == 64


def test_complete_page_without_a_sent_inquiry_still_explains(client) -> None:
    page = client.get("/inquiry/complete")
    assert page.status_code == 200
    assert "受付確認メール" in page.text
    assert "送信が完了しました" not in page.text


def test_resending_after_the_category_closed_returns_the_inquiry_already_made(app, client, db):
    from backoffice.inquiries import operations
    from backoffice.inquiries.models import InquiryCategory

    send(client, general_input())
    inquiry = db.session.scalars(sa.select(Inquiry)).one()
    again = operations.InquiryInput(
        category_id=inquiry.category_id,
        requester_name=inquiry.requester_name,
        requester_kana=inquiry.requester_kana,
        organization_name=inquiry.organization_name,
        email=inquiry.email,
        phone=inquiry.phone,
        body=inquiry.body,
    )
    db.session.get(InquiryCategory, inquiry.category_id).is_active = False
    db.session.commit()
    with app.test_request_context():
        result = operations.submit_inquiry(
            again, submission_key=inquiry.submission_key, status_url_for=lambda token: token
        )
        assert (result.created, result.reference_number) == (False, inquiry.reference_number)
        with pytest.raises(operations.CategoryUnavailable):
            operations.submit_inquiry(again, submission_key="new-key", status_url_for=str)
    assert count(Inquiry) == 1
