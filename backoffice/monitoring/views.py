"""`/metrics` for Prometheus: answered only with the bearer token of METRICS_TOKEN (a list allows
two during a rotation); without one configured, there is no such page."""

import hmac

from flask import Blueprint, abort, current_app, request
from flask.typing import ResponseReturnValue

from backoffice.extensions import limiter
from backoffice.monitoring import metrics

bp = Blueprint("monitoring", __name__)


@bp.get("/metrics")
@limiter.exempt
def metrics_page() -> ResponseReturnValue:
    tokens = current_app.config["METRICS_TOKEN"]
    if not tokens:
        abort(404)
    if isinstance(tokens, str):
        tokens = [tokens]
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    given_bytes = given.strip().encode()
    # Every token is compared, so the time taken says nothing about which one nearly matched.
    matches = [hmac.compare_digest(given_bytes, str(t).encode()) for t in tokens]
    if scheme.lower() != "bearer" or not any(matches):
        return (
            "認証が必要です。\n",
            401,
            {
                "WWW-Authenticate": 'Bearer realm="metrics"',
                "Content-Type": "text/plain; charset=utf-8",
            },
        )
    return metrics.exposition()
