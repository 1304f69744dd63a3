"""The top page and the health check."""

import sqlalchemy as sa
from flask import Blueprint, jsonify, render_template, send_from_directory
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import SQLAlchemyError

from backoffice.extensions import db, limiter
from backoffice.paths import STATIC

bp = Blueprint("public", __name__)


@bp.get("/")
def index() -> ResponseReturnValue:
    """トップページ: what this site is for and where each kind of user starts."""
    return render_template("index.html")


@bp.get("/flows")
def flows() -> ResponseReturnValue:
    """利用登録の流れ: the two official step tables (docs/flows.md) as checklists."""
    return render_template("flows.html")


@bp.get("/accessibility")
def accessibility() -> ResponseReturnValue:
    """アクセシビリティ方針: the conformance target and how the pages are tested."""
    return render_template("accessibility.html")


@bp.get("/favicon.ico")
@limiter.exempt
def favicon() -> ResponseReturnValue:
    """The site's icon where a client asks the old address instead of reading the pages' <link>."""
    return send_from_directory(
        STATIC / "icons", "favicon.ico", mimetype="image/vnd.microsoft.icon", max_age=86400
    )


@bp.get("/healthz")
@limiter.exempt
def healthz() -> ResponseReturnValue:
    """200 when the database answers, 503 when it does not (for load balancers and monitoring)."""
    try:
        db.session.execute(sa.text("SELECT 1"))
    except SQLAlchemyError:
        db.session.rollback()
        return jsonify(status="error", database="unreachable"), 503
    return jsonify(status="ok", database="ok")
