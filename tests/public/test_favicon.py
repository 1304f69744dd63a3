"""The site's icon: every page names it, and the old address answers (no 404 on every page load)."""


def test_pages_name_the_icon_and_the_old_address_serves_it(client) -> None:
    for url in ("/", "/inquiry", "/login", "/admin/login"):
        assert '<link rel="icon" href="/static/icons/favicon.svg"' in client.get(url).text, url
    with client.get("/static/icons/favicon.svg") as svg:
        assert svg.status_code == 200
    with client.get("/favicon.ico") as icon:
        assert icon.status_code == 200
        assert icon.mimetype == "image/vnd.microsoft.icon"
        assert icon.data[:4] == b"\x00\x00\x01\x00"  # an ICO file's header
