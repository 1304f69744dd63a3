"""Security headers on every response (docs/security.md)."""

import secrets

from flask import Flask, g
from flask.wrappers import Response

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def csp_nonce() -> str:
    """A nonce for this response's own <script>/<style> tags (Flask-Admin's templates use them)."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


def _policy() -> str:
    if "csp_nonce" not in g:
        return CSP
    nonce = f"'nonce-{g.csp_nonce}'"
    return CSP.replace("script-src 'self'", f"script-src 'self' {nonce}").replace(
        "style-src 'self'", f"style-src 'self' {nonce}"
    )


def init_app(app: Flask) -> None:
    development = app.config["DEVELOPMENT"] or app.testing

    @app.after_request
    def set_headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", _policy())
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        # A page opened from another site gets no handle on ours (window.opener), and ours none on it.
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if not development:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        return response
