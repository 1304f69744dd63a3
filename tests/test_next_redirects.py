"""Every page that redirects to a target from the request keeps the browser on this site, whatever the
target: the back office's sign-in (`next`), Flask-Admin's return address (`url`), and the portal login,
which takes no target at all.

Each variant is sent two ways: as the parameter's exact value (`query_string`), and written into the URL
as it stands, so that its percent-escapes (`%09`, `%2F`) arrive decoded, as a link in an email would send
them.
"""

from urllib.parse import urlencode, urljoin, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from backoffice.admin.access import SESSION_KEY
from backoffice.admin.auth import _safe_next
from backoffice.operators import operations
from backoffice.operators.models import Role
from tests.builders import accounts
from tests.builders.operators import PASSWORD, current_code, make_operator
from tests.builders.web import csrf_token

EVIL = [
    "//evil.example",
    "\\\\evil.example",
    "/\\evil.example",
    "/\\/evil.example",
    "https://evil.example",
    "https:evil.example",
    "http:/evil.example",
    "javascript:alert(1)",
    "JavaScript:alert(1)",
    "/%09/evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    " //evil.example",
    "\t//evil.example",
    "%2F%2Fevil.example",
    "/%2F/evil.example",
    "/%5Cevil.example",
    "///evil.example",
    "evil.example",
    "",
]
# The variant as the parameter's value, or written into the URL as it stands.
HOW = ["value", "in-url"]
DASHBOARD = "/admin/"
# Taken as they are, these are paths of this site (a browser never decodes an escape in a path into a
# host): kept when they arrive as they are, refused when they arrive decoded.
PATHS_OF_THIS_SITE = {"/%09/evil.example", "/%2F/evil.example", "/%5Cevil.example"}


def expected(target: str, how: str, default: str) -> str:
    return target if how == "value" and target in PATHS_OF_THIS_SITE else default


def as_a_browser_reads(location: str) -> str:
    """The Location as a browser's URL parser sees it (WHATWG): leading and trailing spaces and controls
    dropped, tabs and line breaks removed anywhere, a backslash read as a slash."""
    stripped = location.strip("".join(map(chr, range(0x21))))
    return stripped.translate({ord("\t"): None, ord("\n"): None, ord("\r"): None}).replace(
        "\\", "/"
    )


def resolves_on_site(location: str, page: str) -> bool:
    """Whether a browser on `page` that follows `location` stays on this site (http://localhost)."""
    resolved = urlsplit(urljoin(f"http://localhost{page}", as_a_browser_reads(location)))
    return (resolved.scheme, resolved.netloc) == ("http", "localhost")


def assert_stays_on_site(location: str, page: str = "/admin/login") -> None:
    """A path of this site, starting with one "/", as the browser reads it too."""
    assert location.startswith("/"), location
    assert not location.startswith(("//", "/\\")), location
    read = as_a_browser_reads(location)
    assert read.startswith("/"), location
    assert not read.startswith("//"), location
    assert resolves_on_site(location, page), location


def with_next(client: FlaskClient, method: str, path: str, param: str, target: str, how: str, **kw):
    query = urlencode({param: target}) if how == "value" else f"{param}={target}"
    return client.open(f"{path}?{query}", method=method, **kw)


@pytest.mark.parametrize("target", EVIL)
def test_the_safe_next_helper_returns_only_a_path_of_this_site(app: Flask, target: str) -> None:
    with app.test_request_context():
        safe = _safe_next(target)
    assert safe == expected(target, "value", DASHBOARD)
    assert_stays_on_site(safe)


@pytest.mark.parametrize(
    "target",
    ["/admin/tickets/", "/admin/tickets/12/", "/admin/tickets/?search=%E3%81%95&page=2", "/admin/"],
)
def test_a_path_of_this_site_is_kept(app: Flask, target: str) -> None:
    with app.test_request_context():
        assert _safe_next(target) == target


