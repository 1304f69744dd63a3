"""The floor: the least a Flask app can do for the same browser round trip as the inquiry form.

Same URLs and steps as /inquiry (GET the form, POST it, GET 確認, POST 送信, GET 完了), a CSRF token in the
session, the draft in the signed cookie, and the same `inquiries` row inserted through SQLAlchemy. No
validation, normalisation, templates, rate limits, history, outbox or server-side draft. The benchmark
runs it under the same gunicorn settings as the app:

    gunicorn --workers 2 'bench.floor:create_app()'
"""

import hashlib
import os
import secrets
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import Flask, abort, redirect, request, session
from markupsafe import escape
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from backoffice.config import _sqlalchemy_url

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
FORM = """<!doctype html><title>お問い合わせ</title><form method="post">
<input id="csrf_token" name="csrf_token" type="hidden" value="{csrf}">
<input name="name"><textarea name="body"></textarea><button>確認</button></form>"""
CONFIRM = """<!doctype html><title>確認</title><p>{name}</p><form method="post">
<input id="csrf_token" name="csrf_token" type="hidden" value="{csrf}">
<input id="submission_key" name="submission_key" type="hidden" value="{key}"><button>送信</button></form>"""


def create_app() -> Flask:
    app = Flask(__name__)
    app.secret_key = os.environ["SECRET_KEY"]
    engine = sa.create_engine(_sqlalchemy_url(os.environ["DATABASE_URL"]), pool_pre_ping=True)
    inquiries = sa.Table("inquiries", sa.MetaData(), autoload_with=engine)
    app.extensions["floor_engine"] = engine

    def csrf() -> str:
        if "csrf" not in session:
            session["csrf"] = secrets.token_urlsafe(32)
        return session["csrf"]

    def check_csrf() -> None:
        if not secrets.compare_digest(request.form.get("csrf_token", ""), session.get("csrf", "")):
            abort(400)

    @app.get("/inquiry")
    def form() -> str:
        return FORM.format(csrf=csrf())

    @app.post("/inquiry")
    def save() -> object:
        check_csrf()
        return keep_draft(request.form.items())

    @app.route("/inquiry/confirm", methods=["GET", "POST"])
    def confirm() -> object:
        draft = session.get("draft")
        if draft is None:
            return redirect("/inquiry")
        if request.method == "GET":
            return CONFIRM.format(csrf=csrf(), key=session["key"], name=escape(draft.get("name")))
        check_csrf()
        reference = reference_number()
        with Session(engine) as db, db.begin():
            db.execute(inquiries.insert().values(row(draft, reference, session["key"])))
        return sent(reference)

    @app.get("/inquiry/complete")
    def complete() -> str:
        return f"<!doctype html><title>完了</title><p>受付番号 {escape(session.get('sent'))}</p>"

    return app


def keep_draft(fields: Iterable[tuple[str, Any]]) -> Response:
    """入力 → 確認, as both floors do it: the draft in the signed cookie with a fresh submission key."""
    session["draft"] = {k: v for k, v in fields if k != "csrf_token"}
    session["key"] = secrets.token_hex(32)
    return redirect("/inquiry/confirm")


def sent(reference: str) -> Response:
    """送信 → 完了, once the row is in: the draft forgotten, the 受付番号 kept for 完了."""
    session.pop("draft")
    session["sent"] = reference
    return redirect("/inquiry/complete")


def reference_number() -> str:
    number = "".join(secrets.choice(ALPHABET) for _ in range(8))
    return f"{number[:4]}-{number[4:]}"


def row(draft: dict[str, str], reference: str, submission_key: str) -> dict[str, object]:
    """The `inquiries` row both floors insert for a draft (what the app stores, without normalising)."""
    now = datetime.now(UTC).replace(tzinfo=None)
    return {
        "reference_number": reference,
        "submission_key": submission_key,
        "status_token_hash": hashlib.sha256(secrets.token_bytes(32)).hexdigest(),
        "category_id": int(draft.get("category") or 0),
        "status": "new",
        "requester_name": draft.get("name") or "",
        "requester_kana": draft.get("name_kana") or "",
        "organization_name": draft.get("organization"),
        "email": draft.get("email") or "",
        "phone": "".join(c for c in draft.get("phone") or "" if c.isdigit())[:11],
        "body": draft.get("body") or "",
        "priority": "normal",
        "due_on": (now + timedelta(days=7)).date(),
        "created_at": now,
        "updated_at": now,
        "version": 1,
    }
