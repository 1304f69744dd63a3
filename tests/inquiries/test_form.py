"""The 入力 step: categories, validation with Japanese messages next to the field, values kept."""

import re

import pytest
import sqlalchemy as sa

from backoffice.inquiries.categories import STANDARD_TREE
from backoffice.inquiries.drafts import InquiryDraft
from backoffice.inquiries.models import Inquiry, InquiryCategory
from tests.builders.inquiries import (
    account_request_input,
    category,
    confirm_fields,
    confirm_page,
    general_input,
    post_input,
    seed_tree,
    send,
)


@pytest.fixture(autouse=True)
def tree(app):
    seed_tree()


def field_error(html: str, field: str) -> str | None:
    """The inline error shown under a field (its id is err-FIELD), or None."""
    match = re.search(rf'<p class="field__error" id="err-{field}">.*?</span>(.*?)</p>', html, re.S)
    return match.group(1) if match else None


def field_value(html: str, field: str) -> str | None:
    match = re.search(rf'<input[^>]*id="{field}"[^>]*value="([^"]*)"', html) or re.search(
        rf'<input[^>]*value="([^"]*)"[^>]*id="{field}"', html
    )
    return match.group(1) if match else None


def test_form_shows_both_selects_with_labels_and_every_active_category(client) -> None:
    html = client.get("/inquiry").text
    assert (
        '<label class="field__label" for="major_category">お問い合わせ区分（大カテゴリー）' in html
    )
    assert '<label class="field__label" for="category">お問い合わせ区分（中カテゴリー）' in html
    for label in [
        "氏名",
        "氏名（フリガナ）",
        "組織名",
        "メールアドレス",
        "メールアドレス（確認）",
        "電話番号",
        "お問い合わせ内容",
        "医療機関コード",
        "医療機関名",
        "医療機関名（フリガナ）",
        "郵便番号",
        "所在地",
        "部署名",
    ]:
        assert f'>{label}<span class="marker' in html, label
    for major, minors in STANDARD_TREE:
        assert f'<optgroup label="{major}">' in html
        for minor in minors:
            assert f">{minor}</option>" in html


def test_inactive_categories_are_not_offered_nor_accepted(client, db) -> None:
    closed = category("介護情報基盤について", "費用・補助金")
    closed.is_active = False
    db.session.commit()
    assert ">費用・補助金</option>" not in client.get("/inquiry").text
    response = post_input(
        client, general_input(major_category=str(closed.parent_id), category=str(closed.id))
    )
    assert response.status_code == 422
    assert (
        field_error(response.text, "category")
        == "＊お問い合わせ区分（中カテゴリー）を選択してください。"
    )


@pytest.mark.parametrize(("major", "minor"), [(m, n) for m, ns in STANDARD_TREE for n in ns])
def test_every_category_path_reaches_confirmation(client, major: str, minor: str) -> None:
    cat = category(major, minor)
    data = account_request_input() if cat.is_account_request else general_input()
    data |= {"major_category": str(cat.parent_id), "category": str(cat.id)}
    page = confirm_page(client, data)
    assert page.status_code == 200
    assert "<h1>入力内容の確認</h1>" in page.text
    assert f'<dd class="summary__value">{major}</dd>' in page.text
    assert f'<dd class="summary__value">{minor}</dd>' in page.text
    assert ("医療機関の情報" in page.text) == cat.is_account_request


