"""`make bench`: national-scale data on PostgreSQL, the app under gunicorn, a load generator on loopback.

Writes bench/results/latest.json and the generated parts of docs/performance.md (the results) and
docs/query-plans.md (the plans). Settings (environment): BENCH_TICKETS (1,000,000), BENCH_SECONDS per
throughput run (30), BENCH_SAMPLES per page (100), DATABASE_URL (else a throwaway PostgreSQL cluster),
BENCH_RELOAD=1 (load again into DATABASE_URL).
"""

import csv
import io
import json
import os
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import sqlalchemy as sa

from backoffice.display import JST
from bench import dataset, directory_import, docs, inbound, operations, scenarios, steps
from bench.client import Browser, Run, percentile, run_parallel
from bench.infra import (
    ROOT,
    CpuShare,
    Gunicorn,
    Mailbox,
    PeakMemory,
    app_env,
    database,
    flask,
    in_process_app,
    libpq_url,
    log,
    machine,
    rss_mb,
)
from tests.postgres import free_port

RESULTS = ROOT / "bench" / "results"
TARGETS = {
    # The form against the stack floor (the same stack, none of the product), since issue 26.
    "submit_ratio": 0.5,
    "list_p95_ms": 100,
    "dashboard_p95_ms": 200,
    "csv_peak_rss_mb": 200,
    "inbound_fetch_per_s": 50,
    "report_p95_ms": 500,
    "account_p95_ms": 100,
    "login_server_ms": 15,
}


def main() -> None:
    tickets = int(os.environ.get("BENCH_TICKETS", "1000000"))
    seconds = float(os.environ.get("BENCH_SECONDS", "30"))
    samples = int(os.environ.get("BENCH_SAMPLES", "100"))
    workers = os.cpu_count() or 1
    url, cluster = database()
    # The screenshots sent during the run are stored here, and gone with it.
    attachments = tempfile.TemporaryDirectory(prefix="kip-bench-attachments-")
    try:
        mailbox = Mailbox().start()
        app_port = free_port()
        env = app_env(url, mailbox.port, app_port, FLASK_ATTACHMENT_FOLDER=attachments.name)
        prepare(env, url, tickets)
        results: dict[str, Any] = {
            "machine": machine(url),
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "tickets": tickets,
            "workers": workers,
        }
        # The list pages' search terms are read from the data once, for the timings and the plans.
        pages = {
            **list_urls(url),
            "dashboard": "/admin/",
            **account_urls(url),
            **report_urls(url),
            **funnel_urls(env),
        }
        with Gunicorn("wsgi:app", env, app_port, workers) as app:
            results.update(measure_app(app, mailbox, seconds, samples, url, pages))
        results["inbound"] = inbound.measure(env, url, workers)
        results["import"] = directory_import.measure(env)
        for key, target in (
            ("floor", "bench.floor:create_app()"),
            ("stack_floor", "bench.stack_floor:create_app()"),
        ):
            run, cpu = measure_floor(key, target, env, workers, seconds)
            results["submit"][f"{key}_machine_ms"] = cpu.per(len(run.ok))
            results["submit"][f"{key}_rps"] = round(run.rps, 1)
            results["submit"][f"{key}_p50_ms"] = round(run.percentile(50), 1)
            results["submit"][f"{key}_p95_ms"] = round(run.percentile(95), 1)
        results["submit"]["ratio"] = round(
            results["submit"]["rps"] / results["submit"]["floor_rps"], 2
        )
        results["submit"]["stack_floor_ratio"] = round(
            results["submit"]["stack_floor_rps"] / results["submit"]["floor_rps"], 2
        )
        results["submit"]["ratio_to_stack_floor"] = round(
            results["submit"]["rps"] / results["submit"]["stack_floor_rps"], 2
        )
        log("app and floors: CPU time of each step, in this process")
        results["submit"]["cpu_ms"] = steps.measure(env)
        log(f"  {results['submit']['cpu_ms']}")
        results["targets"] = TARGETS
        results["met"] = targets_met(results)
        plans = explain(env, {k: v for k, v in pages.items() if not k.startswith(ACCOUNT_PREFIXES)})
        # Last: the retention erases the contact fields of the database's old tickets.
        log("operations: /metrics and the retention")
        results["operations"] = operations.measure(env)
        docs.write_section("operations", operations.table(results["operations"]))
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "latest.json").write_text(
            json.dumps(results, indent=2, ensure_ascii=False) + "\n"
        )
        docs.write_section("results", docs.results_table(results))
        docs.write_section("plans", plans)
        log(f"wrote {RESULTS / 'latest.json'}: {json.dumps(results['met'])}")
    finally:
        attachments.cleanup()
        if cluster is not None:
            cluster.stop()


