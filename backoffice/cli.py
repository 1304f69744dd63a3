"""Command-line groups: `flask categories`, `flask eclaims`, `flask operators` (and `demo`, `mail`,
`onboarding`, `reports` and `tickets`, from their modules)."""

import sys
import time

import click
from flask import Flask
from flask.cli import AppGroup

from backoffice.attachments.cli import attachments_cli
from backoffice.demo import demo_cli
from backoffice.eclaims import fingerprints, importer
from backoffice.inbound import cli as inbound_cli  # noqa: F401 (adds `mail receive`, `mail fetch`)
from backoffice.inquiries.categories import seed_categories
from backoffice.inquiries.cli import tickets_cli
from backoffice.mail.cli import mail_cli
from backoffice.normalize import InvalidInput
from backoffice.onboarding.cli import onboarding_cli
from backoffice.operators import operations as operator_ops
from backoffice.operators.models import Role
from backoffice.passwords import PasswordRejected
from backoffice.reports.cli import reports_cli
from backoffice.retention.cli import retention_cli

categories_cli = AppGroup("categories", help="The inquiry category tree.")
eclaims_cli = AppGroup("eclaims", help="The 電子請求受付システム directory.")
operators_cli = AppGroup("operators", help="Back-office operators.")


@categories_cli.command("seed")
def categories_seed() -> None:
    """Add the standard 大/中カテゴリー that are missing (idempotent)."""
    click.echo(f"categories added: {seed_categories()}")


@eclaims_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--skip-invalid", is_flag=True, help="Import the good rows even when some are bad.")
def eclaims_import(file: str, skip_invalid: bool) -> None:
    """Import FILE.csv (header eclaims_id,password,security_email,security_code,office_number,office_name,kind)."""
    with open(file, encoding="utf-8-sig", newline="") as handle:
        text = handle.read()
    if not fingerprints.key():
        click.echo(
            "FLASK_ECLAIMS_FINGERPRINT_KEY is not set: every row is hashed, also those that did not change",
            err=True,
        )
    click.echo(f"hashing with {importer.workers()} threads", err=True)
    started = time.monotonic()
    try:
        report = importer.import_csv(
            text,
            skip_invalid=skip_invalid,
            progress=lambda done, total: click.echo(
                importer.progress_line(done, total, time.monotonic() - started), err=True
            ),
        )
    except importer.HeaderError as error:
        raise click.ClickException(str(error)) from error
    for line in report.refused:
        click.echo(f"refused {line}", err=True)
    for line in report.check_digit_warnings:
        click.echo(f"warning {line}", err=True)
    click.echo(
        f"added {report.added}, updated {report.updated}, unchanged {report.unchanged}, "
        f"refused {len(report.refused)}, "
        f"check-digit warnings {len(report.check_digit_warnings)}"
    )
    if not report.imported:
        raise click.ClickException("nothing imported: fix the refused rows or use --skip-invalid")


@operators_cli.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--name", default="", help="Display name (defaults to the email address).")
def operators_create(email: str, role: str, name: str) -> None:
    """Create an operator. The password is asked for (read from standard input when piped); the
    otpauth:// URI to enrol the authenticator app is printed."""
    if sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    try:
        operator = operator_ops.create_operator(email, name, Role(role), password)
    except (InvalidInput, PasswordRejected) as error:
        raise click.ClickException(str(error).lstrip("＊")) from error
    except operator_ops.OperatorExists as error:
        raise click.ClickException(
            f"An operator with this email already exists: {error}"
        ) from error
    click.echo(f"operator created: {operator.email} ({operator.role.value})")
    click.echo("Enrol the authenticator app with this URI (or from the QR code on /admin/enrol):")
    click.echo(operator_ops.provisioning_uri(operator.totp_secret, operator.email))


@operators_cli.command("reseal")
def operators_reseal() -> None:
    """Seal every operator's TOTP seed under the current SECRET_KEY, after a rotation that put the old
    key in SECRET_KEY_FALLBACKS (docs/security.md). Idempotent."""
    click.echo(f"operators resealed: {operator_ops.reseal_totp_seeds()}")


def init_app(app: Flask) -> None:
    for group in (
        attachments_cli,
        categories_cli,
        demo_cli,
        eclaims_cli,
        mail_cli,
        onboarding_cli,
        operators_cli,
        reports_cli,
        retention_cli,
        tickets_cli,
    ):
        app.cli.add_command(group)
