"""The load generator: browser-like HTTP clients over loopback, run in parallel processes.

A `Browser` keeps its cookies and reads the CSRF token from each form, as a real browser would; gunicorn's
sync workers close every connection after the response, so each request opens a new one (cheap on
loopback). `run_parallel` runs one scenario in several processes for a fixed time and gathers every
timing, so the client's own Python never shares a GIL with another client.
"""

import http.client
import multiprocessing
import re
import secrets
import ssl
import statistics
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

TITLE = re.compile(r"<title>(.*?)</title>", re.S)
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


class UnexpectedResponse(RuntimeError):
    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: str
    ms: float

    @property
    def location(self) -> str:
        return urllib.parse.urlsplit(self.headers.get("location", "")).path or ""

    def csrf(self) -> str:
        found = CSRF.search(self.body)
        if not found:
            raise UnexpectedResponse(f"no CSRF token in a {self.status} page")
        return found.group(1)


@dataclass(frozen=True)
class Upload:
    """A file as a browser's file input sends it."""

    filename: str
    content_type: str
    data: bytes


def multipart(fields: dict[str, str], files: dict[str, Upload]) -> tuple[bytes, str]:
    """A multipart/form-data body as a browser writes it, and its Content-Type."""
    boundary = f"----kip-bench-{secrets.token_hex(12)}"
    parts: list[bytes] = []
    for name, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        )
    for name, upload in files.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
            f'filename="{upload.filename}"\r\nContent-Type: {upload.content_type}\r\n\r\n'.encode()
            + upload.data
            + b"\r\n"
        )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


@dataclass
class Browser:
    port: int
    cookies: dict[str, str] = field(default_factory=dict)
    timeout: float = 120
    # Through a TLS reverse proxy (bench/deploy_smoke.py): the name it answers to, and the context
    # that trusts its certificate.
    host: str = "127.0.0.1"
    tls: ssl.SSLContext | None = None

    def request(
        self,
        method: str,
        path: str,
        data: dict[str, str] | None = None,
        files: dict[str, "Upload"] | None = None,
    ) -> Response:
        headers = {"Host": f"{self.host}:{self.port}", "User-Agent": "kip-bench"}
        body: bytes | str | None = None
        if files:
            body, headers["Content-Type"] = multipart(data or {}, files)
        elif data is not None:
            body = urllib.parse.urlencode(data)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if self.tls and method == "POST":
            # Flask-WTF checks over HTTPS that a form comes from the site itself, as browsers say.
            headers["Referer"] = f"https://{self.host}:{self.port}{path}"
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        started = time.perf_counter()
        conn: http.client.HTTPConnection = (
            http.client.HTTPSConnection(
                self.host, self.port, timeout=self.timeout, context=self.tls
            )
            if self.tls
            else http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        )
        try:
            conn.request(method, path, body=body, headers=headers)
            raw = conn.getresponse()
            content = raw.read()
            elapsed = (time.perf_counter() - started) * 1000
            for name, value in raw.getheaders():
                if name.lower() == "set-cookie":
                    # The Secure flag is ignored on purpose: the benchmark's loopback has no TLS.
                    cookie = value.split(";", 1)[0]
                    key, _, val = cookie.partition("=")
                    if val:
                        self.cookies[key.strip()] = val
                    else:
                        self.cookies.pop(key.strip(), None)
            response_headers = {k.lower(): v for k, v in raw.getheaders()}
        finally:
            conn.close()
        return Response(raw.status, response_headers, content.decode("utf-8", "replace"), elapsed)

    def get(self, path: str) -> Response:
        return self.request("GET", path)

    def post(
        self, path: str, data: dict[str, str], files: dict[str, "Upload"] | None = None
    ) -> Response:
        return self.request("POST", path, data, files)

    def expect(self, response: Response, *statuses: int) -> Response:
        if response.status not in statuses:
            title = TITLE.search(response.body)
            shown = title.group(1).strip() if title else response.body[:300]
            raise UnexpectedResponse(f"HTTP {response.status}: {shown}", response.status)
        return response


@dataclass
class Sample:
    """One scenario run: its total time, each request's (name, status, ms), and an error if it failed."""

    ms: float
    steps: list[tuple[str, int, float]]
    error: str | None = None
    result: Any = None
    at: float = field(default_factory=time.time)  # when it finished (wall clock)


@dataclass
class Run:
    samples: list[Sample]
    seconds: float

    @property
    def ok(self) -> list[Sample]:
        return [s for s in self.samples if s.error is None]

    @property
    def rps(self) -> float:
        return len(self.ok) / self.seconds

    def percentile(self, p: float, step: str | None = None) -> float:
        values = (
            [s.ms for s in self.ok]
            if step is None
            else [ms for s in self.ok for name, _status, ms in s.steps if name == step]
        )
        return percentile(values, p)

    def statuses(self) -> dict[int, int]:
        counts: dict[int, int] = {}
        for sample in self.samples:
            for _name, status, _ms in sample.steps:
                counts[status] = counts.get(status, 0) + 1
        return counts


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(p) - 1]


Scenario = Callable[[Browser, int], Sample]


def timed(browser: Browser, steps: list[tuple[str, Callable[[], Response]]]) -> Sample:
    """Run named requests in order; stop at the first unexpected answer."""
    started = time.perf_counter()
    done: list[tuple[str, int, float]] = []
    name = ""
    try:
        for name, step in steps:
            response = step()
            done.append((name, response.status, response.ms))
    except (UnexpectedResponse, OSError, http.client.HTTPException) as failed:
        if getattr(failed, "status", 0):
            done.append((name, failed.status, float("nan")))
        return Sample(
            (time.perf_counter() - started) * 1000, done, f"{type(failed).__name__}: {failed}"
        )
    return Sample((time.perf_counter() - started) * 1000, done)


def _worker(args: tuple[Scenario, int, dict[str, str], float, int, int, float]) -> list[Sample]:
    scenario, port, cookies, seconds, index, limit, interval = args
    started = time.monotonic()
    deadline = started + seconds
    samples: list[Sample] = []
    iteration = 0
    # Clients start spread over one interval, so a steady rate stays steady.
    next_start = started + interval * index / max(1, _CLIENTS.get("n", 1))
    while time.monotonic() < deadline and (limit == 0 or iteration < limit):
        if interval:
            time.sleep(max(0.0, next_start - time.monotonic()))
            next_start += interval
        samples.append(scenario(Browser(port, dict(cookies)), index * 1_000_000 + iteration))
        iteration += 1
    return samples


_CLIENTS: dict[str, int] = {}


def run_parallel(
    scenario: Scenario,
    port: int,
    *,
    clients: int,
    seconds: float,
    cookies: dict[str, str] | None = None,
    limit_each: int = 0,
    interval: float = 0,
) -> Run:
    """Run `scenario` in `clients` processes for `seconds` (or `limit_each` iterations each); with an
    `interval`, each client starts one scenario every `interval` seconds (a steady rate)."""
    context = multiprocessing.get_context("fork")
    _CLIENTS["n"] = clients
    started = time.monotonic()
    with context.Pool(clients) as pool:
        results = pool.map(
            _worker,
            [
                (scenario, port, cookies or {}, seconds, i, limit_each, interval)
                for i in range(clients)
            ],
        )
    elapsed = time.monotonic() - started
    return Run([s for batch in results for s in batch], elapsed)
