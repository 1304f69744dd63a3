"""The parts of the deployment smoke test (bench/deploy_smoke.py) besides the guide's own files: an
SMTP server that keeps what it receives, a client that keeps using the site, the certificate, the
previous version from git, and what the test compares and reads."""

import email
import email.policy
import hashlib
import io
import re
import shutil
import ssl
import subprocess
import sys
import tarfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import psycopg

from bench import scenarios
from bench.client import Browser
from bench.infra import ROOT, free_port
from tests import imap

METRICS_TOKEN = "smoke-metrics-token-0123456789abcdef"


class Smtp:
    """An SMTP server on loopback that keeps every message (aiosmtpd)."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.port = free_port()
        self.messages: list[email.message.EmailMessage] = []
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        content = envelope.content  # type: ignore[attr-defined]
        self.messages.append(email.message_from_bytes(content, policy=email.policy.default))
        return "250 OK"

    def to(self, address: str, timeout: float = 60) -> email.message.EmailMessage:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for message in self.messages:
                if address in str(message["To"]):
                    return message
            time.sleep(0.2)
        seen = sorted({str(m["To"]) for m in self.messages})[:5]
        raise SystemExit(
            f"no mail reached {address} in {timeout:.0f} s ({len(self.messages)} others: {seen})"
        )


class Client:
    """Someone using the site through the proxy the whole time (a thread): every failure is kept."""

    def __init__(self, port: int, tls: ssl.SSLContext) -> None:
        self.port, self.tls = port, tls
        self.requests = 0
        self.sent = 0
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        i = 0
        while not self._stop.is_set():
            browser = Browser(self.port, host="localhost", tls=self.tls, timeout=30)
            try:
                # Three inquiries in all: the send limit (5 in 10 minutes from one address) is
                # shared by both servers through Redis, and the rest of the test needs two more.
                if i % 20 == 19 and self.sent < 3:
                    self.sent += 1
                    sample = scenarios.submit(browser, 10_000 + i)
                    self.requests += len(sample.steps)
                    if sample.error:
                        self.failures.append(f"inquiry form: {sample.error}")
                else:
                    for path in ("/", "/inquiry", "/healthz"):
                        browser.expect(browser.get(path), 200)
                        self.requests += 1
            except Exception as error:  # every failure is the finding, whatever its kind
                self.failures.append(f"{type(error).__name__}: {error}")
            i += 1

    def __enter__(self) -> "Client":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(60)


def certificate(folder: Path) -> tuple[Path, Path, ssl.SSLContext]:
    """A self-signed certificate for localhost, and a client context that trusts only it."""
    server = imap.Dovecot.__new__(imap.Dovecot)
    server.root, server.ca_file = folder, folder / "cert.pem"
    imap.Dovecot._certificate(server)  # the same certificate the IMAP tests use
    context = ssl.create_default_context(cafile=str(folder / "cert.pem"))
    return folder / "cert.pem", folder / "key.pem", context


def previous_version(root: Path) -> Path | None:
    """The code before the newest migration was added, from git, or None without the history."""
    added = subprocess.run(
        ["git", "log", "-1", "--format=%H", "--diff-filter=A", "--", "migrations/versions"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    if not added:
        return None
    code = root / "previous"
    code.mkdir()
    archive = subprocess.run(
        ["git", "archive", "--format=tar", f"{added}^"], cwd=ROOT, capture_output=True, check=False
    )
    if archive.returncode != 0:
        shutil.rmtree(code)
        return None
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(code, filter="data")
    (code / ".venv").symlink_to(Path(sys.executable).parent.parent)
    return code


def row_counts(url: str) -> dict[str, int]:
    with psycopg.connect(url) as conn:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
            )
        ]
        return {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}


def file_hashes(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def scrape(port: int, token: str | None) -> tuple[int, str]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/metrics")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, ""


def wait_for(what: str, check, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.5)
    raise SystemExit(f"{what}: not within {timeout:.0f} s")


def opens(browser: Browser, path: str) -> bool:
    try:
        return browser.get(path).status == 200
    except OSError:
        return False


def served(port: int) -> float:
    """The requests one app server counted since it started."""
    body = scrape(port, METRICS_TOKEN)[1]
    return sum(
        float(v) for v in re.findall(r"^kip_http_requests_total\{[^}]*\} (\S+)$", body, re.M)
    )


def answered_by_mail(url: str, number: str) -> bool:
    with psycopg.connect(url) as conn:
        return bool(
            conn.execute(
                "SELECT 1 FROM inbound_emails m JOIN inquiries i ON i.id = m.inquiry_id "
                "WHERE i.reference_number = %s AND m.state = 'appended'",
                (number,),
            ).fetchone()
        )
