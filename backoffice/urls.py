"""Absolute URLs for links that leave the site (emails)."""

from flask import current_app


def external_url(endpoint: str, **values: object) -> str:
    """`PUBLIC_URL` + the endpoint's path: never the request's Host header, which anyone can set. Built
    from the URL map alone, so that it is the same in a request and in a worker or command (`flask mail
    receive`, `flask tickets sweep`), where Flask's url_for would need SERVER_NAME."""
    adapter = current_app.url_map.bind("public-url")  # the host is never used: the path only
    path = adapter.build(endpoint, {k: v for k, v in values.items() if v is not None})
    return current_app.config["PUBLIC_URL"].rstrip("/") + path
