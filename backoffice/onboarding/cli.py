"""`flask onboarding rebuild`: the onboarding funnel computed again from the data (run once after
upgrading to the funnel; see backoffice.onboarding.rebuild)."""

import click
from flask.cli import AppGroup

from backoffice.onboarding.rebuild import rebuild

onboarding_cli = AppGroup("onboarding", help="The onboarding funnel.")


@onboarding_cli.command("rebuild")
def rebuild_command() -> None:
    """Replace the funnel's rows with what the directory, registrations, accounts and mail say."""
    click.echo(f"offices in the funnel: {rebuild()}")
