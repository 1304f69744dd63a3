"""Absolute URLs for links that leave the site (emails)."""

from flask import current_app, url_for


def external_url(endpoint: str, **values: object) -> str:
    """`PUBLIC_URL` + the endpoint's path: never the request's Host header, which anyone can set."""
    # The path only: outside a request with SERVER_NAME set, url_for would otherwise add a host too.
    return current_app.config["PUBLIC_URL"].rstrip("/") + url_for(
        endpoint, _external=False, **values
    )
