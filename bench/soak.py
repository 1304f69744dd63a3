"""`make soak`: a few minutes of mixed traffic at a steady rate on gunicorn + PostgreSQL, with the SMTP
server taken down in the middle and brought back, and two `flask mail deliver --loop` workers.

Traffic, per ten requests' worth of work: four inquiries sent through the form, three operator list
views, two portal logins with the emailed one-time password, one 初回利用登録. Afterwards it checks that
nothing answered 5xx, that every inquiry a browser got a 受付番号 for is in the database (and no other),
that every mail the traffic implies is in the outbox, and that the SMTP server received each outbox
email exactly once. Writes bench/results/soak.json and the "soak" section of docs/performance.md.

Beside it, replies by mail arrive in a Dovecot mailbox at SOAK_INBOUND_RATE per second (1) for one `flask
mail fetch --loop`; each must land on its ticket exactly once.

Settings: SOAK_SECONDS (180), SOAK_RATE scenarios per second (5), SOAK_CLIENTS (4), SOAK_OUTAGE as
"start,end" seconds into the run (60,90), SOAK_TICKETS already-loaded tickets (20,000), DATABASE_URL.
"""

import json
import multiprocessing
import os
import re
import subprocess
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import psycopg

from backoffice.eclaims import importer
from bench import dataset, docs, scenarios
from bench.client import Browser, Sample, percentile, run_parallel
from bench.inbound_load import InboundMail
from bench.infra import (
    BIN,
    ROOT,
    Gunicorn,
    Mailbox,
    SmtpProcess,
    app_env,
    database,
    flask,
    libpq_url,
    log,
    wait_for_code,
)
from bench.run import prepare
from tests.postgres import free_port

# Browsers that wait for a one-time password stall while mail is down; the others keep sending
# inquiries (whose acknowledgements then wait in the outbox). A third of the clients do accounts.
WEB_MIX = ("inquiry", "list", "inquiry", "list", "inquiry", "list", "inquiry")
ACCOUNT_MIX = ("login", "register", "login")


