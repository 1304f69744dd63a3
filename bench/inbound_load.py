"""Inbound mail under faults and steady load: `make faults` stops the IMAP server in the middle of a
fetch and kills a fetcher in the middle of a batch; `make soak` delivers replies at a steady rate while
everything else runs. Each time every reply must land on its ticket exactly once."""

import os
import signal
import subprocess
import threading
import time
from typing import Any

import psycopg

from bench.inbound import check_each_once, reply_to_ticket, tickets_with_reply_tokens
from bench.infra import BIN, ROOT, libpq_url, log
from tests.imap import Dovecot, Mailbox, find_dovecot


class InboundMail:
    """A Dovecot mailbox with `mail fetch --loop` processes taking it in, and replies to deliver."""

    def __init__(self, env: dict[str, str], url: str, fetchers: int = 1) -> None:
        binary = find_dovecot()
        if binary is None:
            raise SystemExit("Dovecot not found: install the dovecot-imapd package")
        self.dsn = libpq_url(url)
        self.server = Dovecot(binary).start()
        self.env = {
            **env,
            **{f"FLASK_{k}": str(v) for k, v in self.server.config("ssl").items()},
            "FLASK_INBOUND_SENDER_HOURLY_LIMIT": "1000000",
            # A killed fetcher's claims run out soon, so that the test need not wait five minutes.
            "FLASK_INBOUND_IMAP_CLAIM_SECONDS": "5",
        }
        self.fetchers = [self._fetcher() for _ in range(fetchers)]
        self.tickets: list[tuple[int, str, str, str]] = []

    def _fetcher(self) -> "subprocess.Popen[bytes]":
        return subprocess.Popen(
            [str(BIN / "flask"), "--app", "wsgi", "mail", "fetch", "--loop", "--interval", "0.5"],
            env=self.env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def deliver(self, count: int, rate: float | None = None) -> None:
        """Put `count` replies (to as many tickets) into the mailbox, `rate` per second; an append
        that fails while the server is down is tried again, as an MTA would."""
        tickets = tickets_with_reply_tokens(self.dsn, count)
        self.tickets += tickets
        mailbox = None
        for n, ticket in enumerate(tickets):
            raw = reply_to_ticket(*ticket, n)
            while True:
                try:
                    mailbox = mailbox or Mailbox(self.server)
                    mailbox.deliver(raw)
                    break
                except Exception:
                    mailbox = None
                    time.sleep(0.2)
            if rate:
                time.sleep(1 / rate)
        if mailbox is not None:
            mailbox.close()

    def wait(self, timeout: float = 120) -> bool:
        """Whether every delivered reply is in the database within `timeout`."""
        deadline = time.monotonic() + timeout
        ids = [t[0] for t in self.tickets]
        while time.monotonic() < deadline:
            with psycopg.connect(self.dsn) as conn:
                done = conn.execute(
                    "SELECT count(DISTINCT inquiry_id) FROM inquiry_events "
                    "WHERE channel = 'email' AND inquiry_id = ANY(%s)",
                    (ids,),
                ).fetchone()[0]
            if done == len(ids):
                return True
            time.sleep(0.5)
        return False

    def result(self, drained: bool) -> dict[str, Any]:
        """Every reply on its ticket once, the inbox empty, the fetchers still running."""
        alive = all(f.poll() is None for f in self.fetchers if f.returncode != -signal.SIGKILL)
        try:
            check_each_once(self.dsn, self.tickets)
            each_once = True
        except SystemExit as error:
            log(f"  {error}")
            each_once = False
        mailbox = Mailbox(self.server)
        left, processed = mailbox.count("INBOX"), mailbox.count("Processed")
        mailbox.close()
        return {
            "replies": len(self.tickets),
            "all_taken_in": drained,
            "each_on_its_ticket_once": each_once,
            "left_in_inbox": left,
            "in_processed_folder": processed,
            "fetchers_alive": alive,
            "passed": drained
            and each_once
            and left == 0
            and processed == len(self.tickets)
            and alive,
        }

    def stop(self) -> None:
        for fetcher in self.fetchers:
            if fetcher.poll() is None:
                fetcher.terminate()
                fetcher.wait(10)
        self.server.remove()


def imap_restart(env: dict[str, str], url: str) -> dict[str, Any]:
    """60 replies at 10 a second while one fetcher runs; 2 s in, the IMAP server stops for 3 s."""
    log("faults: IMAP server stopped in the middle of a fetch")
    inbound = InboundMail(env, url)
    try:

        def outage() -> None:
            inbound.server.stop()
            time.sleep(3)
            inbound.server.start_again()

        timer = threading.Timer(2, outage)
        timer.start()
        inbound.deliver(60, rate=10)
        timer.join()
        result = inbound.result(inbound.wait())
    finally:
        inbound.stop()
    log(f"  {result}")
    return result


def fetcher_killed(env: dict[str, str], url: str) -> dict[str, Any]:
    """60 replies waiting, two fetchers; one is killed (SIGKILL) once a few are taken in."""
    log("faults: a fetcher killed in the middle of a batch")
    inbound = InboundMail(env, url, fetchers=0)
    try:
        inbound.deliver(60)
        inbound.fetchers = [inbound._fetcher(), inbound._fetcher()]
        ids = [t[0] for t in inbound.tickets]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with psycopg.connect(inbound.dsn) as conn:
                taken = conn.execute(
                    "SELECT count(*) FROM inquiry_events WHERE channel = 'email' "
                    "AND inquiry_id = ANY(%s)",
                    (ids,),
                ).fetchone()[0]
            if taken >= 5:
                break
            time.sleep(0.02)
        os.kill(inbound.fetchers[0].pid, signal.SIGKILL)
        inbound.fetchers[0].wait()
        result = {"killed_after": taken, **inbound.result(inbound.wait())}
    finally:
        inbound.stop()
    log(f"  {result}")
    return result
