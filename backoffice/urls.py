"""Absolute URLs for links that leave the site (emails)."""

from flask import current_app, url_for


def external_url(endpoint: str, **values: object) -> str:
    """`PUBLIC_URL` + the endpoint's path when configured (needed outside a request), else the request's
    own scheme and host."""
    if base := current_app.config["PUBLIC_URL"]:
        return base.rstrip("/") + url_for(endpoint, **values)
    return url_for(endpoint, _external=True, **values)
