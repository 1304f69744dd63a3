"""`flask attachments sweep`: expired drafts' files, retention, and a crash's leftovers."""

import click
from flask.cli import AppGroup

from backoffice.attachments.operations import sweep

attachments_cli = AppGroup("attachments", help="Files attached to tickets.")


@attachments_cli.command("sweep")
def sweep_command() -> None:
    """Delete the files of expired form drafts, the contents of files whose ticket was finished
    more than ATTACHMENT_RETENTION_DAYS ago (their rows stay and say so), and files no row names
    that are older than ATTACHMENT_ORPHAN_MINUTES. Safe to run at any time (daily is enough)."""
    report = sweep()
    click.echo(
        f"draft files deleted {report.drafts}, contents deleted after retention {report.purged}, "
        f"orphan files deleted {report.orphans}"
    )
