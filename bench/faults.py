"""`make faults`: what the app does when PostgreSQL restarts under load, when a worker is killed in
the middle of a request, when the IMAP server stops in the middle of a fetch, and when a mail fetcher
is killed in the middle of a batch (bench/inbound_load.py). Each check prints its verdict and writes the "faults" section of
docs/performance.md and bench/results/faults.json. (The SMTP outage is part of `make soak`.)

Both run on a throwaway PostgreSQL cluster of their own (the restart needs one this script controls),
with a small data set, the app under gunicorn, and browsers from bench.client.
"""

import json
import os
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from bench import docs, scenarios
from bench.client import Browser, run_parallel
from bench.inbound_load import fetcher_killed, imap_restart
from bench.infra import ROOT, Gunicorn, Mailbox, app_env, database, libpq_url, log
from bench.run import prepare
from tests.postgres import free_port

TICKETS = 4000  # enough open tickets for the inbound replies
JAPANESE_ERROR = "申し訳ありません"
# How a failed step names its page (bench.client shows the <title>): the product's 503 page, and the bare
# English 500 of gunicorn ("Internal Server Error") or Flask ("500 Internal Server Error").
JAPANESE_503 = "HTTP 503: 申し訳ありません。ただいまサービスを利用できません"
ENGLISH_500 = "Internal Server Error"


def main() -> None:
    os.environ.pop("DATABASE_URL", None)  # always a cluster of our own: this script restarts it
    url, cluster = database("faults")
    assert cluster is not None
    try:
        mailbox = Mailbox().start()
        port = free_port()
        env = app_env(url, mailbox.port, port)
        prepare(env, url, TICKETS)
        scenarios.choose_category(libpq_url(url))
        results = {
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "postgres_restart": postgres_restart(cluster, env, port, url),
            "worker_killed": worker_killed(env, port, url),
            "imap_restart": imap_restart(env, url),
            "fetcher_killed": fetcher_killed(env, url),
        }
        results["passed"] = all(r["passed"] for r in results.values() if isinstance(r, dict))
        (ROOT / "bench" / "results").mkdir(exist_ok=True)
        (ROOT / "bench" / "results" / "faults.json").write_text(
            json.dumps(results, indent=2, ensure_ascii=False) + "\n"
        )
        docs.write_section("faults", faults_table(results))
        log(f"faults: {'passed' if results['passed'] else 'FAILED'}")
        if not results["passed"]:
            raise SystemExit(1)
    finally:
        cluster.stop()


def consistency(url: str) -> dict[str, int]:
    """Rows that a half-written inquiry would leave behind (each must be 0), and counter drift."""
    with psycopg.connect(libpq_url(url)) as conn:
        one = lambda sql: int(conn.execute(sql).fetchone()[0])  # noqa: E731
        return {
            "inquiries without their history": one(
                "SELECT count(*) FROM inquiries i WHERE NOT EXISTS "
                "(SELECT 1 FROM inquiry_events e WHERE e.inquiry_id = i.id AND e.kind = 'created')"
            ),
            "inquiries without their acknowledgement": one(
                f"SELECT count(*) FROM inquiries i WHERE i.id > {TICKETS} AND NOT EXISTS (SELECT 1 "
                "FROM outbound_emails m WHERE m.subject LIKE '%' || i.reference_number || '%')"
            ),
            "status counters off by": one(
                "SELECT coalesce(sum(abs(c.count - coalesce(a.n, 0))), 0) FROM inquiry_status_counts c "
                "LEFT JOIN (SELECT status, count(*) n FROM inquiries GROUP BY status) a "
                "ON a.status = c.status"
            ),
        }


