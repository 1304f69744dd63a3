"""Numbers as people read them: 電話番号 split by its area code, 郵便番号 as 123-4567, on every page
that shows them."""

from backoffice.operators.models import Role
from tests.builders.accounts import make_registrant, signed_in_as
from tests.builders.inquiries import (
    account_request_input,
    confirm_page,
    make_inquiry,
    seed_tree,
)


def test_the_confirm_page_shows_the_numbers_with_hyphens(client) -> None:
    seed_tree()
    page = confirm_page(client, account_request_input(phone="０４７１２３４５６７")).text
    assert "04-7123-4567" in page
    assert "100-0001" in page


def test_mypage_shows_the_users_number_with_hyphens(app) -> None:
    user, _ = make_registrant()  # stored as 0312345678
    user.must_change_password = False
    client = signed_in_as(app, user)
    page = client.get("/mypage", follow_redirects=True).text
    assert "03-1234-5678" in page


def test_the_ticket_page_shows_the_numbers_with_hyphens(app, client, signed_in) -> None:
    seed_tree()
    inquiry = make_inquiry(client, phone="0987654321")
    page = signed_in(Role.AGENT).get(f"/admin/tickets/{inquiry.id}/").text
    assert "0987-65-4321" in page