def test_mismatched_pair_is_refused_and_nothing_is_stored(client, db) -> None:
    wrong_major = category("電子請求受付システムについて", "パスワードの再発行").parent_id
    response = post_input(client, general_input(major_category=str(wrong_major)))
    assert response.status_code == 422
    assert field_error(response.text, "category") == (
        "＊お問い合わせ区分（中カテゴリー）は、選択した大カテゴリー「電子請求受付システムについて」"
        "に含まれるものを選択してください。"
    )
    assert db.session.scalar(sa.select(sa.func.count()).select_from(InquiryDraft)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Inquiry)) == 0


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("major_category", "", "＊お問い合わせ区分（大カテゴリー）を選択してください。"),
        ("major_category", "99999", "＊お問い合わせ区分（大カテゴリー）を選択してください。"),
        ("category", "", "＊お問い合わせ区分（中カテゴリー）を選択してください。"),
        ("category", "abc", "＊お問い合わせ区分（中カテゴリー）を選択してください。"),
        ("name", "　", "＊氏名を入力してください。"),
        ("name", "あ" * 101, "＊氏名は100文字以内で入力してください（現在101文字）。"),
        ("name_kana", "", "＊氏名（フリガナ）を入力してください。"),
        ("name_kana", "山田太郎", "＊氏名（フリガナ）はカタカナで入力してください。"),
        ("organization", "", "＊組織名を入力してください。"),
        ("email", "", "＊メールアドレスを入力してください。"),
        (
            "email",
            "yamada.example.jp",
            "＊メールアドレスは「@」を含めて、例）info@example.jp のように入力してください。",
        ),
        ("email", "taro..yamada@docomo.ne.jp", None),
        ("phone", "", "＊電話番号を入力してください。"),
        ("phone", "１２３４５", "＊電話番号は0から始まる10桁または11桁の数字で入力してください。"),
        ("body", "", "＊お問い合わせ内容を入力してください。"),
        (
            "body",
            "あ" * 2001,
            "＊お問い合わせ内容は2000文字以内で入力してください（現在2001文字）。",
        ),
    ],
)
def test_general_field_errors(client, field: str, value: str, message: str | None) -> None:
    data = general_input(**{field: value})
    if field == "email":
        data["email_confirm"] = value
    response = post_input(client, data)
    assert response.status_code == 422
    error = field_error(response.text, field)
    assert error is not None
    if message:
        assert error == message
    # The same words in the error summary, linked to the field.
    assert f'<a href="#{field}">{error}</a>' in response.text
    assert "<title>エラー：" in response.text
    assert f'aria-describedby="err-{field}' in response.text


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("medical_code", "", "＊医療機関コードを入力してください。"),
        ("medical_code", "011011371", "＊医療機関コードは10桁の数字で入力してください。"),
        ("medical_code", "01101137１９9", "＊医療機関コードは10桁の数字で入力してください。"),
        ("institution_name", "", "＊医療機関名を入力してください。"),
        ("institution_kana", "", "＊医療機関名（フリガナ）を入力してください。"),
        (
            "institution_kana",
            "さくらClinic",
            "＊医療機関名（フリガナ）はカタカナで入力してください。",
        ),
        ("postal_code", "", "＊郵便番号を入力してください。"),
        ("postal_code", "100-001", "＊郵便番号は7桁の数字で入力してください。"),
        ("address", "", "＊所在地を入力してください。"),
    ],
)
def test_account_request_field_errors(client, field: str, value: str, message: str) -> None:
    response = post_input(client, account_request_input(**{field: value}))
    assert response.status_code == 422
    assert field_error(response.text, field) == message


def test_account_request_fields_are_not_required_for_other_categories(client) -> None:
    assert post_input(client, general_input()).status_code == 302


def test_email_confirmation_must_match(client) -> None:
    response = post_input(client, general_input(email_confirm="yamada@himawari.example.com"))
    assert field_error(response.text, "email_confirm") == (
        "＊メールアドレス（確認）には、メールアドレスと同じものを入力してください。"
    )


def test_email_confirmation_matches_after_normalising(client) -> None:
    data = general_input(
        email="ｙａｍａｄａ＠ＨＩＭＡＷＡＲＩ.example.jp",
        email_confirm="yamada@himawari.EXAMPLE.jp",
    )
    assert post_input(client, data).status_code == 302


def test_typed_values_are_kept_exactly_on_error(client) -> None:
    typed = general_input(name="山田　太郎", phone="０３－１２３４－５６７８", email="bad")
    response = post_input(client, typed)
    assert field_value(response.text, "name") == "山田　太郎"
    assert field_value(response.text, "phone") == "０３－１２３４－５６７８"
    assert field_value(response.text, "email") == "bad"
    assert "ログインできません。</textarea>" in response.text
    assert re.search(rf'<option[^>]* selected value="{typed["category"]}"', response.text)


