"""The parts a benchmark, soak or fault run stands on: PostgreSQL, an SMTP server, gunicorn, memory."""

import email
import email.header
import email.parser
import email.policy
import logging
import multiprocessing
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
from aiosmtpd.controller import Controller

from tests.postgres import Cluster, find_bindir, free_port

ROOT = Path(__file__).resolve().parent.parent
logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd logs every SMTP command
BIN = Path(sys.executable).parent
OTP_CODE = re.compile(r"^(\d{6})\s*$", re.MULTILINE)
# Every request of a run comes from 127.0.0.1: the per-IP limits would stop the load generator itself.
UNLIMITED = "1000000 per minute"
_HEADERS = email.parser.BytesHeaderParser(policy=email.policy.compat32)


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def database(name: str = "bench") -> tuple[str, Cluster | None]:
    """`DATABASE_URL` when set, else a throwaway PostgreSQL cluster with the production defaults
    (fsync and synchronous commit on) and a UTF-8 locale."""
    if url := os.environ.get("DATABASE_URL"):
        return url, None
    bindir = find_bindir()
    if bindir is None:
        raise SystemExit("PostgreSQL binaries (initdb, pg_ctl) not found: install postgresql")
    cluster = Cluster(bindir, durable=True, locale="C.UTF-8")
    cluster.start()
    return cluster.create_database(name), cluster


def libpq_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def app_env(database_url: str, smtp_port: int, app_port: int, **extra: str) -> dict[str, str]:
    """The environment of a production-like app process (no development switches)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLASK_")}
    env.update(
        DATABASE_URL=database_url,
        # The same key every run: a data set reused by a later run (DATABASE_URL) keeps its sealed
        # status links readable, as a deployment does; with a new key each reply minted a new link.
        SECRET_KEY=os.environ.get("BENCH_SECRET_KEY") or "kip-bench-secret-key-not-for-production",
        FLASK_SKIP_DOTENV="1",  # production-like: not the .flaskenv of `make run`
        FLASK_MAIL_SERVER="127.0.0.1",
        FLASK_MAIL_PORT=str(smtp_port),
        FLASK_PUBLIC_URL=f"http://127.0.0.1:{app_port}",
        FLASK_INQUIRY_FORM_LIMIT=UNLIMITED,
        FLASK_INQUIRY_SEND_LIMIT=UNLIMITED,
        FLASK_OPERATOR_LOGIN_LIMIT=UNLIMITED,
        FLASK_PORTAL_LOGIN_LIMIT=UNLIMITED,
        FLASK_REGISTRATION_LIMIT=UNLIMITED,
        FLASK_INQUIRY_MESSAGE_LIMIT=UNLIMITED,
        FLASK_INQUIRY_LINK_LIMIT=UNLIMITED,
        # Every limit is UNLIMITED here, so each worker counting alone changes nothing measured.
        FLASK_RATELIMIT_MEMORY_PER_WORKER="true",
        PYTHONPATH=str(ROOT),
    )
    env.update(extra)
    return env


def in_process_app(env: dict[str, str]) -> Any:
    """The app in this process, configured like the gunicorn one (its environment taken over)."""
    os.environ.update(
        {k: v for k, v in env.items() if k.startswith(("FLASK_", "DATABASE", "SECRET"))}
    )
    from backoffice import create_app

    app = create_app()
    # Its test client's host, besides the public one (outside development the app answers no other).
    app.config["TRUSTED_HOSTS"] = [*app.config["TRUSTED_HOSTS"], "localhost"]
    return app


def wait_for_code(codes: Any, address: str, timeout: float) -> str:
    """The newest one-time password sent to `address`, taken out of `codes` (waits for delivery)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if code := codes.pop(address.lower(), None):
            return code
        time.sleep(0.01)
    raise TimeoutError(f"no one-time password reached {address}")


