"""Prometheus metrics (prometheus-client): requests by endpoint, counted in each process, and the
state of the outbox, inbound mail, tickets and background commands, read from the database at each
scrape, so that every app server reports the same cluster-wide figures.

Under gunicorn with PROMETHEUS_MULTIPROC_DIR set, the workers' request counts are summed from the
files prometheus-client keeps there (gunicorn.conf.py clears the folder at start-up); without it each
process reports its own.
"""

import os
import time
from collections.abc import Iterator
from datetime import datetime

import sqlalchemy as sa
from flask import Flask, Response, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError

from backoffice.db import utcnow
from backoffice.extensions import db
from backoffice.inbound.models import InboundEmail, InboundState
from backoffice.inquiries import counts
from backoffice.mail.models import EmailStatus, OutboundEmail
from backoffice.monitoring.models import WorkerRun

_requests = CollectorRegistry(auto_describe=True)
REQUESTS = Counter(
    "kip_http_requests",
    "HTTP requests answered, by endpoint, method and status code.",
    ["endpoint", "method", "status"],
    registry=_requests,
)
LATENCY = Histogram(
    "kip_http_request_duration_seconds",
    "Time to the response (to its first byte when it streams), by endpoint.",
    ["endpoint", "method"],
    registry=_requests,
    buckets=(0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)

# Mail statuses reported as a gauge: the sent ones are millions and say nothing an alert needs.
_OUTBOX_STATUSES = (EmailStatus.QUEUED, EmailStatus.FAILED, EmailStatus.BOUNCED)


def init_app(app: Flask) -> None:
    @app.before_request
    def _start_clock() -> None:
        g.kip_request_started = time.perf_counter()

    @app.after_request
    def _count(response: Response) -> Response:
        started = g.pop("kip_request_started", None)
        if started is not None:
            endpoint = request.endpoint or "(no route)"
            REQUESTS.labels(endpoint, request.method, str(response.status_code)).inc()
            LATENCY.labels(endpoint, request.method).observe(time.perf_counter() - started)
        return response


def exposition() -> Response:
    """The metrics in Prometheus' text format."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        per_process = CollectorRegistry()
        multiprocess.MultiProcessCollector(per_process)
    else:
        per_process = _requests
    cluster = CollectorRegistry()
    cluster.register(DatabaseCollector())
    body = generate_latest(per_process) + generate_latest(cluster)
    return Response(body, content_type=CONTENT_TYPE_LATEST)


class DatabaseCollector(Collector):
    """The figures an operator is alerted on, each one indexed query (docs/deploy.md#metrics)."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        up = GaugeMetricFamily("kip_database_up", "1 when the database answered this scrape.")
        try:
            families = list(self._read(utcnow()))
        except SQLAlchemyError:
            db.session.rollback()
            up.add_metric([], 0)
            yield up
            return
        finally:
            db.session.rollback()  # a read-only scrape: end its transaction
        up.add_metric([], 1)
        yield up
        yield from families

    def _read(self, now: datetime) -> Iterator[GaugeMetricFamily]:
        session = db.session
        outbox = GaugeMetricFamily(
            "kip_outbox_emails",
            "Emails in the outbox by status (sent ones not counted).",
            labels=["status"],
        )
        found = dict(
            session.execute(
                sa.select(OutboundEmail.status, sa.func.count())
                .where(OutboundEmail.status.in_(_OUTBOX_STATUSES))
                .group_by(OutboundEmail.status)
            ).all()
        )
        for status in _OUTBOX_STATUSES:
            outbox.add_metric([status.value], found.get(status, 0))
        yield outbox

        oldest = session.scalar(
            sa.select(sa.func.min(OutboundEmail.created_at)).where(
                OutboundEmail.status == EmailStatus.QUEUED
            )
        )
        age = GaugeMetricFamily(
            "kip_outbox_oldest_queued_age_seconds",
            "How long the oldest queued email has waited (0 when none waits).",
        )
        age.add_metric([], _seconds_since(oldest, now) if oldest else 0.0)
        yield age

        inbound = GaugeMetricFamily(
            "kip_inbound_emails",
            "Inbound mails by state (failed: could not be read; unmatched, held and throttled wait "
            "for an operator).",
            labels=["state"],
        )
        found = dict(
            session.execute(
                sa.select(InboundEmail.state, sa.func.count()).group_by(InboundEmail.state)
            ).all()
        )
        for state in InboundState:
            inbound.add_metric([state.value], found.get(state, 0))
        yield inbound

        tickets = GaugeMetricFamily("kip_tickets", "Tickets by status.", labels=["status"])
        for status, count in counts.status_counts(session).items():
            tickets.add_metric([status.value], count)
        yield tickets

        success = GaugeMetricFamily(
            "kip_worker_last_success_timestamp_seconds",
            "When each background command last finished a run (Unix time).",
            labels=["worker"],
        )
        failure = GaugeMetricFamily(
            "kip_worker_last_failure_timestamp_seconds",
            "When each background command last failed a run (Unix time).",
            labels=["worker"],
        )
        for run in session.scalars(sa.select(WorkerRun).order_by(WorkerRun.worker)):
            if run.last_success_at:
                success.add_metric([run.worker], _timestamp(run.last_success_at))
            if run.last_failure_at:
                failure.add_metric([run.worker], _timestamp(run.last_failure_at))
        yield success
        yield failure


def _timestamp(moment: datetime) -> float:
    return moment.timestamp()


def _seconds_since(moment: datetime, now: datetime) -> float:
    return max((now - moment).total_seconds(), 0.0)
