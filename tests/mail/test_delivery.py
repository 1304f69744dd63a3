"""Delivery through the outbox to a real SMTP server (aiosmtpd on loopback), with `flask mail deliver`."""

import os
import queue as queues
import subprocess
import sys
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from backoffice.db import utcnow
from backoffice.mail import delivery, outbox
from backoffice.mail.models import EmailStatus, OutboundEmail
from backoffice.paths import ROOT
from tests import postgres
from tests.builders.app import smtp_config
from tests.builders.inquiries import general_input, seed_tree, send

DEAD_PORT = postgres.free_port()  # nothing listens here: connection refused, like an SMTP outage


def run_worker(
    database_url: str, port: int, *args: str, secret_key: str = "test-secret-key"
) -> subprocess.Popen:
    """`flask mail deliver` in its own process, configured like a production worker (the app's
    SECRET_KEY: secret-bearing bodies are sealed with it)."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": secret_key,
        "FLASK_MAIL_SERVER": "127.0.0.1",
        "FLASK_MAIL_PORT": str(port),
        "FLASK_PUBLIC_URL": "https://portal.example.jp",
    }
    env.pop("FLASK_DEVELOPMENT", None)
    env["FLASK_SKIP_DOTENV"] = "1"  # a production worker: not the .flaskenv of `make run`
    return subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "mail", "deliver", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen) -> str:
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    return out


def queue(db, n: int, *, secret: bool = False) -> list[int]:
    emails = []
    for i in range(n):
        emails.append(
            outbox.enqueue(
                "inquiry_received_test", f"user{i}@example.jp", {"n": i}, contains_secret=secret
            )
        )
    db.session.commit()
    return [e.id for e in emails]


@pytest.fixture
def test_templates(app, tmp_path):
    """A minimal mail template pair, so that these tests depend on the outbox only."""
    from jinja2 import ChoiceLoader, DictLoader

    app.jinja_loader  # noqa: B018 (create the default loader first)
    app.jinja_env.loader = ChoiceLoader(
        [
            DictLoader(
                {
                    "mail/inquiry_received_test.txt": "{% set subject %}テスト {{ n }}{% endset %}本文 {{ n }}",
                    "mail/inquiry_received_test.html": "<p>本文 {{ n }}</p>",
                }
            ),
            app.jinja_env.loader,
        ]
    )


@pytest.mark.parametrize("app_overrides", [smtp_config(DEAD_PORT)])
def test_smtp_down_keeps_inquiry_and_mail_then_worker_delivers(
    client,
    db,
    database_url,
    smtp_server,
) -> None:
    seed_tree()
    response = send(client, general_input())
    response.close()  # the app tries delivery once the response is out; the server is down
    assert response.status_code == 302
    email = db.session.scalars(sa.select(OutboundEmail)).one()
    assert email.status is EmailStatus.QUEUED
    assert email.attempts == 1
    assert "ConnectionRefusedError" in email.last_error
    assert smtp_server.messages == []

    out = finish(run_worker(database_url, smtp_server.port))
    assert "sent 1, failed 0" in out
    [message] = smtp_server.messages
    db.session.expire_all()
    email = db.session.get(OutboundEmail, email.id)
    assert email.status is EmailStatus.SENT
    assert message["To"] == "yamada@himawari.example.jp"
    assert message["Subject"] == email.subject
    # A Japanese display name survives the legacy generator (RFC 2047 encoded words).
    [sender] = message["From"].addresses
    assert sender.addr_spec == "noreply@kaigo-portal.example.jp"
    assert sender.display_name.replace(" ", "") == "介護情報基盤ポータルお問い合わせ窓口"
    # Built by another process on its second attempt, still the outbox row's own Message-ID.
    assert message["Message-ID"] == delivery.message_id(email)
    text = smtp_server.text_of(message)
    assert "受付番号：" in text
    html = message.get_body(preferencelist=("html",)).get_content()
    assert "<table" in html
    # The body carried the status-page token: scrubbed from the database once delivered.
    assert "/inquiry/status/" not in email.body_text + email.body_html
    assert email.scrubbed_at is not None


@pytest.mark.live_smtp
def test_mail_is_delivered_right_after_the_response(client, db, smtp_server) -> None:
    seed_tree()
    response = send(client, general_input())
    assert smtp_server.messages == []  # not while the request is being answered
    response.close()
    assert len(smtp_server.messages) == 1
    assert db.session.scalars(sa.select(OutboundEmail.status)).one() is EmailStatus.SENT


@pytest.mark.live_smtp
def test_a_request_delivers_what_it_committed_and_nothing_it_rolled_back(
    app, db, smtp_server, test_templates
) -> None:
    # Services never pass outbox ids on: the request hands over whatever its commits queued.
    with app.test_request_context("/"):
        outbox.enqueue("inquiry_received_test", "rolled-back@example.jp", {"n": 1})
        db.session.rollback()
        outbox.enqueue("inquiry_received_test", "first@example.jp", {"n": 2})
        db.session.commit()
        outbox.enqueue("inquiry_received_test", "second@example.jp", {"n": 3})
        db.session.commit()
        response = app.process_response(app.response_class("ok"))
        assert smtp_server.messages == []  # not before the response has gone out
        response.close()
    assert sorted(m["To"] for m in smtp_server.messages) == [
        "first@example.jp",
        "second@example.jp",
    ]
    statuses = db.session.execute(sa.select(OutboundEmail.to_address, OutboundEmail.status)).all()
    assert sorted(statuses) == [
        ("first@example.jp", EmailStatus.SENT),
        ("second@example.jp", EmailStatus.SENT),
    ]


def test_mail_is_handed_over_only_when_the_outermost_transaction_commits(
    app, db, test_templates
) -> None:
    def addresses(ids: list[int]) -> list[str]:
        return sorted(db.session.get(OutboundEmail, i).to_address for i in ids)

    with app.test_request_context("/"):
        outbox.enqueue("inquiry_received_test", "kept@example.jp", {"n": 1})
        db.session.flush()
        savepoint = db.session.begin_nested()
        outbox.enqueue("inquiry_received_test", "savepoint@example.jp", {"n": 2})
        savepoint.rollback()
        db.session.commit()
        assert addresses(outbox.take_committed()) == ["kept@example.jp"]

        savepoint = db.session.begin_nested()
        outbox.enqueue("inquiry_received_test", "released@example.jp", {"n": 3})
        savepoint.commit()  # releases the SAVEPOINT only
        assert outbox.take_committed() == []
        db.session.rollback()
        db.session.commit()
        assert outbox.take_committed() == []

        outbox.enqueue("inquiry_received_test", "closed@example.jp", {"n": 4})
        db.session.flush()
        db.session.close()
        db.session.commit()
        assert outbox.take_committed() == []
    stored = db.session.scalars(sa.select(OutboundEmail.to_address)).all()
    # (pysqlite does not roll a released SAVEPOINT back with its transaction, so "released" may stay
    # on SQLite; then it is left to the worker, never lost.)
    assert "kept@example.jp" in stored
    assert not {"savepoint@example.jp", "closed@example.jp"} & set(stored)


def test_mail_queued_outside_a_request_waits_for_the_worker(
    app, db, smtp_server, test_templates
) -> None:
    app.config.update(smtp_config(smtp_server.port))
    [email_id] = queue(db, 1)  # as the CLI does (the demo, a re-issue): no response to wait for
    with app.test_request_context("/"):
        app.process_response(app.response_class("ok")).close()
    assert smtp_server.messages == []
    assert db.session.get(OutboundEmail, email_id).status is EmailStatus.QUEUED


def test_two_workers_deliver_each_mail_once(db, database_url, smtp_server, test_templates) -> None:
    ids = queue(db, 40)
    workers = [run_worker(database_url, smtp_server.port, "--batch", "5") for _ in range(2)]
    outputs = [finish(w) for w in workers]
    # Each worker makes one pass; whatever is left (if one was slow to start) a third pass sends.
    outputs.append(finish(run_worker(database_url, smtp_server.port)))
    subjects = sorted(m["Subject"] for m in smtp_server.messages)
    assert subjects == sorted(f"テスト {i}" for i in range(40)), outputs
    db.session.expire_all()
    statuses = db.session.scalars(sa.select(OutboundEmail.status).where(OutboundEmail.id.in_(ids)))
    assert set(statuses) == {EmailStatus.SENT}


@pytest.mark.live_smtp
def test_claimed_mail_is_left_to_its_worker_until_the_lease_runs_out(
    db, smtp_server, test_templates
) -> None:
    [email_id] = queue(db, 1)
    db.session.execute(
        sa.update(OutboundEmail).values(
            claimed_until=utcnow() + timedelta(minutes=5), claim_token="other"
        )
    )
    db.session.commit()
    assert delivery.deliver_due().sent == 0
    db.session.execute(
        sa.update(OutboundEmail).values(claimed_until=utcnow() - timedelta(seconds=1))
    )
    db.session.commit()
    assert delivery.deliver_due().sent == 1
    assert len(smtp_server.messages) == 1
    assert delivery.deliver_due().sent == 0  # sent once, never again
    assert len(smtp_server.messages) == 1
    assert db.session.get(OutboundEmail, email_id).status is EmailStatus.SENT


@pytest.mark.parametrize(
    "app_overrides", [smtp_config(DEAD_PORT, MAIL_MAX_ATTEMPTS=3, MAIL_RETRY_BASE_SECONDS=60)]
)
def test_failures_back_off_and_give_up_after_the_last_attempt(db, test_templates) -> None:
    [email_id] = queue(db, 1)
    assert delivery.deliver_due().failed == 1
    email = db.session.get(OutboundEmail, email_id)
    first_delay = email.next_attempt_at - utcnow()
    assert timedelta(seconds=55) < first_delay <= timedelta(seconds=60)
    assert delivery.deliver_due().failed == 0  # not due yet

    for expected_delay in (120, 240):
        db.session.execute(sa.update(OutboundEmail).values(next_attempt_at=utcnow()))
        db.session.commit()
        assert delivery.deliver_due().failed == 1
        db.session.expire_all()
        email = db.session.get(OutboundEmail, email_id)
        assert email.next_attempt_at - utcnow() <= timedelta(seconds=expected_delay)
    assert email.status is EmailStatus.FAILED
    assert email.attempts == 3


@pytest.mark.live_smtp
def test_mail_without_a_secret_keeps_its_body(db, smtp_server, test_templates) -> None:
    [plain] = queue(db, 1)
    [secret] = queue(db, 1, secret=True)
    delivery.deliver_due()
    assert db.session.get(OutboundEmail, plain).body_text == "本文 0\n"
    assert db.session.get(OutboundEmail, secret).body_text == delivery.SCRUBBED_NOTICE


def test_worker_refuses_to_run_without_a_mail_server(runner) -> None:
    result = runner.invoke(args=["mail", "deliver"])
    assert result.exit_code != 0
    assert "No mail server is configured" in result.output


def test_development_mailbox_shows_what_would_have_been_sent(client, db) -> None:
    seed_tree()
    send(client, general_input())
    email = db.session.scalars(sa.select(OutboundEmail)).one()
    listing = client.get("/dev/mailbox/")
    assert email.subject in listing.text
    message = client.get(f"/dev/mailbox/{email.id}")
    assert "受付番号：" in message.text
    html = client.get(f"/dev/mailbox/{email.id}/html")
    assert "sandbox" in html.headers["Content-Security-Policy"]


@pytest.mark.parametrize(
    "app_overrides", [{"DEVELOPMENT": False, "TESTING": False, "MAIL_SERVER": "127.0.0.1"}]
)
def test_development_mailbox_does_not_exist_outside_development(client) -> None:
    assert client.get("/dev/mailbox/").status_code == 404


@pytest.mark.live_smtp
def test_development_mailbox_does_not_exist_with_a_mail_server(client) -> None:
    assert client.get("/dev/mailbox/").status_code == 404


def test_worker_with_another_secret_key_sends_nothing_and_keeps_the_mail(
    db, database_url, smtp_server, test_templates
) -> None:
    [email_id] = queue(db, 1, secret=True)
    out = finish(run_worker(database_url, smtp_server.port, secret_key="not-the-app-key"))
    assert "sent 0, failed 1" in out
    assert smtp_server.messages == []
    db.session.expire_all()
    email = db.session.get(OutboundEmail, email_id)
    assert email.status is EmailStatus.QUEUED
    assert "another SECRET_KEY" in email.last_error
    assert "本文 0" in outbox.readable(email)[0]  # still intact for a worker with the right key


@pytest.mark.live_smtp
def test_a_thread_of_the_worker_delivers_after_the_response(app, client, db, smtp_server) -> None:
    app.config["MAIL_DELIVER_IN_BACKGROUND"] = True  # the default outside the tests
    seed_tree()
    response = send(client, general_input())
    response.close()  # hands the email to the worker's sending thread and returns at once
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        db.session.rollback()  # see what the thread committed
        email = db.session.scalars(sa.select(OutboundEmail)).one()
        if email.status is EmailStatus.SENT:
            break
        time.sleep(0.02)
    assert email.status is EmailStatus.SENT
    assert len(smtp_server.messages) == 1
    assert smtp_server.messages[0]["Message-ID"] == delivery.message_id(email)


@pytest.mark.live_smtp
def test_a_batch_shares_one_connection_and_each_mail_is_recorded_on_its_own(
    db, smtp_server, test_templates
) -> None:
    ids = queue(db, 5)
    smtp_server.handler.refused.add("user2@example.jp")
    report = delivery.deliver_due()
    assert (report.sent, report.failed) == (4, 1)
    assert sorted(m["To"] for m in smtp_server.messages) == [
        f"user{i}@example.jp" for i in (0, 1, 3, 4)
    ]
    # One connection for the first two; the refusal drops it, the rest share a fresh one.
    assert smtp_server.connections == 2
    db.session.expire_all()
    emails = {e.id: e for e in db.session.scalars(sa.select(OutboundEmail))}
    refused = emails.pop(ids[2])
    assert refused.status is EmailStatus.QUEUED
    assert "SMTPRecipientsRefused" in refused.last_error
    assert refused.claim_token is None
    assert {(e.status, e.attempts, e.claim_token) for e in emails.values()} == {
        (EmailStatus.SENT, 1, None)
    }


@pytest.mark.live_smtp
def test_the_sending_thread_takes_everything_waiting_over_one_connection(
    app, db, smtp_server, test_templates
) -> None:
    first, second, third = queue(db, 3)
    pending: queues.SimpleQueue[list[int] | None] = queues.SimpleQueue()
    for ids in ([first], [second, third], None):
        pending.put(ids)
    delivery._send_forever(app, pending)  # returns at the None, as when the worker stops
    assert len(smtp_server.messages) == 3
    assert smtp_server.connections == 1
    db.session.expire_all()
    assert set(db.session.scalars(sa.select(OutboundEmail.status))) == {EmailStatus.SENT}
