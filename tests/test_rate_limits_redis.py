"""Rate limits hold across several app processes when they share Redis (FLASK_RATELIMIT_STORAGE_URI),
and do not with the embedded memory storage. Two real servers on loopback, one real Redis server."""

import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from backoffice.paths import ROOT
from tests.builders.app import missing
from tests.postgres import free_port


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        missing("redis-server not found; install Debian's redis-server package")
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait(lambda: _redis_ping(port))
        yield f"redis://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def _redis_ping(port: int) -> bool:
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
        sock.sendall(b"PING\r\n")
        return sock.recv(16).startswith(b"+PONG")


def _wait(check, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            if check():
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError("service did not come up")
        time.sleep(0.2)


def _servers(storage_uri: str, count: int = 2) -> tuple[list[subprocess.Popen], list[str]]:
    """`count` separate app processes (like gunicorn workers) on one SQLite file."""
    folder = tempfile.mkdtemp(prefix="kip-limits-")
    env = {
        **os.environ,
        "FLASK_DEVELOPMENT": "true",
        "DATABASE_URL": f"sqlite:///{folder}/limits.sqlite3",
        "SECRET_KEY": "limits-test",
        "FLASK_RATELIMIT_STORAGE_URI": storage_uri,
        "FLASK_INQUIRY_FORM_LIMIT": "3 per minute",
        "FLASK_WTF_CSRF_ENABLED": "false",
    }
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    processes, bases = [], []
    for _ in range(count):
        port = free_port()
        processes.append(
            subprocess.Popen(
                [sys.executable, "-m", "flask", "--app", "wsgi", "run", "--port", str(port)],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        bases.append(f"http://127.0.0.1:{port}")
    for base in bases:
        _wait(lambda base=base: urllib.request.urlopen(base + "/healthz", timeout=2).status == 200)
    return processes, bases


def _post_statuses(bases: list[str], times: int) -> list[int]:
    statuses = []
    for n in range(times):
        request = urllib.request.Request(
            bases[n % len(bases)] + "/inquiry", data=b"name=x", method="POST"
        )
        try:
            statuses.append(urllib.request.urlopen(request, timeout=5).status)
        except urllib.error.HTTPError as error:
            statuses.append(error.code)
    return statuses


@pytest.mark.parametrize(
    ("storage", "expected"),
    [
        ("redis", [422, 422, 422, 429, 429, 429]),  # 3 per minute in all, whichever process answers
        ("memory://", [422, 422, 422, 422, 422, 422]),  # each process counts alone: 3 each
    ],
)
def test_limits_are_shared_through_redis(request, storage: str, expected: list[int]) -> None:
    uri = request.getfixturevalue("redis_url") if storage == "redis" else storage
    processes, bases = _servers(uri)
    try:
        assert _post_statuses(bases, 6) == expected
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=10)
