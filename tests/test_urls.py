"""Links in mails: PUBLIC_URL and the endpoint's path, the same in a request (whatever its Host) and in
a worker or command outside any request (where Flask's url_for needs SERVER_NAME, which production
does not set)."""

import pytest

from backoffice.urls import external_url


@pytest.mark.parametrize("app_overrides", [{"SERVER_NAME": None}])
def test_links_are_built_outside_a_request_without_server_name(app) -> None:
    app.config["PUBLIC_URL"] = "https://portal.example.jp/"
    with app.app_context():
        assert external_url("tickets.ticket", inquiry_id=5) == (
            "https://portal.example.jp/admin/tickets/5/"
        )
        assert external_url("inquiries.status", token="abc") == (
            "https://portal.example.jp/inquiry/status/abc"
        )
    with app.test_request_context("/", base_url="http://evil.example"):
        assert external_url("portal.login") == "https://portal.example.jp/login"