def prepare(env: dict[str, str], url: str, tickets: int) -> None:
    """Migrate, then load the data set unless this database already holds it (bench rows of an earlier
    run are removed first, so every run starts from the same `tickets`)."""
    dsn = libpq_url(url)
    if os.environ.get("BENCH_RELOAD") == "1":
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    flask(env, "db", "upgrade")
    with psycopg.connect(dsn, autocommit=True) as conn:
        for table in ("inquiry_events", "inquiry_account_requests"):
            conn.execute(f"DELETE FROM {table} WHERE inquiry_id > %s", (tickets,))
        if conn.execute("DELETE FROM inquiries WHERE id > %s", (tickets,)).rowcount:
            # As after a load: the deleted tickets leave dead rows that autovacuum, at a fifth of a
            # million-row table, would not visit for hundreds of runs.
            for table in ("inquiries", "inquiry_events", "inquiry_account_requests"):
                conn.execute(f"VACUUM (ANALYZE) {table}")
        for table in (
            "inbound_emails",
            "outbound_emails",
            "inquiry_drafts",
            "otp_challenges",
            "portal_sessions",
            "operator_sessions",
            "audit_events",
        ):
            conn.execute(f"TRUNCATE {table} CASCADE")
        conn.execute("UPDATE operators SET totp_last_step = 0")
        loaded = conn.execute("SELECT count(*) FROM inquiries").fetchone()[0]
    if loaded == tickets:
        with psycopg.connect(dsn) as conn:
            if not conn.execute("SELECT count(*) FROM onboarding_progress").fetchone()[0]:
                raise SystemExit(
                    "the database was loaded before the onboarding funnel: set BENCH_RELOAD=1"
                )
        log(f"using the {tickets:,} tickets already loaded")
        dataset.recount(
            in_process_app(env)
        )  # the earlier run's tickets were deleted around the ORM
        return
    if loaded:
        raise SystemExit(
            f"the database holds {loaded:,} tickets, not {tickets:,}: set BENCH_RELOAD=1 to reload it"
        )
    log(
        f"loading {tickets:,} tickets, {dataset.ORGANIZATIONS:,} organizations, "
        f"{dataset.ORGANIZATIONS * dataset.USERS_PER_ORGANIZATION:,} portal users"
    )
    dataset.load(in_process_app(env), tickets, log=log)


