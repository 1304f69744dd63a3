"""The development mailbox: what would have been sent, when no mail server is configured.

Registered only in development without `MAIL_SERVER`; it does not exist anywhere else.
"""

import re

import sqlalchemy as sa
from flask import Blueprint, abort, render_template
from flask.typing import ResponseReturnValue
from markupsafe import Markup, escape

from backoffice.extensions import db
from backoffice.mail.models import OutboundEmail
from backoffice.mail.outbox import readable

bp = Blueprint("devmail", __name__, url_prefix="/dev/mailbox")


@bp.get("/")
def index() -> ResponseReturnValue:
    """The newest 100 emails in the outbox."""
    emails = db.session.scalars(
        sa.select(OutboundEmail).order_by(OutboundEmail.id.desc()).limit(100)
    ).all()
    return render_template("dev/mailbox.html", emails=emails)


@bp.get("/<int:email_id>")
def show(email_id: int) -> ResponseReturnValue:
    """One email, text part as sent (its addresses as links) and the HTML part in a sandboxed frame."""
    email = db.session.get(OutboundEmail, email_id) or abort(404)
    text, _html = readable(email)
    return render_template("dev/message.html", email=email, text=_linked(text))


def _linked(text: str) -> Markup:
    """The text, escaped, with each http(s) address a link that opens in a new tab."""
    parts = []
    for piece in _URL.split(text):
        if _URL.fullmatch(piece):
            parts.append(
                Markup('<a href="{0}" target="_blank" rel="noopener">{0}</a>').format(piece)
            )
        else:
            parts.append(escape(piece))
    return Markup("").join(parts)


_URL = re.compile(r"(https?://[^\s<>\"）」]+)")


@bp.get("/<int:email_id>/html")
def html(email_id: int) -> ResponseReturnValue:
    email = db.session.get(OutboundEmail, email_id) or abort(404)
    # Served as its own sandboxed document: no scripts, and only this mailbox may frame it. Its links
    # open in a new tab, outside the sandbox: inside the frame the site's pages refuse to be framed.
    html = readable(email)[1]
    head = re.search(r"<head(\s[^>]*)?>", html, re.I)
    base = '<base target="_blank">'
    html = html[: head.end()] + base + html[head.end() :] if head else base + html
    return (
        html,
        200,
        {
            "Content-Type": "text/html; charset=utf-8",
            "Content-Security-Policy": "sandbox allow-popups allow-popups-to-escape-sandbox; "
            "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'self'",
            "X-Frame-Options": "SAMEORIGIN",
        },
    )
