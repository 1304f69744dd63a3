"""docs/deploy: the systemd units are valid, the whole guide works on loopback (bench/deploy_smoke.py),
and the background commands never sleep inside a transaction (a migration of the live database would
wait for it)."""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from backoffice.paths import ROOT
from tests.builders.app import missing
from tests.postgres import free_port

SYSTEMD = ROOT / "docs" / "deploy" / "systemd"


def test_every_unit_is_valid_for_systemd(tmp_path: Path) -> None:
    if not shutil.which("systemd-analyze"):
        missing("systemd-analyze not found; install Debian's systemd package")
    # The units as installed: their paths here, the template instantiated on a port.
    names = []
    for unit in SYSTEMD.iterdir():
        text = (
            unit.read_text(encoding="utf-8")
            .replace("/srv/kip/.venv", str(Path(sys.executable).parent.parent))
            .replace("/srv/kip", str(ROOT))
            .replace("/etc/kip/kip.env", str(ROOT / "docs" / "deploy" / "kip.env.example"))
        )
        name = unit.name.replace("@.", "@8000.")
        (tmp_path / name).write_text(text, encoding="utf-8")
        names.append(f"./{name}")
    assert len(names) >= 10
    checked = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *sorted(names)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    # It says what it ignores (an unknown key, a bad value) on stderr and still exits 0.
    complaints = [line for line in checked.stderr.splitlines() if "kip-" in line]
    assert checked.returncode == 0
    assert not complaints, complaints


@pytest.mark.timeout(900)  # a whole deployment, twice upgraded and restarted: over the usual 300 s
def test_the_guide_works_as_written_on_loopback() -> None:
    """Two app servers, one PostgreSQL, one Redis, the workers and nginx; the upgrade from the
    previous version under load, mail both ways, metrics, backup and restore, key rotation."""
    needed = {"nginx": shutil.which("nginx"), "redis-server": shutil.which("redis-server")}
    if absent := [name for name, path in needed.items() if not path]:
        missing(f"{', '.join(absent)} not found; install Debian's {' and '.join(absent)} packages")
    done = subprocess.run(
        [sys.executable, "-m", "bench.deploy_smoke"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    assert "deploy-smoke: passed" in done.stdout


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_the_workers_never_sleep_inside_a_transaction(app, db, postgres_url: str) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": postgres_url,
        "SECRET_KEY": "test-secret-key",
        "FLASK_MAIL_SERVER": "127.0.0.1",
        "FLASK_MAIL_PORT": str(free_port()),
        "FLASK_PUBLIC_URL": "https://portal.example.jp",
        "FLASK_SKIP_DOTENV": "1",
    }
    env.pop("FLASK_DEVELOPMENT", None)
    commands = (
        ("tickets", "sweep", "--loop", "--interval", "60"),
        ("mail", "deliver", "--loop", "--interval", "60"),
    )
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", *command],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for command in commands
    ]
    try:
        # Both connect, run a pass and go to sleep for a minute.
        others = sa.text(
            "SELECT pid, state FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
        )
        deadline = time.monotonic() + 60
        while len(db.session.execute(others).all()) < 2:
            db.session.rollback()
            assert time.monotonic() < deadline, "the workers never connected"
            time.sleep(0.2)
        db.session.rollback()
        time.sleep(3)
        states = db.session.execute(others).all()
        assert len(states) >= 2
        assert [s for s in states if s.state and s.state.startswith("idle in transaction")] == []
    finally:
        for worker in workers:
            worker.terminate()
            worker.wait(10)