def flask(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    result = subprocess.run(
        [str(BIN / "flask"), "--app", "wsgi", *args],
        env=env,
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"flask {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


class Mailbox:
    """A real SMTP server (aiosmtpd) on loopback that keeps the Message-ID of what it receives and the
    one-time passwords by recipient. `codes` and `received` may be shared containers (multiprocessing
    Manager) when the server runs in a process of its own (see SmtpProcess)."""

    def __init__(self, port: int | None = None, codes: Any = None, received: Any = None) -> None:
        self.port = port or free_port()
        self.codes: Any = {} if codes is None else codes
        self.received: Any = [] if received is None else received
        self.controller: Controller | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        # The server shares the machine with the app it measures: read the headers only (cheap), and
        # parse the whole message only for the one-time-password mails whose code a client waits for.
        headers = _HEADERS.parsebytes(envelope.content, headersonly=True)
        self.received.append(str(headers["Message-ID"]))
        if "ワンタイムパスワード" in str(
            email.header.make_header(email.header.decode_header(headers["Subject"] or ""))
        ):
            message = email.message_from_bytes(envelope.content, policy=email.policy.default)
            body = message.get_body(preferencelist=("plain",))
            if body is not None and (code := OTP_CODE.search(body.get_content())):
                for address in envelope.rcpt_tos:
                    self.codes[address.lower()] = code.group(1)
        return "250 OK"

    def start(self) -> "Mailbox":
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def code_for(self, address: str, timeout: float = 10) -> str:
        return wait_for_code(self.codes, address, timeout)

    def message_ids(self) -> Counter[str]:
        return Counter(list(self.received))


class SmtpProcess:
    """The Mailbox in a process of its own, so that `down()` is a real outage: the process is killed,
    its port refuses connections and open sessions break, until `up()` starts a new one on that port."""

    def __init__(self, manager: Any) -> None:
        self.mailbox = Mailbox(codes=manager.dict(), received=manager.list())
        self.port = self.mailbox.port
        self.process: Any = None

    def _serve(self) -> None:
        self.mailbox.start()
        while True:
            time.sleep(3600)

    def up(self) -> "SmtpProcess":
        for _attempt in range(100):
            self.process = multiprocessing.get_context("fork").Process(
                target=self._serve, daemon=True
            )
            self.process.start()
            if _listening(self.port, timeout=5):
                return self
            self.process.kill()
            time.sleep(0.1)
        raise SystemExit(f"the SMTP server could not listen on {self.port}")

    def down(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.join()
            self.process = None


def _listening(port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


class Gunicorn:
    """The app (or the floor) under gunicorn with the repository's gunicorn.conf.py."""

    def __init__(self, target: str, env: dict[str, str], port: int, workers: int) -> None:
        self.target, self.env, self.port, self.workers = target, env, port, workers
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = Path(tempfile.gettempdir()) / f"kip-gunicorn-{port}.log"

    def start(self, ready_path: str = "/healthz") -> "Gunicorn":
        self.process = subprocess.Popen(
            [
                str(BIN / "gunicorn"),
                "--config",
                str(ROOT / "gunicorn.conf.py"),
                "--workers",
                str(self.workers),
                "--bind",
                f"127.0.0.1:{self.port}",
                self.target,
            ],
            env=self.env,
            cwd=ROOT,
            stdout=self.log_path.open("wb"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn exited:\n{self.log_path.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{ready_path}", timeout=5):
                    pass
                if len(self.worker_pids()) == self.workers:
                    return self
            except OSError:
                pass
            time.sleep(0.2)
        raise SystemExit("gunicorn did not start in 60 s")

    def worker_pids(self) -> list[int]:
        assert self.process is not None
        return children(self.process.pid)

    def server_pids(self) -> list[int]:
        """The master and its workers."""
        assert self.process is not None
        return [self.process.pid, *self.worker_pids()]

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> "Gunicorn":
        return self if self.process else self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _processes() -> Iterator[tuple[int, str, list[str]]]:
    """(pid, command name, the fields of /proc/PID/stat after the name) of every running process."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            name, fields = stat.split(" (", 1)[1].rsplit(")", 1)
            yield int(entry.name), name, fields.split()


def children(pid: int) -> list[int]:
    return sorted(child for child, _name, fields in _processes() if int(fields[1]) == pid)


def _cpu_seconds(fields: list[str]) -> float:
    """User + system CPU seconds from a process's stat fields."""
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuShare:
    """The CPU seconds each part of this machine spends while a block runs: `server` (the given
    processes, e.g. gunicorn's master and workers), `postgresql` (every local postgres process; one
    that ends inside the block, such as a client's own connection, is missed), `clients` (the
    processes this one started and reaped inside the block: the load generator's) and `smtp` (this
    process: the SMTP server's thread when it runs here, beside a main thread that mostly waits)."""

    def __init__(self, server_pids: list[int]) -> None:
        self.server_pids = server_pids
        self.spent: dict[str, float] = {}

    def _read(self) -> dict[str, float]:
        server = postgresql = 0.0
        for pid, name, fields in _processes():  # one pass over /proc for both
            if pid in self.server_pids:
                server += _cpu_seconds(fields)
            elif name == "postgres":
                postgresql += _cpu_seconds(fields)
        reaped = resource.getrusage(resource.RUSAGE_CHILDREN)
        return {
            "server": server,
            "postgresql": postgresql,
            "clients": reaped.ru_utime + reaped.ru_stime,
            "smtp": time.process_time(),
        }

    def __enter__(self) -> "CpuShare":
        self._start = self._read()
        return self

    def __exit__(self, *exc: object) -> None:
        end = self._read()
        self.spent = {part: end[part] - self._start[part] for part in end}

    def per(self, count: int) -> dict[str, float]:
        """Milliseconds of each part per unit of work (e.g. per submission)."""
        return {part: round(s * 1000 / max(count, 1), 2) for part, s in self.spent.items()}


def rss_mb(pid: int) -> float:
    """Resident memory of a process in MiB (0 when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class PeakMemory:
    """Samples the resident memory of some processes every 50 ms and keeps each one's peak."""

    def __init__(self, pids: list[int]) -> None:
        self.pids = pids
        self.peak = dict.fromkeys(pids, 0.0)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for pid in self.pids:
                self.peak[pid] = max(self.peak[pid], rss_mb(pid))
            time.sleep(0.05)

    def __enter__(self) -> "PeakMemory":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def machine(database_url: str) -> dict[str, Any]:
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    memory = int(Path("/proc/meminfo").read_text().split()[1]) // 1024 // 1024
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": memory,
        "python": sys.version.split()[0],
        "kernel": os.uname().release,
        "postgresql": psycopg.connect(libpq_url(database_url)).info.server_version,
    }
