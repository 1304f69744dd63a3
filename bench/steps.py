"""Where a submission's time goes: the CPU time of each step of the inquiry form, app and floor side by side.

The throughput run says how much two shared cores manage; this says where the app spends more than the
floor. Each step is one request through Flask's test client in this process (no HTTP, no gunicorn), against
the benchmark's database, timed with the thread's CPU clock. The app's acknowledgement mail is then
delivered to an SMTP server in another process, and that delivery timed as a step of its own (in the
throughput run a thread of the worker does it after the response).
"""

import importlib
import logging
import multiprocessing
import os
import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from bench import scenarios
from bench.client import CSRF
from bench.infra import SmtpProcess, in_process_app, libpq_url

STEPS = ("form", "input", "confirm", "send", "complete")


def measure(env: dict[str, str], walks: int = 300, warmup: int = 20) -> dict[str, dict[str, float]]:
    """Median CPU milliseconds per step over `walks` submissions (after `warmup` more), for the app, the
    stack floor and the floor; the app's also has `mail`."""
    scenarios.choose_category(libpq_url(env["DATABASE_URL"]))
    logger = logging.getLogger("backoffice")
    level = logger.level
    logger.setLevel(logging.WARNING)  # else a line for every inquiry and mail
    with multiprocessing.Manager() as manager:
        smtp = SmtpProcess(manager).up()
        try:
            app = in_process_app({**env, "FLASK_MAIL_PORT": str(smtp.port)})
            return {
                "app": _app(app, walks, warmup),
                "stack_floor": _floor("bench.stack_floor", env, 50_000_000, walks, warmup),
                "floor": _floor("bench.floor", env, 40_000_000, walks, warmup),
            }
        finally:
            smtp.down()
            logger.setLevel(level)


def _app(app: Any, walks: int, warmup: int) -> dict[str, float]:
    from backoffice.extensions import db
    from backoffice.mail import delivery
    from backoffice.mail.models import EmailStatus, OutboundEmail

    server = app.config["MAIL_SERVER"]

    def walk(i: int) -> dict[str, float]:
        app.config["MAIL_SERVER"] = None  # no delivery inside 送信: it is timed below
        samples = _walk(app.test_client(), i)
        app.config["MAIL_SERVER"] = server
        with app.app_context():
            email_id = db.session.scalars(
                sa.select(OutboundEmail.id).where(
                    OutboundEmail.to_address == scenarios.inquiry_data(i)["email"],
                    OutboundEmail.status == EmailStatus.QUEUED,
                )
            ).one()
            db.session.rollback()
            started = time.thread_time()
            delivery.deliver_one(email_id)
            samples["mail"] = (time.thread_time() - started) * 1000
        return samples

    medians = _medians(walk, 30_000_000, walks, warmup)
    with app.app_context():
        db.engine.dispose()
    return medians


def _floor(
    module: str, env: dict[str, str], first: int, walks: int, warmup: int
) -> dict[str, float]:
    os.environ.update(DATABASE_URL=env["DATABASE_URL"], SECRET_KEY=env["SECRET_KEY"])
    app = importlib.import_module(module).create_app()
    medians = _medians(lambda i: _walk(app.test_client(), i), first, walks, warmup)
    app.extensions["floor_engine"].dispose()
    return medians


def _medians(
    walk: Callable[[int], dict[str, float]], first: int, walks: int, warmup: int
) -> dict[str, float]:
    """Run `walk(first)`, `walk(first + 1)` … `warmup + walks` times; the median of each step, warm-up
    left out."""
    times: dict[str, list[float]] = defaultdict(list)
    for n in range(warmup + walks):
        for step, ms in walk(first + n).items():
            if n >= warmup:
                times[step].append(ms)
    return {step: round(statistics.median(ms), 2) for step, ms in times.items()}


def _walk(client: Any, i: int) -> dict[str, float]:
    """入力 (GET, POST), 確認 (GET), 送信 (POST), 完了 (GET), as scenarios.submit does over HTTP; the
    thread's CPU milliseconds of each."""
    out: dict[str, float] = {}

    def step(name: str, request: Callable[[], Any], status: int) -> Any:
        started = time.thread_time()
        response = request()
        out[name] = (time.thread_time() - started) * 1000
        if response.status_code != status:
            raise SystemExit(f"{name}: HTTP {response.status_code}")
        return response

    data = scenarios.inquiry_data(i)
    page = step("form", lambda: client.get("/inquiry"), 200)
    token = CSRF.search(page.text).group(1)
    step("input", lambda: client.post("/inquiry", data={**data, "csrf_token": token}), 302)
    page = step("confirm", lambda: client.get("/inquiry/confirm"), 200)
    fields = {
        "csrf_token": CSRF.search(page.text).group(1),
        "submission_key": scenarios.SUBMISSION_KEY.search(page.text).group(1),
    }
    step("send", lambda: client.post("/inquiry/confirm", data=fields), 302)
    step("complete", lambda: client.get("/inquiry/complete"), 200)
    return out
