"""`flask tickets sweep`: reminders and closing of silent tickets (backoffice.inquiries.sweep), and
operators' alerts that waited for 受付時間 (backoffice.alerts);
`flask tickets reseal`: status-page tokens after a SECRET_KEY rotation;
`flask tickets measure`: service targets of tickets from before targets existed."""

import time

import click
from flask.cli import AppGroup

from backoffice.alerts.operations import send_due
from backoffice.inquiries.links import reseal_tokens
from backoffice.inquiries.sweep import sweep
from backoffice.inquiries.target_history import measure_history
from backoffice.monitoring import runs
from backoffice.reports.summary import rebuild as rebuild_summary

tickets_cli = AppGroup("tickets", help="Work on tickets in the background.")


@tickets_cli.command("sweep")
@click.option("--loop", is_flag=True, help="Keep running, sweeping every --interval seconds.")
@click.option(
    "--interval", default=300.0, show_default=True, help="Seconds between sweeps with --loop."
)
def sweep_command(loop: bool, interval: float) -> None:
    """Remind and close tickets waiting for the requester, and complete resolved ones; then mail
    operators the alerts made outside 受付時間 and the morning digests. Safe to run in several
    processes at once. Reminders, closing notices and alerts wait for 受付時間."""
    while True:
        try:
            report = sweep()
            alerted = send_due()
        except Exception:
            runs.failed("sweep")
            raise
        runs.succeeded("sweep")
        click.echo(
            f"reminded {report.reminded}, closed {report.closed}, completed {report.completed}, "
            f"operators alerted {alerted.waiting_mailed}, digests {alerted.digests}"
            + (
                " (outside 受付時間: reminders, closing and alerts wait)"
                if report.waiting_for_hours
                else ""
            )
        )
        if not loop:
            return
        time.sleep(interval)


@tickets_cli.command("reseal")
def reseal_command() -> None:
    """Seal every status-page token under the current SECRET_KEY, after a rotation that put the old
    key in SECRET_KEY_FALLBACKS (docs/security.md). Idempotent."""
    click.echo(f"status tokens resealed: {reseal_tokens()}")


@tickets_cli.command("measure")
def measure_command() -> None:
    """Fill the service targets of tickets that arrived before migration 0024, from their history
    (arrival, first response, resolution and waits for the requester). Idempotent; safe while the
    app runs."""
    click.echo(f"tickets measured: {measure_history()}")
    # The measuring wrote around the ORM, so the reports' summary is read again from the tickets.
    click.echo(f"report summary rows: {rebuild_summary()}")
