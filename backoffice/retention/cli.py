"""`flask retention apply`: erase the personal data that has passed its period (daily)."""

import click
from flask.cli import AppGroup

from backoffice.monitoring import runs
from backoffice.retention.operations import apply

retention_cli = AppGroup("retention", help="The retention of personal data.")


@retention_cli.command("apply")
def apply_command() -> None:
    """Erase the contact fields and bodies of tickets finished more than RETENTION_INQUIRY_DAYS ago,
    inbound originals after RETENTION_INBOUND_RAW_DAYS, mail bodies after RETENTION_MAIL_BODY_DAYS
    and files after ATTACHMENT_RETENTION_DAYS; counts and times stay (docs/deploy.md). Safe to run
    at any time and in several processes."""
    try:
        report = apply()
    except Exception:
        runs.failed("retention")
        raise
    runs.succeeded("retention")
    click.echo(
        f"tickets erased {report.tickets}, inbound originals {report.inbound_originals}, "
        f"mail bodies {report.mail_bodies}, attachment contents {report.attachments}, "
        f"one-time passwords and registration flows {report.challenges}"
    )
