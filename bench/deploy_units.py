"""The production guide's files (docs/deploy) read as systemd and nginx would read them, and run on
loopback by the deployment smoke test (bench/deploy_smoke.py): each unit's ExecStart with its
EnvironmentFile, Environment and WorkingDirectory, the paths of /srv, /etc, /run and /var mapped into a
folder of the test's own."""

import configparser
import os
import re
import shlex
import signal
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from bench.infra import ROOT

DEPLOY = ROOT / "docs" / "deploy"
_VARIABLE = re.compile(r"\$\{(\w+)\}|\$(\w+)")


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines as systemd's EnvironmentFile= reads them (comments, blank lines, quotes)."""
    values: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, _, value = line.partition("=")
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def _quoted(value: str) -> str:
    """As the guide writes a value: JSON in single quotes, one with spaces in double quotes (sh and
    systemd both take the outer quotes off)."""
    if '"' in value:
        return f"'{value}'"
    return f'"{value}"' if re.search(r"[\s<>]", value) else value


def write_env_file(path: Path, values: dict[str, str]) -> None:
    lines = [f"{k}={_quoted(v)}" for k, v in values.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    path.chmod(0o600)


@dataclass
class Site:
    """Where a deployment lives on this machine: the code it runs, and its folder for the rest."""

    root: Path
    venv: Path
    env_file: Path

    def paths(self, code: Path) -> list[tuple[str, str]]:
        """The guide's paths and what they are here, the longest first."""
        return [
            ("/srv/kip/.venv", str(self.venv)),
            ("/srv/kip", str(code)),
            ("/etc/kip/kip.env", str(self.env_file)),
            ("/run/", f"{self.root}/run/"),
            ("/var/lib/kip", f"{self.root}/var-lib-kip"),
            ("/var/backups/kip", f"{self.root}/backups"),
        ]

    def map(self, text: str, code: Path) -> str:
        for guide, here in self.paths(code):
            text = text.replace(guide, here)
        return text


def _expand(text: str, variables: dict[str, str]) -> str:
    return _VARIABLE.sub(lambda m: variables.get(m.group(1) or m.group(2), ""), text)


@dataclass
class Unit:
    """One systemd service of docs/deploy/systemd, started as a process of this test."""

    name: str
    site: Site
    code: Path = ROOT
    instance: str = ""
    process: subprocess.Popen[bytes] | None = None
    log_path: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log_path = (
            self.site.root / "logs" / f"{self.name.replace('@', '-')}{self.instance}.log"
        )

    def _service(self) -> configparser.SectionProxy:
        parser = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
        parser.optionxform = str  # type: ignore[assignment,method-assign]
        text = (DEPLOY / "systemd" / f"{self.name}.service").read_text(encoding="utf-8")
        parser.read_string(text.replace("%i", self.instance))
        return parser["Service"]

    def command(self) -> tuple[list[str], dict[str, str], Path]:
        service = self._service()
        env = {"PATH": os.environ["PATH"], "LANG": "C.UTF-8"}
        env |= read_env_file(Path(self.site.map(service["EnvironmentFile"], self.code)))
        for assignment in service.get("Environment", "").split():
            key, _, value = assignment.partition("=")
            env[key] = self.site.map(value, self.code)
        if directory := service.get("RuntimeDirectory"):
            (self.site.root / "run" / directory).mkdir(parents=True, exist_ok=True)
        argv = [
            self.site.map(_expand(word, env), self.code)
            for word in shlex.split(service["ExecStart"])
        ]
        return argv, env, Path(self.site.map(service["WorkingDirectory"], self.code))

    def start(self, ready_url: str | None = None) -> "Unit":
        argv, env, cwd = self.command()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            argv, env=env, cwd=cwd, stdout=self.log_path.open("ab"), stderr=subprocess.STDOUT
        )
        if ready_url:
            self._wait(ready_url)
        return self

    def run(self, timeout: float = 300) -> str:
        """A oneshot unit: run it to the end; its output."""
        argv, env, cwd = self.command()
        done = subprocess.run(
            argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
        )
        if done.returncode != 0:
            raise SystemExit(f"{self.name} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def _wait(self, url: str) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise SystemExit(f"{self.name}{self.instance} exited:\n{self.log()[-3000:]}")
            try:
                with urllib.request.urlopen(url, timeout=5):
                    return
            except OSError:
                time.sleep(0.2)
        raise SystemExit(f"{self.name}{self.instance} did not answer {url} in 60 s")

    def reload(self) -> None:
        """`systemctl reload` (ExecReload: SIGHUP to the main process)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGHUP)

    def stop(self) -> None:
        """`systemctl stop`: SIGTERM, then SIGKILL after TimeoutStopSec."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(int(self._service().get("TimeoutStopSec", "90")))
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log(self) -> str:
        return (
            self.log_path.read_text(encoding="utf-8", errors="replace")
            if self.log_path.exists()
            else ""
        )


def run_script(
    name: str, site: Site, *args: str, env: dict[str, str] | None = None, code: Path = ROOT
) -> str:
    """A shell script of docs/deploy with the deployment's settings, as `sh docs/deploy/NAME` runs."""
    base = {"PATH": os.environ["PATH"], "LANG": "C.UTF-8"} | read_env_file(site.env_file)
    done = subprocess.run(
        ["sh", str(DEPLOY / name), *args],
        env={**base, "KIP_ENV_FILE": str(site.env_file), "KIP_HOME": str(code), **(env or {})},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"{name} {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def nginx_site(
    site: Site, servers: list[str], https_port: int, http_port: int, certificate: Path, key: Path
) -> str:
    """docs/deploy/nginx/kip.conf for this machine: its app servers, ports, name and certificate."""
    text = (DEPLOY / "nginx" / "kip.conf").read_text(encoding="utf-8")
    upstream = "".join(f"    server {s} max_fails=3 fail_timeout=10s;\n" for s in servers)
    text = re.sub(r"(    server 10\.0\.0\.\d+:8000 [^\n]*\n)+", upstream, text)
    replacements = {
        "listen 443 ssl http2;": f"listen 127.0.0.1:{https_port} ssl http2;",
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "portal.example.jp": "localhost",
        "/etc/ssl/kip/fullchain.pem": str(certificate),
        "/etc/ssl/kip/privkey.pem": str(key),
    }
    for guide, here in replacements.items():
        if guide not in text:
            raise SystemExit(f"docs/deploy/nginx/kip.conf no longer has {guide!r}")
        text = text.replace(guide, here)
    return text
