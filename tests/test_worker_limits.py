"""Several gunicorn workers must share their rate-limit counters: memory storage is refused outside
development unless explicitly allowed."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from backoffice.config import ConfigError, check_rate_limit_storage

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = {
    "SECRET_KEY": "k",
    "FLASK_MAIL_SERVER": "mail.example",
    "FLASK_PUBLIC_URL": "https://portal.example.jp",
}


@pytest.fixture
def production(monkeypatch):
    for name in list(os.environ):
        if name.startswith("FLASK_"):
            monkeypatch.delenv(name)
    for name, value in PRODUCTION.items():
        monkeypatch.setenv(name, value)
    return monkeypatch


def test_several_workers_with_memory_storage_are_refused(production) -> None:
    with pytest.raises(ConfigError, match="FLASK_RATELIMIT_STORAGE_URI=redis"):
        check_rate_limit_storage(2)


@pytest.mark.parametrize(
    ("workers", "env"),
    [
        (1, {}),
        (4, {"FLASK_RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0"}),
        (4, {"FLASK_RATELIMIT_MEMORY_PER_WORKER": "true"}),
        (4, {"FLASK_DEVELOPMENT": "true"}),
    ],
)
def test_one_worker_shared_storage_or_an_explicit_choice_may_start(
    production, workers: int, env: dict[str, str]
) -> None:
    for name, value in env.items():
        production.setenv(name, value)
    check_rate_limit_storage(workers)


def test_gunicorn_stops_before_forking_and_says_what_to_set() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLASK_")}
    env.update(PRODUCTION, FLASK_SKIP_DOTENV="1", DATABASE_URL="sqlite://")
    gunicorn = Path(sys.executable).parent / "gunicorn"
    result = subprocess.run(
        [
            str(gunicorn),
            "-c",
            "gunicorn.conf.py",
            "--workers",
            "2",
            "-b",
            "127.0.0.1:0",
            "wsgi:app",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "FLASK_RATELIMIT_STORAGE_URI=redis" in result.stdout + result.stderr
