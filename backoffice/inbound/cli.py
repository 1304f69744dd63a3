"""`flask mail receive` (one message on standard input, for an MTA's pipe transport),
`flask mail fetch [--loop]` (an IMAP mailbox) and `flask mail reseal` (after a key rotation)."""

import contextlib
import logging
import sys
import time

import click
from flask import current_app

from backoffice.config import ConfigError
from backoffice.extensions import db
from backoffice.inbound.models import InboundSource
from backoffice.inbound.receive import receive
from backoffice.mail.cli import mail_cli
from backoffice.monitoring import runs

log = logging.getLogger(__name__)

# sysexits.h: the MTA keeps the message and offers it again later; the MTA returns it to its sender.
EX_TEMPFAIL = 75
EX_DATAERR = 65


@mail_cli.command("receive")
@click.option(
    "--recipient",
    default=None,
    help="The envelope address the MTA delivered to (Postfix: ${original_recipient}).",
)
def receive_command(recipient: str | None) -> None:
    """Take in one message from standard input. Exits 0 once it is recorded (whatever it was, even
    unreadable), 65 when it is over the size limit (its headers are recorded; the MTA returns it to
    its sender), 75 (try again later) when it could not be recorded."""
    raw = sys.stdin.buffer.read()
    try:
        received = receive(raw, InboundSource.PIPE, recipient)
    except Exception as error:
        log.exception("inbound mail not recorded")
        click.echo(f"not recorded, offer it again later: {type(error).__name__}", err=True)
        sys.exit(EX_TEMPFAIL)
    click.echo(
        f"{received.state.value}{' (received before)' if received.duplicate else ''}"
        f" #{received.inbound_id}"
    )
    if received.reason == "too_large":
        # Its headers are recorded; the MTA returns the message to its sender, who then knows.
        limit = current_app.config["INBOUND_MAX_BYTES"]
        click.echo(f"message larger than {limit} bytes: returned to the sender", err=True)
        sys.exit(EX_DATAERR)


@mail_cli.command("fetch")
@click.option("--loop", is_flag=True, help="Keep running, checking every --interval seconds.")
@click.option(
    "--interval", default=10.0, show_default=True, help="Seconds between checks with --loop."
)
@click.option("--batch", default=50, show_default=True, help="Messages taken per check at most.")
def fetch_command(loop: bool, interval: float, batch: int) -> None:
    """Take in the messages of the IMAP mailbox (FLASK_INBOUND_IMAP_*); safe to run in several
    processes at once. With --loop a lost connection is retried, never the end of the fetcher."""
    from backoffice.inbound import imap  # imaplib and its TLS: only for this command

    client = None
    failures = 0
    while True:
        try:
            if client is None:
                client = imap.connect()
            report = imap.fetch(client, batch)
            runs.succeeded("fetch")
            failures = 0
            if report.taken or report.duplicates or report.unreadable or not loop:
                click.echo(str(report))
            if not loop:
                client.logout()
                return
            if report.taken + report.duplicates + report.unreadable >= batch:
                continue
            client.noop()  # the server may have new mail to tell of
        except ConfigError as error:
            raise click.ClickException(str(error)) from None
        except imap.CONNECTION_ERRORS as error:
            runs.failed("fetch")
            client = _drop(client)
            if not loop:
                raise click.ClickException(f"IMAP: {type(error).__name__}: {error}") from None
            failures += 1
            log.warning("IMAP connection lost (%s); reconnecting", type(error).__name__)
            time.sleep(min(interval * failures, 300))
            continue
        except Exception:
            # The database or a bug: the message stays in the mailbox and is offered again.
            db.session.rollback()
            client = _drop(client)
            runs.failed("fetch")
            if not loop:
                raise
            failures += 1
            log.exception("inbound mail fetch failed; trying again")
            time.sleep(min(interval * failures, 300))
            continue
        time.sleep(interval)


def _drop(client: object) -> None:
    with contextlib.suppress(Exception):  # the connection is gone already
        client.shutdown()  # type: ignore[attr-defined]


@mail_cli.command("reseal")
def reseal_command() -> None:
    """Seal every kept inbound original under the current SECRET_KEY, after a rotation that put the
    old key in SECRET_KEY_FALLBACKS (docs/security.md). Idempotent."""
    from backoffice.inbound.filing import reseal_originals

    click.echo(f"inbound originals resealed: {reseal_originals()}")