def postgres_restart(cluster: Any, env: dict[str, str], port: int, url: str) -> dict[str, Any]:
    """Send inquiries from four browsers; five seconds in, restart PostgreSQL (fast shutdown: open
    connections are cut). Requests in flight must fail with the Japanese 503 page (never a bare English
    500), later ones must succeed without restarting the app, and no inquiry may be half-written."""
    log("faults: PostgreSQL restart under load")
    restarted: dict[str, float] = {}

    def restart() -> None:
        restarted["at"] = time.monotonic()
        cluster.restart()
        restarted["back"] = time.monotonic()
        log(f"  PostgreSQL restarted in {restarted['back'] - restarted['at']:.1f} s")

    with Gunicorn("wsgi:app", env, port, os.cpu_count() or 1) as app:
        timer = threading.Timer(5, restart)
        timer.start()
        run = run_parallel(scenarios.submit, app.port, clients=4, seconds=20)
        timer.join()
        after = scenarios.submit(Browser(app.port), 10**8)
    statuses = run.statuses()
    failed = [s for s in run.samples if s.error]
    error_pages = [s for s in failed if any(status >= 500 for _n, status, _ms in s.steps)]
    japanese = sum(1 for s in failed if JAPANESE_ERROR in (s.error or ""))
    japanese_503 = sum(1 for s in failed if JAPANESE_503 in (s.error or ""))
    english_500 = sum(1 for s in failed if ENGLISH_500 in (s.error or ""))
    with psycopg.connect(libpq_url(url)) as conn:
        stored = {
            r[0]
            for r in conn.execute(
                "SELECT reference_number FROM inquiries WHERE id > %s", (TICKETS,)
            )
        }
    reported = {s.result for s in run.ok} | ({after.result} if after.error is None else set())
    checks = consistency(url)
    result = {
        "scenarios": len(run.samples),
        "requests": sum(statuses.values()),
        "succeeded": len(run.ok),
        "failed": len(failed),
        "failed_with_error_page": len(error_pages),
        "failed_with_japanese_page": japanese,
        "failed_with_japanese_503": japanese_503,
        "failed_with_english_500": english_500,
        "http_statuses": {str(k): v for k, v in sorted(statuses.items())},
        "errors": Counter((s.error or "")[:80] for s in failed).most_common(5),
        "restart_seconds": round(restarted["back"] - restarted["at"], 1),
        "first_request_after_restart_ok": after.error is None,
        "every_reported_inquiry_stored": reported <= stored,
        "consistency": checks,
    }
    result["passed"] = (
        result["failed"] == japanese_503
        and english_500 == 0
        and after.error is None
        and reported <= stored
        and not any(checks.values())
    )
    log(f"  {json.dumps(result, ensure_ascii=False)}")
    return result


def worker_killed(env: dict[str, str], port: int, url: str) -> dict[str, Any]:
    """Hold a lock on the outbox table, so that a 送信 stops half-way through its transaction (the
    inquiry and its history written, the acknowledgement not yet); kill -9 the worker serving it;
    release the lock. The transaction must be gone, gunicorn must start a new worker, and sending the
    same draft again must make exactly one inquiry."""
    log("faults: worker killed in the middle of a request")
    dsn = libpq_url(url)
    with Gunicorn("wsgi:app", env, port, os.cpu_count() or 1) as app:
        browser = Browser(port, timeout=30)
        page = browser.get("/inquiry")
        data = {**scenarios.inquiry_data(424242), "csrf_token": page.csrf()}
        browser.expect(browser.post("/inquiry", data), 302)
        confirm = browser.expect(browser.get("/inquiry/confirm"), 200)
        fields = {
            "csrf_token": confirm.csrf(),
            "submission_key": scenarios.SUBMISSION_KEY.search(confirm.body).group(1),
        }
        outcome: dict[str, Any] = {}
        with psycopg.connect(dsn) as locker:
            locker.execute("LOCK TABLE outbound_emails IN ACCESS EXCLUSIVE MODE")
            sender = threading.Thread(target=_send, args=(browser, fields, outcome))
            sender.start()
            backend_port = _wait_for_blocked_backend(dsn)
            victim = _pid_with_local_port(app.worker_pids(), backend_port)
            before = app.worker_pids()
            os.kill(victim, 9)
            sender.join(30)
            locker.rollback()
        time.sleep(2)
        after_workers = app.worker_pids()
        with psycopg.connect(dsn) as conn:
            half = conn.execute(
                "SELECT count(*) FROM inquiries WHERE submission_key = %s",
                (fields["submission_key"],),
            ).fetchone()[0]
        retry = browser.post("/inquiry/confirm", fields)
        with psycopg.connect(dsn) as conn:
            after = conn.execute(
                "SELECT count(*) FROM inquiries WHERE submission_key = %s",
                (fields["submission_key"],),
            ).fetchone()[0]
    checks = consistency(url)
    result = {
        "killed_worker": victim,
        "client_saw": outcome.get("error") or f"HTTP {outcome.get('status')}",
        "inquiry_rows_after_kill": half,
        "replacement_worker_started": len(after_workers) == len(before)
        and victim not in after_workers,
        "resend_status": retry.status,
        "inquiry_rows_after_resend": after,
        "consistency": checks,
    }
    result["passed"] = (
        half == 0
        and result["replacement_worker_started"]
        and retry.status == 302
        and after == 1
        and not any(checks.values())
    )
    log(f"  {json.dumps(result, ensure_ascii=False)}")
    return result


