"""The form's two kinds of inquiry: 「ID発行を申請する」 opens it with the ID request chosen, and the
※必須/※任意 markers follow the chosen 中カテゴリー (stated plainly while none is chosen)."""

import re

import pytest

from backoffice.extensions import db
from backoffice.inquiries.models import InquiryCategory
from tests.builders.inquiries import category, general_input, post_input, seed_tree


@pytest.fixture(autouse=True)
def tree(app):
    seed_tree()


def marker_of(html: str, field: str) -> str:
    match = re.search(
        rf'<label class="field__label" for="{field}">[^<]*<span class="marker ([^"]*)"[^>]*>([^<]*)<',
        html,
    )
    assert match, field
    return f"{match.group(1)}:{match.group(2)}"


def selected(html: str, select: str) -> str | None:
    block = re.search(rf'<select[^>]*id="{select}".*?</select>', html, re.S).group(0)
    match = re.search(r"<option[^>]*selected[^>]*>([^<]*)</option>", block)
    return match.group(1) if match else None


@pytest.mark.parametrize("url", ["/", "/flows", "/register"])
def test_the_pages_link_the_id_request_by_its_kind(client, url: str) -> None:
    assert 'href="/inquiry?kind=id-request"' in client.get(url).text


def test_the_id_request_link_opens_the_form_with_it_chosen(client) -> None:
    html = client.get("/inquiry?kind=id-request").text
    assert selected(html, "major_category") == "その他"
    assert selected(html, "category") == "介護情報基盤ポータルのID発行申請"
    assert marker_of(html, "medical_code") == "marker--required:※必須"
    assert marker_of(html, "organization") == "marker--optional:※入力不要"
    assert marker_of(html, "body") == "marker--optional:※任意"


def test_the_link_survives_the_categories_ids_changing(client) -> None:
    request = category("その他", "介護情報基盤ポータルのID発行申請")
    request.position = 99  # reordered and moved under a new 大カテゴリー: found by its kind
    other = InquiryCategory(name="申請", position=0)
    db.session.add(other)
    db.session.flush()
    request.parent_id = other.id
    db.session.commit()
    html = client.get("/inquiry?kind=id-request").text
    assert selected(html, "major_category") == "申請"
    assert selected(html, "category") == "介護情報基盤ポータルのID発行申請"


def test_before_a_category_is_chosen_the_markers_say_both_needs(client) -> None:
    html = client.get("/inquiry").text
    assert marker_of(html, "organization") == "marker--optional:※必須（ID発行申請の場合は入力不要）"
    assert marker_of(html, "body") == "marker--optional:※必須（ID発行申請の場合は任意）"
    assert marker_of(html, "medical_code") == "marker--optional:※ID発行申請の場合は必須"
    assert marker_of(html, "name") == "marker--required:※必須"
    assert "お問い合わせの種類によって、入力が必要な項目が異なります" in html
    # No red 必須 beside 「ID発行申請の場合は入力不要です」.
    organization = re.search(r'for="organization">.*?</p>', html, re.S).group(0)
    assert "marker--required" not in organization


def test_after_an_error_the_markers_follow_the_chosen_category(client) -> None:
    data = general_input(organization="", body="")
    html = post_input(client, data).text
    assert marker_of(html, "organization") == "marker--required:※必須"
    assert marker_of(html, "body") == "marker--required:※必須"
    assert marker_of(html, "medical_code") == "marker--optional:※入力不要"
