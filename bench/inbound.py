"""Inbound mail at national scale: requesters' replies taken in as an MTA pipes them (one `flask mail
receive` process per message) and through `flask mail fetch` from a real Dovecot, on the loaded database.

Each reply goes to its own open ticket (given a reply token here), is written as
Windows writes ISO-2022-JP and quotes our mail under the marker line; every one must land on its ticket
exactly once. Settings (environment): BENCH_PIPE_MESSAGES (100), BENCH_FETCH_MESSAGES (2000).
"""

import base64
import os
import secrets
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from email.mime.text import MIMEText
from email.utils import formatdate
from typing import Any

import psycopg

from backoffice.inbound.reply import REPLY_MARKER
from bench.client import percentile
from bench.infra import BIN, ROOT, libpq_url, log
from tests.imap import Dovecot, Mailbox, find_dovecot
from tests.inbound.helpers import windows_iso_2022_jp

DOMAIN = "kaigo-portal.example.jp"


def measure(env: dict[str, str], url: str, workers: int) -> dict[str, Any]:
    pipe_count = int(os.environ.get("BENCH_PIPE_MESSAGES", "100"))
    fetch_count = int(os.environ.get("BENCH_FETCH_MESSAGES", "2000"))
    dsn = libpq_url(url)
    tickets = tickets_with_reply_tokens(dsn, pipe_count + fetch_count)
    env = {**env, "FLASK_INBOUND_SENDER_HOURLY_LIMIT": "1000000"}

    log(f"inbound: {pipe_count} replies piped, {workers} MTA deliveries at a time")
    piped = [reply_to_ticket(*ticket, n) for n, ticket in enumerate(tickets[:pipe_count])]
    durations: list[float] = []

    def pipe(raw: bytes) -> None:
        started = time.perf_counter()
        result = subprocess.run(
            [str(BIN / "flask"), "--app", "wsgi", "mail", "receive"],
            env=env,
            cwd=ROOT,
            input=raw,
            capture_output=True,
            check=False,
        )
        if result.returncode != 0 or not result.stdout.startswith(b"appended"):
            raise SystemExit(
                f"mail receive: {result.returncode} {result.stdout!r} {result.stderr!r}"
            )
        durations.append(time.perf_counter() - started)

    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(pipe, piped))
    pipe_seconds = time.perf_counter() - started
    check_each_once(dsn, tickets[:pipe_count])
    pipe_result = {
        "messages": pipe_count,
        "rate": round(pipe_count / pipe_seconds, 1),
        "p95_ms": round(percentile([d * 1000 for d in durations], 95), 1),
    }
    log(f"  {pipe_result}")

    binary = find_dovecot()
    if binary is None:
        raise SystemExit("Dovecot not found: install the dovecot-imapd package for the fetch row")
    server = Dovecot(binary).start()
    try:
        mailbox = Mailbox(server)
        log(f"inbound: {fetch_count} replies in Dovecot, {workers} `mail fetch` at once")
        for n, ticket in enumerate(tickets[pipe_count:]):
            mailbox.deliver(reply_to_ticket(*ticket, n))
        fetch_env = {
            **env,
            **{f"FLASK_{k}": str(v) for k, v in server.config("ssl").items()},
            "FLASK_INBOUND_IMAP_TIMEOUT": "60",
        }
        command = [str(BIN / "flask"), "--app", "wsgi", "mail", "fetch", "--batch", "1000000"]
        started = time.perf_counter()
        fetchers = [
            subprocess.Popen(
                command, env=fetch_env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
            for _ in range(workers)
        ]
        outputs = [f.communicate(timeout=1800) for f in fetchers]
        fetch_seconds = time.perf_counter() - started
        if any(f.returncode for f in fetchers) or mailbox.count("INBOX"):
            raise SystemExit(f"mail fetch left mail or failed: {outputs}")
        mailbox.close()
    finally:
        server.remove()
    check_each_once(dsn, tickets[pipe_count:])
    with psycopg.connect(dsn) as conn:
        # The fetchers' steady rate: from the first message taken to the last (a `--loop` fetcher
        # starts once, so its start-up is not part of the rate).
        first, last = conn.execute(
            "SELECT min(received_at), max(received_at) FROM inbound_emails WHERE source = 'imap'"
        ).fetchone()
    p95s = [float(out.split(b"(p95 ")[1].split(b" ms")[0]) for out, _ in outputs if b"(p95 " in out]
    fetch_result = {
        "messages": fetch_count,
        "rate": round((fetch_count - 1) / max((last - first).total_seconds(), 1e-3), 1),
        "wall_rate": round(fetch_count / fetch_seconds, 1),
        "p95_ms": max(p95s) if p95s else None,
        "fetchers": workers,
    }
    log(f"  {fetch_result}")
    return {"pipe": pipe_result, "fetch": fetch_result}


def tickets_with_reply_tokens(dsn: str, count: int) -> list[tuple[int, str, str, str]]:
    """`count` open tickets that have no reply token yet, each given one: (id, email, token, 受付番号)."""
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT id, email, reference_number FROM inquiries "
            "WHERE status IN ('new', 'in_progress', 'answered', 'waiting', 'on_hold') "
            "AND reply_token IS NULL "
            "ORDER BY id DESC LIMIT %s",
            (count,),
        ).fetchall()
        if len(rows) < count:
            raise SystemExit(f"only {len(rows)} open tickets without a reply token are left")
        chosen = []
        for inquiry_id, email, number in rows:
            token = base64.b32encode(secrets.token_bytes(10)).decode().lower()[:16]
            conn.execute("UPDATE inquiries SET reply_token = %s WHERE id = %s", (token, inquiry_id))
            chosen.append((inquiry_id, email, token, number))
    return chosen