def list_urls(url: str) -> dict[str, str]:
    """The ticket list as operators use it; search terms are taken from the data."""
    with psycopg.connect(libpq_url(url)) as conn:
        category, status = conn.execute(
            "SELECT i.category_id, 'new' FROM inquiries i JOIN inquiry_categories c "
            "ON c.id = i.category_id WHERE c.kind = 'general' LIMIT 1"
        ).fetchone()
        ticket, number, name = conn.execute(
            "SELECT id, reference_number, requester_name FROM inquiries WHERE id = %s",
            (conn.execute("SELECT max(id) / 3 FROM inquiries").fetchone()[0],),
        ).fetchone()
        email = dataset.inquiry_email(12345)
        # The broadest searches and filter an operator can type or pick: the commonest surname alone
        # (about 25,000 matches) and the commonest status (about two thirds of all tickets).
        surname, broad_status, assignee = conn.execute(
            "SELECT (SELECT split_part(requester_name, ' ', 1) FROM inquiries "
            "GROUP BY 1 ORDER BY count(*) DESC LIMIT 1), "
            "(SELECT status FROM inquiry_status_counts ORDER BY count DESC LIMIT 1), "
            "(SELECT assignee_id FROM inquiries WHERE assignee_id IS NOT NULL "
            "GROUP BY 1 ORDER BY count(*) DESC LIMIT 1)"
        ).fetchone()
        me = conn.execute(
            "SELECT id FROM operators WHERE email = %s", (dataset.BENCH_OPERATOR,)
        ).fetchone()[0]
    base = "/admin/tickets/"
    return {
        "first_page": base,
        "filtered": scenarios.quoted(base, flt0_0=status, flt1_2=str(category)),
        "filtered_broad": scenarios.quoted(base, flt0_0=broad_status),
        # One operator's tickets (担当者, the fourth filter), the operator with the most.
        "filtered_assignee": scenarios.quoted(base, flt0_3=str(assignee)),
        # 未回答 (the sixth filter), which the dashboard links to.
        "filtered_unanswered": scenarios.quoted(base, flt0_5="1"),
        # 依頼者から返信あり (the seventh filter), which the dashboard links to.
        "filtered_replied": scenarios.quoted(base, flt0_6="1"),
        "search_number": scenarios.quoted(base, search=number),
        "search_text": scenarios.quoted(base, search=name),
        "search_surname": scenarios.quoted(base, search=surname),
        "search_email": scenarios.quoted(base, search=email),
        # A word of the inquiries' bodies (in about a tenth of them), four characters from the middle
        # of a 受付番号, and two characters inside institutions' names (「内科」, about one in twenty).
        "search_body": scenarios.quoted(base, search="ワンタイム"),
        "search_number_part": scenarios.quoted(base, search=number.replace("-", "")[2:6]),
        "search_short": scenarios.quoted(base, search="内科"),
        "deep_page": scenarios.quoted(base, page="999"),
        # One ticket's page, with the facts panel the benchmark's operator (管理者) sees.
        "ticket_page": f"{base}{ticket}/",
        # The queues above the list (backoffice/inquiries/queues.py), as their links make them:
        # 担当者 is the fourth filter, 未完了 the tenth, 期限が近い and ID発行申請 after it.
        "queue_mine": scenarios.quoted(base, flt0_3=str(me), flt1_9="1"),
        "queue_unassigned": scenarios.quoted(base, flt0_3="none", flt1_9="1"),
        "queue_due_soon": scenarios.quoted(base, flt0_10="1"),
        "queue_overdue": scenarios.quoted(base, flt0_4="1"),
        "queue_requests": scenarios.quoted(base, flt0_11="1"),
        # 目標超過 (the thirteenth filter): either kind, and the tickets running late now.
        "filtered_target": scenarios.quoted(base, flt0_12="1"),
        "filtered_target_running": scenarios.quoted(base, flt0_12="running"),
    }


def report_urls(url: str) -> dict[str, str]:
    """レポート as a supervisor opens it: the default, a quarter, a year, and a year of one 大カテゴリー
    (the largest)."""
    today = datetime.now(JST).date()
    with psycopg.connect(libpq_url(url)) as conn:
        major = conn.execute(
            "SELECT c.parent_id FROM inquiries i JOIN inquiry_categories c ON c.id = i.category_id "
            "WHERE i.id % 100 = 0 GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
        ).fetchone()[0]
    base = "/admin/reports/"
    year = {"start": (today - timedelta(days=364)).isoformat(), "end": today.isoformat()}
    return {
        "report_default": base,
        "report_quarter": scenarios.quoted(
            base,
            start=(today - timedelta(days=90)).isoformat(),
            end=today.isoformat(),
            grain="week",
        ),
        "report_year": scenarios.quoted(base, **year, grain="month"),
        "report_category": scenarios.quoted(base, **year, grain="month", major=str(major)),
    }