def _send(browser: Browser, fields: dict[str, str], outcome: dict[str, Any]) -> None:
    try:
        outcome["status"] = browser.post("/inquiry/confirm", fields).status
    except OSError as error:
        outcome["error"] = f"{type(error).__name__}: {error}"
    except Exception as error:  # http.client's RemoteDisconnected and friends
        outcome["error"] = f"{type(error).__name__}: {error}"


def _wait_for_blocked_backend(dsn: str, timeout: float = 20) -> int:
    """The client port of the app's connection that waits for the outbox lock."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(dsn, autocommit=True) as conn:
        while time.monotonic() < deadline:
            row = conn.execute(
                "SELECT client_port FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND query ILIKE 'INSERT INTO outbound_emails%'"
            ).fetchone()
            if row:
                return row[0]
            time.sleep(0.05)
    raise SystemExit("no request reached the outbox insert")


def _pid_with_local_port(pids: list[int], local_port: int) -> int:
    """Which of `pids` owns the TCP socket bound to 127.0.0.1:`local_port` (from /proc)."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].split(":")[1], 16) == local_port:
            inodes.add(fields[9])
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:[") and target[8:-1] in inodes:
                return pid
    raise SystemExit(f"no worker owns the connection from port {local_port}")


def faults_table(r: dict[str, Any]) -> str:
    pg, kill = r["postgres_restart"], r["worker_killed"]
    mark = lambda ok: "✅" if ok else "❌"  # noqa: E731
    return "\n".join(
        [
            f"Run {r['date']} (`bench/results/faults.json`). Result: **{'passed' if r['passed'] else 'FAILED'}**.",
            "",
            "| Fault | What happened | Met |",
            "|---|---|---|",
            f"| PostgreSQL restarted (fast shutdown) 5 s into 20 s of inquiries from 4 browsers | "
            f"{pg['scenarios']} sends, {pg['succeeded']} completed, {pg['failed']} failed — "
            f"{pg['failed_with_japanese_503']} of them with the Japanese 503 page, "
            f"{pg['failed_with_english_500']} with a bare English 500; restart took "
            f"{pg['restart_seconds']} s; the next send after it worked: "
            f"{'yes' if pg['first_request_after_restart_ok'] else 'no'}; every 受付番号 shown is stored: "
            f"{'yes' if pg['every_reported_inquiry_stored'] else 'no'}; half-written rows: "
            f"{sum(pg['consistency'].values())} | {mark(pg['passed'])} |",
            f"| Worker killed (SIGKILL) while its 送信 waited inside the transaction | the browser saw "
            f"“{kill['client_saw']}”; inquiry rows for that draft afterwards: "
            f"{kill['inquiry_rows_after_kill']}; gunicorn started a new worker: "
            f"{'yes' if kill['replacement_worker_started'] else 'no'}; sending the same draft again: "
            f"HTTP {kill['resend_status']}, {kill['inquiry_rows_after_resend']} inquiry; half-written rows: "
            f"{sum(kill['consistency'].values())} | {mark(kill['passed'])} |",
            *(
                f"| {label} | {r[key]['replies']} replies; all taken in: "
                f"{'yes' if r[key]['all_taken_in'] else 'no'}; each on its ticket exactly once: "
                f"{'yes' if r[key]['each_on_its_ticket_once'] else 'no'}; left in the inbox: "
                f"{r[key]['left_in_inbox']}, in the processed folder: {r[key]['in_processed_folder']}; "
                f"the fetchers kept running: {'yes' if r[key]['fetchers_alive'] else 'no'} | "
                f"{mark(r[key]['passed'])} |"
                for key, label in (
                    (
                        "imap_restart",
                        "IMAP server (Dovecot) stopped for 3 s while replies arrive "
                        "and one `mail fetch --loop` takes them in",
                    ),
                    (
                        "fetcher_killed",
                        "One of two `mail fetch --loop` killed (SIGKILL) in the middle of a batch",
                    ),
                )
                if key in r
            ),
            "",
            "HTTP statuses during the restart run: "
            + ", ".join(f"{k}: {v}" for k, v in pg["http_statuses"].items())
            + ".",
        ]
    )


if __name__ == "__main__":
    main()
