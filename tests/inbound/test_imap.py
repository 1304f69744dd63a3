"""`flask mail fetch` against a real IMAP server (Dovecot): IMAPS and STARTTLS, each message taken
once and moved, unreadable ones to the error folder, with two fetchers at once."""

import threading

import pytest

from backoffice.extensions import db
from backoffice.inbound import imap
from backoffice.inbound.models import InboundClaim, InboundSource, InboundState
from backoffice.inbound.receive import receive
from backoffice.inquiries.vocabulary import InquiryStatus
from backoffice.operators.models import Role
from tests.conversation.helpers import operator_reply
from tests.inbound.helpers import inbound_rows, last_mail_to, mail_messages, reply

PROCESSED, ERROR = "Processed", "Error"


def _question(signed_in, inquiry):
    operator_reply(signed_in(Role.AGENT), inquiry, "メールは届きましたか。", "waiting")
    return last_mail_to(inquiry)


@pytest.mark.live_imap
def test_a_reply_piped_twice_and_fetched_once_lands_once(
    runner, signed_in, inquiry, imap_mailbox
) -> None:
    raw = reply(_question(signed_in, inquiry), "届きました。ありがとうございます。")
    for _ in range(2):
        assert runner.invoke(args=["mail", "receive"], input=raw).exit_code == 0
    imap_mailbox.deliver(raw)

    result = runner.invoke(args=["mail", "fetch"])

    assert result.exit_code == 0, result.output
    assert "already received 1" in result.output
    [message] = mail_messages(inquiry)
    assert message.body == "届きました。ありがとうございます。"
    assert imap_mailbox.count("INBOX") == 0
    assert imap_mailbox.count(PROCESSED) == 1


@pytest.mark.live_imap(security="starttls")
def test_fetch_over_starttls_takes_each_message_and_moves_it(
    runner, signed_in, inquiry, imap_mailbox
) -> None:
    asked = _question(signed_in, inquiry)
    imap_mailbox.deliver(reply(asked, "一通目です。"))
    imap_mailbox.deliver(reply(asked, "二通目です。"))

    result = runner.invoke(args=["mail", "fetch"])

    assert "taken 2" in result.output, result.output
    assert [m.body for m in mail_messages(inquiry)] == ["一通目です。", "二通目です。"]
    db.session.refresh(inquiry)
    assert inquiry.status is InquiryStatus.IN_PROGRESS
    assert imap_mailbox.count(PROCESSED) == 2


@pytest.mark.live_imap
def test_an_unreadable_message_goes_to_the_error_folder(runner, db, imap_mailbox) -> None:
    imap_mailbox.deliver(
        b"From: a@example.com\r\nMessage-ID: <bad-1@example.com>\r\n"
        b"Content-Type: multipart/mixed\r\n\r\nno boundary\r\n"
    )
    result = runner.invoke(args=["mail", "fetch"])
    assert "unreadable 1" in result.output
    assert imap_mailbox.count(ERROR) == 1
    assert imap_mailbox.count(PROCESSED) == 0
    [row] = inbound_rows()
    assert row.state is InboundState.FAILED


@pytest.mark.live_imap
def test_a_message_over_the_limit_is_not_downloaded_and_goes_to_the_error_folder(
    app, runner, db, imap_mailbox
) -> None:
    app.config["INBOUND_MAX_BYTES"] = 2000
    imap_mailbox.deliver(
        b"From: a@example.com\r\nSubject: big\r\nMessage-ID: <big-1@example.com>\r\n\r\n"
        + b"x" * 5000
        + b"\r\n"
    )
    assert "unreadable 1" in runner.invoke(args=["mail", "fetch"]).output
    [row] = inbound_rows()
    assert row.reason == "too_large"
    assert row.raw_size > 5000
    assert imap_mailbox.count(ERROR) == 1