def funnel_urls(env: dict[str, str]) -> dict[str, str]:
    """オンボーディング as a supervisor opens it — everything, one prefecture's care offices, the
    last quarter — and two of its counts' lists: the directory entries stopped at ※3 and the
    organizations of 東京都 at the end of their flow (the largest drill-down)."""
    today = datetime.now(JST).date()
    app = in_process_app(env)
    with app.test_request_context():
        views = {v.endpoint: v for v in app.extensions["admin"][0]._views}
        entries = views["onboarding"].filter_url(stage="no_security_email")
        organizations = views["organizations"].filter_url(
            stage="users_added", funnel_kind="care_all", prefecture="13"
        )
    base = "/admin/funnel/"
    return {
        "report_funnel_default": base,
        "report_funnel_prefecture": scenarios.quoted(base, kind="care_all", prefecture="13"),
        "report_funnel_quarter": scenarios.quoted(
            base, start=(today - timedelta(days=90)).isoformat(), end=today.isoformat()
        ),
        "report_funnel_entries": entries,
        "report_funnel_organizations": organizations,
    }


# The organizations' and portal users' lists (reported; the issue sets no target for them).
ACCOUNT_PREFIXES = ("users_", "organizations_")
REPORT_PREFIX = "report_"


def account_urls(url: str) -> dict[str, str]:
    """The organizations' and users' lists searched as operators do; the terms come from the data."""
    with psycopg.connect(libpq_url(url)) as conn:
        email, name = conn.execute(
            "SELECT email, name FROM portal_users WHERE id = (SELECT max(id) / 3 FROM portal_users)"
        ).fetchone()
        surname = conn.execute(
            "SELECT split_part(name, ' ', 1) FROM portal_users GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
        ).fetchone()[0]
        number, organization = conn.execute(
            "SELECT office_number, name FROM organizations "
            "WHERE id = (SELECT max(id) / 3 FROM organizations)"
        ).fetchone()
    users, organizations = "/admin/portal_users/", "/admin/organizations/"
    return {
        "users_first_page": users,
        "users_deep_page": scenarios.quoted(users, page="999"),
        "users_email": scenarios.quoted(users, search=email),
        "users_name": scenarios.quoted(users, search=name),
        "users_surname": scenarios.quoted(users, search=surname),
        "organizations_first_page": organizations,
        "organizations_deep_page": scenarios.quoted(organizations, page="999"),
        "organizations_number": scenarios.quoted(organizations, search=number),
        # The start of a name (「ひまわり」), and two characters found anywhere in names (「訪問」).
        "organizations_name": scenarios.quoted(organizations, search=organization[:4]),
        "organizations_short": scenarios.quoted(organizations, search="訪問"),
    }