def reply_to_ticket(inquiry_id: int, email: str, token: str, number: str, n: int) -> bytes:
    quote = "\n".join(
        f"> {line}"
        for line in (
            REPLY_MARKER,
            "",
            "山田 様",
            f"受付番号 {number} のお問い合わせについて、次のとおり回答いたします。",
            "ワンタイムパスワードのメールは届きましたか。迷惑メールのフォルダもご確認ください。",
        )
    )
    body = (
        f"お世話になっております。\n迷惑メールのフォルダに届いていました。（{n}）\n\n"
        f"2026年12月1日(火) 10:00 お問い合わせ窓口 <support+{token}@{DOMAIN}>:\n\n{quote}\n"
    )
    message = MIMEText("", "plain", "us-ascii")
    message.set_param("charset", "ISO-2022-JP")
    message.set_payload(windows_iso_2022_jp(body).decode("ascii"))
    message["From"] = email
    message["To"] = f"support+{token}@{DOMAIN}"
    message["Subject"] = f"Re: 【介護情報基盤ポータル】お問い合わせへの回答（受付番号 {number}）"
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = f"<bench-{inquiry_id}-{secrets.token_hex(6)}@office.example.jp>"
    message["In-Reply-To"] = f"<inquiry.{inquiry_id}.thread@{DOMAIN}>"
    return message.as_bytes()


def check_each_once(dsn: str, tickets: list[tuple[int, str, str, str]]) -> None:
    """Every reply on its ticket exactly once."""
    ids = [t[0] for t in tickets]
    with psycopg.connect(dsn) as conn:
        counts = dict(
            conn.execute(
                "SELECT inquiry_id, count(*) FROM inquiry_events WHERE channel = 'email' "
                "AND inquiry_id = ANY(%s) GROUP BY inquiry_id",
                (ids,),
            ).fetchall()
        )
    wrong = [i for i in ids if counts.get(i) != 1]
    if wrong:
        raise SystemExit(f"{len(wrong)} replies not on their ticket exactly once, e.g. {wrong[:3]}")
