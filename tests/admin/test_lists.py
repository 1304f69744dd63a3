"""Back-office lists as an operator reads them: page sizes in Japanese, a search box with its own label
and the searchable columns in full, boolean columns and icon-only buttons with text for screen readers,
and no empty buttons column where rows have no buttons."""

import re

import pytest

from backoffice.admin.base import _yes_no
from backoffice.inquiries.categories import seed_categories
from backoffice.operators.models import Role
from backoffice.paths import STATIC
from tests.builders.accounts import make_registrant
from tests.builders.inquiries import make_inquiry, seed_tree

LISTS = [
    "/admin/tickets/",
    "/admin/organizations/",
    "/admin/portal_users/",
    "/admin/categories/",
    "/admin/operators/",
    "/admin/canned/",
    "/admin/audit/",
]


@pytest.mark.parametrize("url", LISTS)
def test_every_list_speaks_one_language_and_labels_its_search(signed_in, url: str) -> None:
    html = signed_in(Role.ADMIN).get(url).text
    assert "アイテム" not in html
    assert " items" not in html
    if 'name="page_size"' in html or "表示件数" in html:
        assert re.search(r">表示件数：\d+件</a>", html)
    if 'name="search"' in html:
        assert '<label for="list-search" class="mr-2 mb-0">キーワード</label>' in html
        assert 'id="list-search"' in html
        assert "placeholder=" not in html.split('id="list-search"')[1].split(">")[0]


def test_the_search_hint_names_every_searchable_column(signed_in) -> None:
    html = signed_in(Role.AGENT).get("/admin/tickets/").text
    hint = re.search(r'<p class="[^"]*" id="list-search-hint">([^<]*)</p>', html).group(1)
    assert hint == "検索できる項目：受付番号・氏名・メール・医療機関コード・医療機関名"
    assert 'aria-describedby="list-search-hint"' in html


def test_lists_without_row_buttons_have_no_empty_column(signed_in) -> None:
    make_registrant()
    html = signed_in(Role.ADMIN).get("/admin/portal_users/").text
    assert "list-buttons-column" not in html
    assert "list-buttons-header" not in html
    header = re.search(r"<thead>.*?</thead>", html, re.S).group(0)
    assert "&nbsp;" not in header


def test_icon_only_cells_have_text_for_screen_readers(signed_in) -> None:
    make_registrant()
    seed_categories()
    client = signed_in(Role.ADMIN)
    users = client.get("/admin/portal_users/").text
    assert (
        '<span class="fa fa-check-circle" aria-hidden="true"></span><span class="sr-only">はい</span>'
        in users
    )
    assert str(_yes_no(None, False, "is_active")) == (
        '<span class="fa fa-minus-circle" aria-hidden="true"></span><span class="sr-only">いいえ</span>'
    )
    categories = client.get("/admin/categories/").text
    assert '<th class="list-buttons-header"><span class="sr-only">操作</span></th>' in categories
    assert '<span class="sr-only">編集：介護情報基盤ポータルについて</span>' in categories


def test_the_ticket_list_keeps_reference_numbers_and_headers_whole(app, client, signed_in) -> None:
    """受付番号 never wraps mid-code and headers never break a character per line (the stylesheet)."""
    seed_tree()
    inquiry = make_inquiry(client)
    html = signed_in(Role.AGENT).get("/admin/tickets/").text
    assert '<td class="col-reference_number">' in html
    assert inquiry.reference_number in html
    css = (STATIC / "css" / "admin.css").read_text()
    assert ".model-list th { white-space: nowrap; }" in css
    assert ".model-list .col-reference_number" in css
