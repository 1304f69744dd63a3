"""The top page and the health check."""

import sqlalchemy as sa
from flask import Blueprint, jsonify, render_template
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import SQLAlchemyError

from backoffice.extensions import db, limiter

bp = Blueprint("public", __name__)


@bp.get("/")
def index() -> ResponseReturnValue:
    """トップページ: what this site is for and where each kind of user starts."""
    return render_template("index.html")


@bp.get("/flows")
def flows() -> ResponseReturnValue:
    """利用登録の流れ: the two official step tables (docs/flows.md) as checklists."""
    return render_template("flows.html")


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