def test_full_and_half_width_input_is_stored_canonically(client, db) -> None:
    send(
        client,
        account_request_input(
            name="佐藤　花子",
            name_kana="ｻﾄｳ ﾊﾅｺ",
            phone="０３（１２３４）５６７８",
            email="ＳＡＴＯ＠Sakura-Clinic.example.jp",
            email_confirm="SATO@sakura-clinic.example.jp",
            medical_code="０１１０１１３７１９",
            postal_code="〒１００－０００１",
            institution_kana="さくらざいたくクリニック",
            address="東京都千代田区千代田１－１",
        ),
    )
    inquiry = db.session.scalars(sa.select(Inquiry)).one()
    assert inquiry.requester_name == "佐藤 花子"
    assert inquiry.requester_kana == "サトウ ハナコ"
    assert inquiry.phone == "0312345678"
    assert inquiry.email == "SATO@sakura-clinic.example.jp"
    details = inquiry.account_request
    assert details.medical_code == "0110113719"
    assert details.medical_code_check_ok is True
    assert details.postal_code == "100-0001"
    assert details.institution_kana == "サクラザイタククリニック"
    assert details.address == "東京都千代田区千代田1-1"
    assert inquiry.organization_name == "さくら在宅クリニック"


@pytest.mark.parametrize(
    ("code", "check_ok"),
    [("0110113719", True), ("0110112489", True), ("1310110049", True), ("0110113710", False)],
)
def test_failing_check_digit_is_accepted_with_a_warning(
    client, db, code: str, check_ok: bool
) -> None:
    page = confirm_page(client, account_request_input(medical_code=code))
    assert ("検証番号（末尾の1桁）が計算と一致しません" in page.text) is not check_ok
    if not check_ok:  # next to the code's own row, not below the table
        row = re.search(r"<dt[^>]*>医療機関コード</dt>.*?</div>", page.text, re.S).group(0)
        assert "検証番号（末尾の1桁）が計算と一致しません" in row
    send(client, account_request_input(medical_code=code))
    details = db.session.scalars(sa.select(Inquiry)).one().account_request
    assert details.medical_code == code
    assert details.medical_code_check_ok is check_ok


def test_typed_text_is_shown_escaped(client) -> None:
    attack = '<script>alert("x")</script>'
    page = confirm_page(client, general_input(name=attack, body=attack, organization=attack))
    assert attack not in page.text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page.text
    error_page = post_input(client, general_input(name=attack, email="bad"))
    assert attack not in error_page.text


def test_changing_an_answer_refills_the_form_with_what_was_typed(client) -> None:
    confirm_page(client, general_input(phone="０３－１２３４－５６７８"))
    again = client.get("/inquiry")
    assert field_value(again.text, "phone") == "０３－１２３４－５６７８"


def test_honeypot_makes_no_inquiry(client, db) -> None:
    response = post_input(client, general_input(contact_time="http://spam.example"))
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/inquiry/complete")
    complete = client.get("/inquiry/complete")
    assert "受付番号" in complete.text
    assert not re.search(r'class="reference-number"', complete.text)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Inquiry)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(InquiryDraft)) == 0


def test_category_closed_between_input_and_send_is_explained(client, db) -> None:
    page = confirm_page(client, general_input())
    cat = db.session.get(InquiryCategory, int(general_input()["category"]))
    cat.is_active = False
    db.session.commit()
    response = client.post("/inquiry/confirm", data=confirm_fields(page.text))
    assert response.status_code == 422
    assert (
        field_error(response.text, "category")
        == "＊お問い合わせ区分（中カテゴリー）を選択してください。"
    )
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Inquiry)) == 0


def test_expired_drafts_are_purged_at_most_once_per_interval(app, client, db) -> None:
    from datetime import timedelta

    from backoffice.db import utcnow

    def drafts() -> set[str]:
        db.session.rollback()
        return set(db.session.scalars(sa.select(InquiryDraft.key)))

    def old_draft(key: str) -> None:
        ttl = app.config["INQUIRY_DRAFT_TTL_HOURS"]
        db.session.add(
            InquiryDraft(key=key, data={}, created_at=utcnow() - timedelta(hours=ttl, minutes=1))
        )
        db.session.commit()

    app.config["INQUIRY_DRAFT_PURGE_SECONDS"] = 3600
    old_draft("expired-1")
    assert post_input(client, general_input()).status_code == 302
    assert len(drafts()) == 1
    assert "expired-1" not in drafts()
    old_draft("expired-2")
    assert post_input(app.test_client(), general_input()).status_code == 302
    assert "expired-2" in drafts(), "purged again within the interval"
    # An expired draft is never shown, purged or not.
    with client.session_transaction() as session:
        session["inquiry_draft"] = "expired-2"
    assert field_value(client.get("/inquiry").text, "name") in (None, "")