def measure_app(
    app: Gunicorn,
    mailbox: Mailbox,
    seconds: float,
    samples: int,
    url: str,
    paths: dict[str, str],
) -> dict[str, Any]:
    workers = app.workers
    scenarios.choose_category(libpq_url(url))
    log("app: warming up")
    run_parallel(scenarios.submit, app.port, clients=workers, seconds=3)

    log("app: submitting")
    with CpuShare(app.server_pids()) as cpu:
        submit = run_parallel(scenarios.submit, app.port, clients=2 * workers, seconds=seconds)
    check_run(submit, "submit")
    log(
        f"  {submit.rps:.1f} /s, p50 {submit.percentile(50):.0f} ms, p95 {submit.percentile(95):.0f} ms"
    )
    result: dict[str, Any] = {
        "submit": {
            "rps": round(submit.rps, 1),
            "p50_ms": round(submit.percentile(50), 1),
            "p95_ms": round(submit.percentile(95), 1),
            "clients": 2 * workers,
            "seconds": seconds,
            "machine_ms": cpu.per(len(submit.ok)),
            "steps_p95_ms": {
                step: round(submit.percentile(95, step), 1)
                for step in ("form", "input", "confirm", "send", "complete")
            },
        }
    }

    result["screenshot"] = measure_screenshots(app, seconds)

    log("app: requesters answering on the status page")
    scenarios.choose_status_tickets(libpq_url(url))
    with CpuShare(app.server_pids()) as cpu:
        replies = run_parallel(
            scenarios.status_reply, app.port, clients=2 * workers, seconds=seconds
        )
    check_run(replies, "status_reply")
    log(f"  {replies.rps:.1f} /s, p95 {replies.percentile(95):.0f} ms")
    result["status_reply"] = {
        "rps": round(replies.rps, 1),
        "p50_ms": round(replies.percentile(50), 1),
        "p95_ms": round(replies.percentile(95), 1),
        "machine_ms": cpu.per(len(replies.ok)),
    }

    log("app: operator pages")
    operator = scenarios.operator_sign_in(app.port)
    pages: dict[str, float] = {}
    for name, path in paths.items():
        run_parallel(
            scenarios.page(path),
            app.port,
            clients=1,
            seconds=60,
            cookies=operator.cookies,
            limit_each=3,
        )
        run = run_parallel(
            scenarios.page(path),
            app.port,
            clients=workers,
            seconds=600,
            cookies=operator.cookies,
            limit_each=max(1, samples // workers),
        )
        check_run(run, name)
        pages[name] = round(run.percentile(95), 1)
        log(f"  {name}: p95 {pages[name]} ms")
    result["list"] = {
        "first_page_p95_ms": pages["first_page"],
        "filtered_p95_ms": pages["filtered"],
        "filtered_broad_p95_ms": pages["filtered_broad"],
        "filtered_assignee_p95_ms": pages["filtered_assignee"],
        "filtered_unanswered_p95_ms": pages["filtered_unanswered"],
        "filtered_replied_p95_ms": pages["filtered_replied"],
        "search_number_p95_ms": pages["search_number"],
        "search_text_p95_ms": pages["search_text"],
        "search_surname_p95_ms": pages["search_surname"],
        "search_email_p95_ms": pages["search_email"],
        "search_body_p95_ms": pages["search_body"],
        "search_number_part_p95_ms": pages["search_number_part"],
        "search_short_p95_ms": pages["search_short"],
        "deep_page_p95_ms": pages["deep_page"],
        "filtered_target_p95_ms": pages["filtered_target"],
        "filtered_target_running_p95_ms": pages["filtered_target_running"],
        **{f"{name}_p95_ms": pages[name] for name in paths if name.startswith("queue_")},
    }
    result["dashboard_p95_ms"] = pages["dashboard"]
    result["ticket_page_p95_ms"] = pages["ticket_page"]
    result["reports"] = {
        f"{name}_p95_ms": p95 for name, p95 in pages.items() if name.startswith(REPORT_PREFIX)
    }
    result["accounts"] = {
        f"{name}_p95_ms": p95 for name, p95 in pages.items() if name.startswith(ACCOUNT_PREFIXES)
    }

    log("app: login with one-time password")
    result["login"] = measure_login(app, mailbox)
    log(f"  {result['login']}")

    log("app: CSV export of every ticket")
    result["csv"] = measure_export(app, operator)
    log(f"  {result['csv']}")
    result["worker_rss_mb"] = [round(rss_mb(pid), 1) for pid in app.worker_pids()]
    return result


def measure_screenshots(app: Gunicorn, seconds: float, uploaders: int = 8) -> dict[str, Any]:
    """The form sent with a 2 MB phone screenshot, under the plain form's load; then the workers'
    peak memory while `uploaders` requesters send one at once (each file is streamed to disk)."""
    scenarios.choose_screenshot()
    log("app: submitting with a 2 MB screenshot")
    with CpuShare(app.server_pids()) as cpu:
        run = run_parallel(
            scenarios.submit_with_screenshot, app.port, clients=2 * app.workers, seconds=seconds
        )
    check_run(run, "screenshot")
    log(f"  {run.rps:.1f} /s, p50 {run.percentile(50):.0f} ms, p95 {run.percentile(95):.0f} ms")
    log(f"app: {uploaders} requesters uploading at once")
    before = {pid: rss_mb(pid) for pid in app.worker_pids()}
    with PeakMemory(app.worker_pids()) as memory:
        crowd = run_parallel(
            scenarios.submit_with_screenshot,
            app.port,
            clients=uploaders,
            seconds=min(seconds, 20),
        )
    check_run(crowd, "uploaders")
    log(f"  worker peak {max(memory.peak.values()):.0f} MB (before {max(before.values()):.0f} MB)")
    return {
        "bytes": len(scenarios.SCREENSHOT["attachments"].data),
        "rps": round(run.rps, 1),
        "p50_ms": round(run.percentile(50), 1),
        "p95_ms": round(run.percentile(95), 1),
        "input_p95_ms": round(run.percentile(95, "input"), 1),
        "machine_ms": cpu.per(len(run.ok)),
        "uploaders": uploaders,
        "uploaders_p95_ms": round(crowd.percentile(95), 1),
        "peak_rss_mb": round(max(memory.peak.values()), 1),
        "rss_before_mb": round(max(before.values()), 1),
    }


def measure_floor(
    name: str, target: str, env: dict[str, str], workers: int, seconds: float
) -> tuple[Run, CpuShare]:
    """Send the inquiry form to a floor app under the same gunicorn settings and load as the app
    (warmed up as the app is)."""
    with Gunicorn(target, env, free_port(), workers).start("/inquiry") as floor:
        log(f"{name}: submitting")
        run_parallel(scenarios.submit, floor.port, clients=workers, seconds=3)
        with CpuShare(floor.server_pids()) as cpu:
            run = run_parallel(scenarios.submit, floor.port, clients=2 * workers, seconds=seconds)
        check_run(run, name)
    log(f"  {run.rps:.1f} /s, p50 {run.percentile(50):.0f} ms, p95 {run.percentile(95):.0f} ms")
    return run, cpu


def measure_login(app: Gunicorn, mailbox: Mailbox, count: int = 30) -> dict[str, Any]:
    """Portal login (password, then the emailed one-time password). The server time is the two POSTs
    less one argon2 verification, measured on its own with the app's parameters — one before each
    login, so both see the machine at the same speed (it drifts on a shared machine)."""
    from backoffice.passwords import hash_password, verify_password

    stored = hash_password(dataset.PORTAL_PASSWORD)
    hashing, totals, password_steps, otp_steps = [], [], [], []
    users = dataset.ORGANIZATIONS * dataset.USERS_PER_ORGANIZATION
    for i in range(count):
        started = time.perf_counter()
        verify_password(stored, dataset.PORTAL_PASSWORD)
        hashing.append((time.perf_counter() - started) * 1000)
        email = dataset.portal_email(1 + (i * 7919) % users)
        sample, password_ms, otp_ms = scenarios.portal_login(
            Browser(app.port), email, mailbox.code_for
        )
        if sample.error:
            raise SystemExit(f"login failed: {sample.error}")
        totals.append(password_ms + otp_ms)
        password_steps.append(password_ms)
        otp_steps.append(otp_ms)
    median, hash_ms = statistics.median(totals), statistics.median(hashing)
    return {
        "server_ms": round(median - hash_ms, 1),
        "server_p95_ms": round(percentile(totals, 95) - hash_ms, 1),
        "hash_ms": round(hash_ms, 1),
        "password_step_p50_ms": round(statistics.median(password_steps), 1),
        "otp_step_p50_ms": round(statistics.median(otp_steps), 1),
        "p95_ms": round(percentile(totals, 95), 1),
        "logins": count,
    }


def measure_export(app: Gunicorn, operator: Browser) -> dict[str, Any]:
    """Stream /admin/tickets/export.csv, count the records, and watch every worker's memory."""
    import http.client

    before = {pid: rss_mb(pid) for pid in app.worker_pids()}
    started = time.monotonic()
    with PeakMemory(app.worker_pids()) as memory:
        conn = http.client.HTTPConnection("127.0.0.1", app.port, timeout=600)
        conn.request(
            "GET",
            "/admin/tickets/export.csv",
            headers={"Cookie": "; ".join(f"{k}={v}" for k, v in operator.cookies.items())},
        )
        response = conn.getresponse()
        if response.status != 200:
            raise SystemExit(f"export: HTTP {response.status}")
        rows = (
            sum(1 for _ in csv.reader(io.TextIOWrapper(response, encoding="utf-8-sig", newline="")))
            - 1
        )
        conn.close()
    seconds = time.monotonic() - started
    return {
        "rows": rows,
        "seconds": round(seconds, 1),
        "peak_rss_mb": round(max(memory.peak.values()), 1),
        "rss_before_mb": round(max(before.values()), 1),
    }


def check_run(run: Any, name: str) -> None:
    failures = [s.error for s in run.samples if s.error]
    if failures:
        raise SystemExit(
            f"{name}: {len(failures)} of {len(run.samples)} failed, e.g. {failures[0]}"
        )


def targets_met(results: dict[str, Any]) -> dict[str, bool]:
    lists = results["list"]
    return {
        "submit": results["submit"]["ratio_to_stack_floor"] >= TARGETS["submit_ratio"],
        "accounts": all(v <= TARGETS["account_p95_ms"] for v in results["accounts"].values()),
        "login": results["login"]["server_ms"] <= TARGETS["login_server_ms"],
        "list": all(v <= TARGETS["list_p95_ms"] for v in lists.values()),
        "reports": all(v <= TARGETS["report_p95_ms"] for v in results["reports"].values()),
        "dashboard": results["dashboard_p95_ms"] <= TARGETS["dashboard_p95_ms"],
        "csv": results["csv"]["peak_rss_mb"] <= TARGETS["csv_peak_rss_mb"]
        and results["csv"]["rows"] >= results["tickets"],
        "inbound_fetch": results["inbound"]["fetch"]["rate"] >= TARGETS["inbound_fetch_per_s"],
    }


def explain(env: dict[str, str], paths: dict[str, str]) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) of every statement the list pages and the dashboard send about tickets,
    captured from the app itself (in this process, signed in as the benchmark's operator)."""
    from backoffice.extensions import db
    from backoffice.operators import operations as operators
    from backoffice.operators.models import Operator

    app = in_process_app(env)
    out: list[str] = []
    with app.app_context():
        operator = db.session.scalar(
            sa.select(Operator).where(Operator.email == dataset.BENCH_OPERATOR)
        )
        key = operators.start_session(operator, "127.0.0.1")
        db.session.commit()
        statements: list[tuple[str, Any]] = []

        def capture(
            conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
        ) -> None:
            if statement.lstrip().upper().startswith("SELECT") and "FROM inquiries" in statement:
                statements.append((statement, parameters))

        sa.event.listen(db.engine, "before_cursor_execute", capture)
        client = app.test_client()
        with client.session_transaction() as session:
            session["operator_session"] = key
        for name, path in paths.items():
            statements.clear()
            response = client.get(path)
            if response.status_code != 200:
                raise SystemExit(f"explain {name}: HTTP {response.status_code}")
            out.append(f"### {name}: `{path}`\n")
            for statement, parameters in list(statements):
                with db.engine.connect() as conn:
                    plan = (
                        conn.exec_driver_sql(
                            "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + statement, parameters
                        )
                        .scalars()
                        .all()
                    )
                out.append("```sql\n" + " ".join(statement.split()) + "\n```\n")
                out.append("```\n" + "\n".join(plan) + "\n```\n")
        sa.event.remove(db.engine, "before_cursor_execute", capture)
    return "\n".join(out)


if __name__ == "__main__":
    main()