def mix(client: int, clients: int) -> tuple[str, ...]:
    return ACCOUNT_MIX if client >= clients - max(1, clients // 3) else WEB_MIX


ECLAIMS_PASSWORD = "soak-eclaims-pass-2026"


class Mixed:
    """One scenario of the mix, chosen by the iteration number (picklable for the client processes)."""

    def __init__(
        self, cookies: dict[str, str], codes: Any, run_id: int, code_timeout: float, clients: int
    ) -> None:
        self.cookies, self.codes, self.run_id = cookies, codes, run_id
        self.code_timeout, self.clients = code_timeout, clients

    def read_code(self, address: str) -> str:
        return wait_for_code(self.codes, address, self.code_timeout)

    def __call__(self, browser: Browser, i: int) -> Sample:
        client, iteration = divmod(i, 1_000_000)
        kinds = mix(client, self.clients)
        kind = kinds[iteration % len(kinds)]
        if kind == "inquiry":
            sample = scenarios.submit(browser, i)
            sample.result = ("inquiry", sample.result)
            return sample
        if kind == "list":
            browser.cookies.update(self.cookies)
            path = ("/admin/tickets/", "/admin/", "/admin/tickets/?flt0_0=new")[iteration % 3]
            sample = scenarios.page(path)(browser, i)
        elif kind == "login":
            users = dataset.ORGANIZATIONS * dataset.USERS_PER_ORGANIZATION
            email = dataset.portal_email(1 + (i * 7919) % users)
            sample = scenarios.portal_login(browser, email, self.read_code)[0]
        else:
            office = client * 1000 + iteration // len(ACCOUNT_MIX)
            sample = scenarios.register(
                browser,
                eclaims_id(self.run_id, office),
                ECLAIMS_PASSWORD,
                f"registrant-{self.run_id}-{office}@office.example.jp",
                self.read_code,
            )
        sample.result = (kind, None)
        return sample


def eclaims_id(run_id: int, office: int) -> str:
    return f"KJ9{run_id:05d}{office:06d}"


def office_csv(run_id: int, offices: list[int]) -> str:
    lines = [",".join(importer.HEADER)]
    for office in offices:
        eid = eclaims_id(run_id, office)
        lines.append(
            f"{eid},{ECLAIMS_PASSWORD},{scenarios.security_email(eid)},,"
            f"8{run_id:05d}{office:04d},ソーク試験デイサービス{office},care"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    seconds = float(os.environ.get("SOAK_SECONDS", "180"))
    rate = float(os.environ.get("SOAK_RATE", "5"))
    clients = int(os.environ.get("SOAK_CLIENTS", "6"))
    outage = tuple(float(v) for v in os.environ.get("SOAK_OUTAGE", "60,90").split(","))
    tickets = int(os.environ.get("SOAK_TICKETS", "20000"))
    workers = os.cpu_count() or 1
    run_id = int(time.time()) % 100000
    url, cluster = database("soak")
    manager = multiprocessing.Manager()
    deliverers: list[subprocess.Popen[bytes]] = []
    smtp = SmtpProcess(manager)
    inbound: InboundMail | None = None
    try:
        smtp.up()
        mailbox = smtp.mailbox
        port = free_port()
        env = app_env(
            url,
            mailbox.port,
            port,
            FLASK_MAIL_RETRY_BASE_SECONDS="5",
            FLASK_MAIL_RETRY_MAX_SECONDS="20",
            FLASK_MAIL_TIMEOUT="5",
        )
        prepare(env, url, tickets)
        iterations_each = int(seconds * rate / clients) + 2
        offices = [
            c * 1000 + n
            for c in range(clients)
            for n in range(iterations_each // len(ACCOUNT_MIX) + 2)
            if mix(c, clients) is ACCOUNT_MIX
        ]
        with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as csv_file:
            csv_file.write(office_csv(run_id, offices))
        log(f"importing {len(offices)} 電子請求受付システム offices")
        flask(env, "eclaims", "import", csv_file.name)
        with psycopg.connect(libpq_url(url)) as conn:
            first_mail = conn.execute(
                "SELECT coalesce(max(id), 0) FROM outbound_emails"
            ).fetchone()[0]
            first_inquiry = conn.execute("SELECT coalesce(max(id), 0) FROM inquiries").fetchone()[0]
        scenarios.choose_category(libpq_url(url))
        for _ in range(2):
            deliverers.append(
                subprocess.Popen(
                    [
                        str(BIN / "flask"),
                        "--app",
                        "wsgi",
                        "mail",
                        "deliver",
                        "--loop",
                        "--interval",
                        "1",
                    ],
                    env=env,
                    cwd=ROOT,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        inbound = InboundMail(env, url)
        inbound_rate = float(os.environ.get("SOAK_INBOUND_RATE", "1"))
        replies = threading.Thread(
            target=inbound.deliver, args=(int(seconds * inbound_rate), inbound_rate)
        )
        with Gunicorn("wsgi:app", env, port, workers) as app:
            operator = scenarios.operator_sign_in(app.port)
            replies.start()
            events: list[str] = []

            window: list[float] = []

            def smtp_down() -> None:
                window.append(time.time())
                smtp.down()
                events.append(f"{time.strftime('%H:%M:%S')} SMTP server stopped")
                log("SMTP server stopped")

            def smtp_up() -> None:
                smtp.up()
                window.append(time.time())
                events.append(f"{time.strftime('%H:%M:%S')} SMTP server started again")
                log("SMTP server started again")

            timers = [threading.Timer(outage[0], smtp_down), threading.Timer(outage[1], smtp_up)]
            for timer in timers:
                timer.start()
            log(
                f"soak: {seconds:.0f} s at {rate}/s with {clients} clients, SMTP down {outage[0]:.0f}–{outage[1]:.0f} s"
            )
            run = run_parallel(
                Mixed(
                    operator.cookies,
                    mailbox.codes,
                    run_id,
                    code_timeout=outage[1] - outage[0] + 120,
                    clients=clients,
                ),
                app.port,
                clients=clients,
                seconds=seconds,
                interval=clients / rate,
            )
            for timer in timers:
                timer.join()
            replies.join()
        drained = wait_for_outbox(url, first_mail, timeout=180)
        time.sleep(2)  # let a delivery that is finishing reach the server
        results = check(run, url, mailbox, first_mail, first_inquiry, drained, window)
        results["inbound"] = inbound.result(inbound.wait())
        results["checks"]["every reply by mail on its ticket once"] = results["inbound"]["passed"]
        results["passed"] = all(results["checks"].values())
        results.update(
            date=datetime.now(UTC).isoformat(timespec="seconds"),
            seconds=seconds,
            rate=rate,
            clients=clients,
            outage_seconds=list(outage),
            events=events,
        )
        (ROOT / "bench" / "results").mkdir(exist_ok=True)
        (ROOT / "bench" / "results" / "soak.json").write_text(
            json.dumps(results, indent=2, ensure_ascii=False) + "\n"
        )
        docs.write_section("soak", soak_table(results))
        log(
            f"soak: {'passed' if results['passed'] else 'FAILED'}: {json.dumps(results['checks'], ensure_ascii=False)}"
        )
        if not results["passed"]:
            raise SystemExit(1)
    finally:
        if inbound is not None:
            inbound.stop()
        smtp.down()
        for process in deliverers:
            process.terminate()
            process.wait()
        if cluster is not None:
            cluster.stop()


def wait_for_outbox(url: str, first_mail: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        while time.monotonic() < deadline:
            queued = conn.execute(
                "SELECT count(*) FROM outbound_emails WHERE id > %s AND status = 'queued'",
                (first_mail,),
            ).fetchone()[0]
            if queued == 0:
                return True
            time.sleep(1)
    return False


MESSAGE_ID = re.compile(r"<(\d+)\.\d+@")


def check(
    run: Any,
    url: str,
    mailbox: Mailbox,
    first_mail: int,
    first_inquiry: int,
    drained: bool,
    window: list[float],
) -> dict[str, Any]:
    statuses = run.statuses()
    by_kind: dict[str, list[Sample]] = {}
    for sample in run.samples:
        kind = sample.result[0] if sample.result else "failed"
        by_kind.setdefault(kind, []).append(sample)
    ok = {k: [s for s in v if s.error is None] for k, v in by_kind.items()}
    numbers = {s.result[1] for s in ok.get("inquiry", [])}
    with psycopg.connect(libpq_url(url)) as conn:
        stored = {
            r[0]
            for r in conn.execute(
                "SELECT reference_number FROM inquiries WHERE id > %s", (first_inquiry,)
            )
        }
        outbox = conn.execute(
            "SELECT id, subject, status, attempts FROM outbound_emails WHERE id > %s", (first_mail,)
        ).fetchall()
    subjects = Counter(subject for _id, subject, _status, _attempts in outbox)
    expected = {
        "acknowledgements": len(ok.get("inquiry", [])),
        "one-time passwords": len(ok.get("login", [])) + len(ok.get("register", [])),
        "initial passwords": len(ok.get("register", [])),
    }
    found = {
        "acknowledgements": sum(
            n for s, n in subjects.items() if "お問い合わせを受け付けました" in s
        ),
        "one-time passwords": sum(n for s, n in subjects.items() if "ワンタイムパスワード" in s),
        "initial passwords": sum(n for s, n in subjects.items() if "初期パスワード" in s),
    }
    received = Counter()
    for message_id, count in mailbox.message_ids().items():
        if found_id := MESSAGE_ID.search(message_id):
            received[int(found_id.group(1))] += count
    outbox_ids = {row[0] for row in outbox}
    checks = {
        "no 5xx": sum(n for code, n in statuses.items() if code >= 500) == 0,
        "no failed scenario": all(s.error is None for s in run.samples),
        "every inquiry stored, no other": numbers == stored,
        "every mail in the outbox": expected == found,
        "outbox drained": drained and all(row[2] == "sent" for row in outbox),
        "each mail received once": set(received) == outbox_ids
        and all(n == 1 for n in received.values()),
    }
    latencies = {k: round(percentile([s.ms for s in v], 95), 1) for k, v in ok.items()}
    down, up = window

    def clear_of_outage(s: Sample) -> bool:
        return s.at < down or s.at - s.ms / 1000 > up

    calm = {
        k: round(percentile([s.ms for s in v if clear_of_outage(s)], 95), 1) for k, v in ok.items()
    }
    during = sum(1 for s in ok.get("inquiry", []) if down <= s.at <= up)
    return {
        "passed": all(checks.values()),
        "checks": checks,
        "scenarios": {k: len(v) for k, v in by_kind.items()},
        "failures": [s.error for s in run.samples if s.error][:10],
        "http_statuses": {str(k): v for k, v in sorted(statuses.items())},
        "p95_ms": latencies,
        "p95_ms_clear_of_outage": calm,
        "inquiries_sent_while_smtp_down": during,
        "mails": {
            "expected": expected,
            "in_outbox": found,
            "sent": len(outbox),
            "retried": sum(1 for row in outbox if row[3] > 1),
            "received": sum(received.values()),
        },
    }


def soak_table(r: dict[str, Any]) -> str:
    lines = [
        f"Run {r['date']}: {r['seconds']:.0f} s at {r['rate']} scenarios/s from {r['clients']} clients; "
        f"SMTP server down from {r['outage_seconds'][0]:.0f} s to {r['outage_seconds'][1]:.0f} s "
        f"(`bench/results/soak.json`). Result: **{'passed' if r['passed'] else 'FAILED'}**.",
        "",
        "| Check | Result |",
        "|---|---|",
    ]
    lines += [f"| {name} | {'✅' if ok else '❌'} |" for name, ok in r["checks"].items()]
    lines += [
        "",
        "| Scenario | Runs | p95 (whole scenario) | p95 away from the outage |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {k} | {n} | {r['p95_ms'].get(k, '—')} ms | {r['p95_ms_clear_of_outage'].get(k, '—')} ms |"
        for k, n in sorted(r["scenarios"].items())
    ]
    m = r["mails"]
    lines += [
        "",
        f"{r['inquiries_sent_while_smtp_down']} inquiries were sent while the SMTP server was down. "
        f"Mails: {m['sent']} in the outbox ({m['retried']} needed more than one attempt because of the "
        f"outage), {m['received']} received by the SMTP server. "
        + (
            f"Replies by mail: {r['inbound']['replies']}, {r['inbound']['in_processed_folder']} taken in "
            f"and moved, each on its ticket once: {'yes' if r['inbound']['each_on_its_ticket_once'] else 'no'}. "
            if "inbound" in r
            else ""
        )
        + "HTTP statuses: "
        + ", ".join(f"{k}: {v}" for k, v in r["http_statuses"].items())
        + ".",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