@pytest.mark.live_imap
def test_a_message_taken_before_a_crash_is_moved_not_doubled(
    app, signed_in, inquiry, imap_mailbox
) -> None:
    raw = reply(_question(signed_in, inquiry), "一度だけ追加されるはずです。")
    imap_mailbox.deliver(raw)
    # A fetcher claimed it, recorded it, and died before moving it.
    client = imap.connect()
    validity = client.select_folder("INBOX")[b"UIDVALIDITY"]
    [uid] = client.search("ALL")
    config = app.config
    db.session.add(
        InboundClaim(
            mailbox=f"{config['INBOUND_IMAP_USERNAME']}@{config['INBOUND_IMAP_HOST']}/INBOX",
            uid_validity=validity,
            uid=uid,
            claimed_by="another-host:4242",
        )
    )
    db.session.commit()
    receive(raw, InboundSource.IMAP)

    assert imap.fetch(client).duplicates == 0  # its claim is fresh: left to it
    assert imap_mailbox.count("INBOX") == 1
    app.config["INBOUND_IMAP_CLAIM_SECONDS"] = 0  # now it has run out
    report = imap.fetch(client)
    client.logout()

    assert report.duplicates == 1
    assert len(mail_messages(inquiry)) == 1
    assert imap_mailbox.count(PROCESSED) == 1


@pytest.mark.live_imap
def test_two_fetchers_at_once_take_each_message_once(
    app, signed_in, inquiry, imap_mailbox, database_url
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("concurrent fetchers need PostgreSQL (SQLite serialises writers)")
    asked = _question(signed_in, inquiry)
    app.config["INBOUND_SENDER_HOURLY_LIMIT"] = 100
    for n in range(12):
        imap_mailbox.deliver(reply(asked, f"{n}通目"))
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def fetcher() -> None:
        client = None
        try:
            with app.app_context():
                client = imap.connect()
                barrier.wait()
                imap.fetch(client)
        except BaseException as error:
            errors.append(error)
        finally:
            if client is not None:
                client.logout()

    threads = [threading.Thread(target=fetcher) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert errors == []
    bodies = sorted(m.body for m in mail_messages(inquiry))
    assert bodies == sorted(f"{n}通目" for n in range(12))
    assert imap_mailbox.count("INBOX") == 0
    assert imap_mailbox.count(PROCESSED) == 12


@pytest.mark.live_imap
def test_a_certificate_the_fetcher_does_not_trust_is_refused(app, runner, db, imap_mailbox) -> None:
    app.config["INBOUND_IMAP_CA_FILE"] = None  # the system's CAs do not know the test server's
    result = runner.invoke(args=["mail", "fetch"])
    assert result.exit_code == 1
    assert "IMAP: SSLCertVerificationError" in result.output


@pytest.mark.live_imap
def test_a_server_that_is_down_is_a_clear_error_not_a_crash(
    app, runner, db, dovecot_server
) -> None:
    dovecot_server.stop()
    try:
        result = runner.invoke(args=["mail", "fetch"])
    finally:
        dovecot_server.start_again()
    assert result.exit_code == 1
    assert "IMAP: ConnectionRefusedError" in result.output


def test_fetch_without_a_mailbox_says_what_to_set(runner, db) -> None:
    result = runner.invoke(args=["mail", "fetch"])
    assert result.exit_code == 1
    assert "FLASK_INBOUND_IMAP_HOST" in result.output


@pytest.mark.live_imap
def test_a_fetcher_takes_again_what_it_failed_on(app, signed_in, inquiry, imap_mailbox) -> None:
    """Its own fresh claim (left when the database failed under it) does not hold it up."""
    raw = reply(_question(signed_in, inquiry), "データベースの復旧後に追加されます。")
    imap_mailbox.deliver(raw)
    client = imap.connect()
    validity = client.select_folder("INBOX")[b"UIDVALIDITY"]
    [uid] = client.search("ALL")
    config = app.config
    db.session.add(
        InboundClaim(
            mailbox=f"{config['INBOUND_IMAP_USERNAME']}@{config['INBOUND_IMAP_HOST']}/INBOX",
            uid_validity=validity,
            uid=uid,
            claimed_by=imap._fetcher(),
        )
    )
    db.session.commit()
    report = imap.fetch(client)
    client.logout()
    assert report.taken == 1
    assert len(mail_messages(inquiry)) == 1