@pytest.mark.parametrize("how", HOW)
@pytest.mark.parametrize("target", EVIL)
def test_signing_in_to_the_back_office_never_redirects_off_the_site(
    app: Flask, client: FlaskClient, target: str, how: str
) -> None:
    operator = make_operator(Role.AGENT)
    page = client.get("/admin/login")
    response = with_next(
        client,
        "POST",
        "/admin/login",
        "next",
        target,
        how,
        data={
            "csrf_token": csrf_token(page.text),
            "email": operator.email,
            "password": PASSWORD,
            "code": current_code(operator),
        },
    )
    assert response.status_code == 302, response.text
    assert_stays_on_site(response.headers["Location"])
    assert response.headers["Location"] == expected(target, how, DASHBOARD)


@pytest.mark.parametrize("how", HOW)
@pytest.mark.parametrize("target", EVIL)
def test_the_sign_in_page_of_a_signed_in_operator_never_redirects_off_the_site(
    app: Flask, target: str, how: str
) -> None:
    client = app.test_client()
    key = operations.start_session(make_operator(Role.VIEWER), "127.0.0.1")
    with client.session_transaction() as session:
        session[SESSION_KEY] = key
    response = with_next(client, "GET", "/admin/login", "next", target, how)
    assert response.status_code == 302
    assert_stays_on_site(response.headers["Location"])
    assert response.headers["Location"] == expected(target, how, DASHBOARD)


def test_signing_in_from_a_back_office_page_returns_to_it(app: Flask, client: FlaskClient) -> None:
    """The legitimate use: the page asked for before sign-in, with its query string."""
    operator = make_operator(Role.AGENT)
    refused = client.get("/admin/tickets/", query_string={"search": "さくら", "page": "1"})
    assert refused.status_code == 302
    login_url = refused.headers["Location"]
    page = client.get(login_url)
    response = client.post(
        login_url,
        data={
            "csrf_token": csrf_token(page.text),
            "email": operator.email,
            "password": PASSWORD,
            "code": current_code(operator),
        },
    )
    location = response.headers["Location"]
    assert location == "/admin/tickets/?search=%E3%81%95%E3%81%8F%E3%82%89&page=1"
    assert_stays_on_site(location)


@pytest.mark.parametrize("how", HOW)
@pytest.mark.parametrize("target", EVIL)
def test_flask_admin_s_return_address_never_leaves_the_site(
    app: Flask, target: str, how: str
) -> None:
    """Flask-Admin's create/edit/delete pages go back to `?url=` (its own is_safe_url check); the edit
    page without a record's id sends the operator there at once. Flask-Admin keeps a relative
    reference (`evil.example`, `%2F%2Fevil.example`, same-scheme `http:/evil.example`) as it is: the
    browser resolves it under /admin/categories/edit/, on this site."""
    client = app.test_client()
    key = operations.start_session(make_operator(Role.ADMIN), "127.0.0.1")
    with client.session_transaction() as session:
        session[SESSION_KEY] = key
    response = with_next(client, "GET", "/admin/categories/edit/", "url", target, how)
    assert response.status_code == 302
    location = response.headers["Location"]
    assert resolves_on_site(location, "/admin/categories/edit/"), location
    assert not as_a_browser_reads(location).startswith("//"), location
    assert not urlsplit(location).netloc, location


@pytest.mark.parametrize("target", ["//evil.example", "/\\evil.example", "https://evil.example"])
def test_the_portal_login_takes_no_target_at_all(app: Flask, target: str) -> None:
    accounts.publish_terms()
    user, password = accounts.make_registrant()
    client = app.test_client()
    page = client.get("/login", query_string={"next": target})
    response = client.post(
        "/login",
        query_string={"next": target},
        data={"csrf_token": csrf_token(page.text), "email": user.email, "password": password},
    )
    assert response.headers["Location"] == "/login/otp"
    page = client.get("/login/otp", query_string={"next": target})
    response = client.post(
        "/login/otp",
        query_string={"next": target},
        data={"csrf_token": csrf_token(page.text), "code": accounts.otp_of(user.email)},
    )
    assert response.headers["Location"] == "/password/change"
