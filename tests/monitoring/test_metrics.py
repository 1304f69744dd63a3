"""/metrics: only with the bearer token, and what it reports (requests, the outbox, inbound mail,
tickets, the background commands' heartbeat), on both databases."""

from datetime import timedelta

import pytest
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families

from backoffice.db import utcnow
from backoffice.inbound.models import InboundEmail, InboundSource, InboundState
from backoffice.mail import delivery
from backoffice.mail.models import EmailStatus, OutboundEmail
from tests import postgres
from tests.builders.app import smtp_config
from tests.builders.inquiries import general_input, seed_tree, send

TOKEN = "a-long-random-metrics-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
DEAD_PORT = postgres.free_port()  # nothing listens: every delivery attempt fails


def scrape(client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics", headers=AUTH)
    assert response.status_code == 200, response.text
    assert response.content_type.startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples, name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


@pytest.mark.parametrize("app_overrides", [{"METRICS_TOKEN": TOKEN}])
def test_metrics_are_refused_without_the_token(client) -> None:
    missing = client.get("/metrics")
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert "kip_" not in missing.text
    for wrong in ("Bearer wrong", f"Basic {TOKEN}", TOKEN, f"Bearer {TOKEN}x"):
        assert client.get("/metrics", headers={"Authorization": wrong}).status_code == 401
    assert client.get("/metrics", headers=AUTH).status_code == 200


def test_without_a_configured_token_there_is_no_metrics_page(client) -> None:
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 404


@pytest.mark.parametrize("app_overrides", [{"METRICS_TOKEN": ["old-token", TOKEN]}])
def test_during_a_rotation_either_token_is_accepted(client) -> None:
    assert client.get("/metrics", headers={"Authorization": "Bearer old-token"}).status_code == 200
    assert client.get("/metrics", headers=AUTH).status_code == 200


@pytest.mark.parametrize(
    "app_overrides", [{"METRICS_TOKEN": TOKEN, **smtp_config(DEAD_PORT, MAIL_MAX_ATTEMPTS=1)}]
)
def test_a_growing_outbox_and_a_failed_mail_are_reported(client, db) -> None:
    seed_tree()
    before = scrape(client)
    assert value(before, "kip_database_up") == 1
    assert value(before, "kip_outbox_emails", status="queued") == 0
    assert value(before, "kip_outbox_oldest_queued_age_seconds") == 0

    # The SMTP server is down: each acknowledgement stays queued (the request's own attempt fails).
    db.session.execute(sa.update(OutboundEmail).values(next_attempt_at=utcnow()))
    send(client, general_input())
    send(client, general_input(email="second@example.jp", email_confirm="second@example.jp"))
    queued = db.session.scalar(
        sa.select(sa.func.count()).where(OutboundEmail.status == EmailStatus.QUEUED)
    )
    failed = db.session.scalar(
        sa.select(sa.func.count()).where(OutboundEmail.status == EmailStatus.FAILED)
    )
    grown = scrape(client)
    assert value(grown, "kip_outbox_emails", status="queued") == queued
    assert value(grown, "kip_outbox_emails", status="failed") == failed
    assert queued + failed == 2

    # An hour later the oldest still waits; the worker's last attempt fails it for good.
    db.session.execute(
        sa.update(OutboundEmail)
        .where(OutboundEmail.status == EmailStatus.QUEUED)
        .values(created_at=utcnow() - timedelta(hours=1), next_attempt_at=utcnow())
    )
    db.session.commit()
    if queued:
        assert 3590 < value(scrape(client), "kip_outbox_oldest_queued_age_seconds") < 3700
    delivery.deliver_due()
    after = scrape(client)
    assert value(after, "kip_outbox_emails", status="failed") == 2
    assert value(after, "kip_outbox_emails", status="queued") == 0
    assert value(after, "kip_outbox_oldest_queued_age_seconds") == 0


@pytest.mark.parametrize("app_overrides", [{"METRICS_TOKEN": TOKEN}])
def test_requests_tickets_inbound_mail_and_the_sweep_are_reported(client, db, runner) -> None:
    seed_tree()
    before = scrape(client)
    index_before = value(
        before, "kip_http_requests_total", endpoint="public.index", method="GET", status="200"
    )
    client.get("/")
    client.get("/")
    client.get("/no-such-page")
    send(client, general_input())
    db.session.add(
        InboundEmail(
            message_key="k" * 64,
            source=InboundSource.IMAP,
            state=InboundState.FAILED,
            raw_sealed=b"x",
        )
    )
    db.session.commit()
    assert runner.invoke(args=["tickets", "sweep"]).exit_code == 0

    after = scrape(client)
    index_after = value(
        after, "kip_http_requests_total", endpoint="public.index", method="GET", status="200"
    )
    assert index_after == (index_before or 0) + 2
    assert value(
        after, "kip_http_requests_total", endpoint="(no route)", method="GET", status="404"
    )
    assert (
        value(
            after, "kip_http_request_duration_seconds_count", endpoint="public.index", method="GET"
        )
        >= 2
    )
    assert value(after, "kip_tickets", status="new") == 1
    assert value(after, "kip_tickets", status="closed") == 0
    assert value(after, "kip_inbound_emails", state="failed") == 1
    assert value(after, "kip_inbound_emails", state="appended") == 0
    swept = value(after, "kip_worker_last_success_timestamp_seconds", worker="sweep")
    assert swept is not None
    assert abs(swept - utcnow().timestamp()) < 60
    assert value(after, "kip_worker_last_success_timestamp_seconds", worker="fetch") is None
