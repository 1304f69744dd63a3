"""Running it at national scale (docs/deploy.md): one scrape of /metrics, as Prometheus makes on each
app server every 15 s, and `flask retention apply` over the loaded tickets, the first time (a year of
finished tickets past their period) and the next day (nothing due).

Run by `make bench` after every other measurement, because the retention erases the contact fields
of the database's old tickets; `python -m bench.operations` runs it alone (on DATABASE_URL, or on a
throwaway cluster it loads first) and rewrites its section of docs/performance.md.
"""

import json
import os
import time
from datetime import timedelta
from typing import Any

import sqlalchemy as sa

from bench import docs
from bench.client import percentile
from bench.infra import Mailbox, app_env, database, free_port, in_process_app, log

TOKEN = "bench-metrics-token-0123456789abcdef"


def measure(env: dict[str, str], scrapes: int = 100) -> dict[str, Any]:
    app = in_process_app({**env, "FLASK_METRICS_TOKEN": TOKEN})
    client = app.test_client()
    headers = {"Authorization": f"Bearer {TOKEN}", "Host": "localhost"}
    times = []
    for i in range(scrapes + 10):
        started = time.perf_counter()
        response = client.get("/metrics", headers=headers)
        if response.status_code != 200 or b"kip_database_up 1.0" not in response.data:
            raise SystemExit(f"/metrics: HTTP {response.status_code}")
        if i >= 10:  # the first ones warm the caches
            times.append((time.perf_counter() - started) * 1000)
    result: dict[str, Any] = {"metrics_p95_ms": round(percentile(times, 95), 1)}

    from backoffice.db import utcnow
    from backoffice.extensions import db
    from backoffice.inquiries.models import Inquiry
    from backoffice.retention.operations import apply

    with app.app_context():
        days = app.config["RETENTION_INQUIRY_DAYS"]
        result["tickets"] = db.session.scalar(sa.select(sa.func.count()).select_from(Inquiry))
        started = time.perf_counter()
        first = apply()
        result["first_seconds"] = round(time.perf_counter() - started, 1)
        result["first_erased"] = first.tickets
        result["first_per_s"] = round(first.tickets / max(result["first_seconds"], 0.001))
        started = time.perf_counter()
        again = apply(now=utcnow() + timedelta(days=1))
        result["daily_seconds"] = round(time.perf_counter() - started, 2)
        result["daily_erased"] = again.tickets
        result["period_days"] = days
        db.session.remove()
    return result


def table(r: dict[str, Any]) -> str:
    return "\n".join(
        [
            "| what | measured |",
            "|---|---|",
            f"| `/metrics` scraped (in process, {r['tickets']:,} tickets) | p95 {r['metrics_p95_ms']} ms |",
            f"| `flask retention apply`, first run ({r['period_days']} days) | {r['first_erased']:,} tickets "
            f"erased in {r['first_seconds']} s ({r['first_per_s']:,} /s) |",
            f"| `flask retention apply`, the next day | {r['daily_erased']:,} erased in {r['daily_seconds']} s |",
        ]
    )


def main() -> None:
    from bench.run import RESULTS, prepare

    tickets = int(os.environ.get("BENCH_TICKETS", "1000000"))
    url, cluster = database()
    mailbox = Mailbox().start()
    try:
        env = app_env(url, mailbox.port, free_port())
        prepare(env, url, tickets)
        log("operations: /metrics and the retention")
        result = measure(env)
        log(f"  {result}")
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "operations.json").write_text(json.dumps(result, indent=2) + "\n")
        docs.write_section("operations", table(result))
    finally:
        mailbox.stop()
        if cluster is not None:
            cluster.stop()


if __name__ == "__main__":
    main()
