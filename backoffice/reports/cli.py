"""`flask reports rebuild`: the reports' daily summary computed again from the tickets (once after
upgrading to migration 0027, after a bulk load, or after 受付時間 changed; backoffice.reports.summary)."""

import click
from flask.cli import AppGroup

from backoffice.reports.summary import rebuild

reports_cli = AppGroup("reports", help="The reports' daily summary.")


@reports_cli.command("rebuild")
def rebuild_command() -> None:
    """Replace the daily summary with what the tickets and their replies say."""
    click.echo(f"summary rows: {rebuild()}")
