"""`flask mail deliver`: the outbox worker."""

import time

import click
from flask import current_app
from flask.cli import AppGroup

from backoffice.mail.delivery import deliver_due
from backoffice.monitoring import runs

mail_cli = AppGroup("mail", help="Deliver queued emails; take in replies and bounces.")


@mail_cli.command("deliver")
@click.option(
    "--loop", is_flag=True, help="Keep running, checking the outbox every --interval seconds."
)
@click.option(
    "--interval", default=5.0, show_default=True, help="Seconds between checks with --loop."
)
@click.option("--batch", default=100, show_default=True, help="Emails sent per check at most.")
def deliver(loop: bool, interval: float, batch: int) -> None:
    """Send every queued email that is due; safe to run in several processes at once."""
    if not current_app.config["MAIL_SERVER"]:
        raise click.ClickException(
            "No mail server is configured (FLASK_MAIL_SERVER); emails stay in the outbox."
        )
    while True:
        try:
            report = deliver_due(batch)
        except Exception:
            runs.failed("deliver")
            raise
        runs.succeeded("deliver")
        if report.sent or report.failed or not loop:
            click.echo(f"sent {report.sent}, failed {report.failed}")
        if not loop:
            return
        if report.sent < batch:
            time.sleep(interval)
