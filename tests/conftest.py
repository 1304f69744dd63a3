"""Fixtures: every database test runs twice, on SQLite and on a throwaway PostgreSQL cluster.

Without PostgreSQL binaries the PostgreSQL runs skip locally and fail under CI=true.
"""

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask, g
from flask.testing import FlaskClient

from backoffice import create_app
from backoffice.extensions import db as _db
from backoffice.extensions import limiter
from tests import imap, postgres
from tests.builders.app import app_config, missing, smtp_config
from tests.smtp import SMTPServer


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[postgres.Cluster]:
    bindir = postgres.find_bindir()
    if bindir is None:
        missing("PostgreSQL binaries (initdb, pg_ctl) not found; install the postgresql package")
    cluster = postgres.Cluster(bindir)
    try:
        cluster.start()
    except Exception as error:
        cluster.stop()
        missing(f"could not start a PostgreSQL cluster: {error}")
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def postgres_url(postgres_cluster: postgres.Cluster) -> str:
    return postgres_cluster.create_database("backoffice_test")


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.sqlite3'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def app_overrides(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The app's config overrides: `@pytest.mark.parametrize("app_overrides", …)` replaces them; tests
    marked live_smtp get an app that delivers to the test SMTP server, tests marked live_imap one
    that fetches from the test IMAP server."""
    overrides: dict[str, Any] = {}
    if request.node.get_closest_marker("live_smtp"):
        overrides |= smtp_config(request.getfixturevalue("smtp_server").port)
    if marker := request.node.get_closest_marker("live_imap"):
        security = marker.kwargs.get("security", "ssl")
        overrides |= request.getfixturevalue("dovecot_server").config(security)
    return overrides


@pytest.fixture
def app(database_url: str, app_overrides: dict[str, Any], tmp_path) -> Iterator[Flask]:
    files = {"ATTACHMENT_FOLDER": str(tmp_path / "attachments")}
    app = create_app(app_config(database_url, **{**files, **app_overrides}))
    # The test keeps an app context open for its database work, and Flask reuses it for every request
    # of the test client; a real server gives each request a fresh one. Start each request with an
    # empty `g`, as in production (first, before the extensions' own hooks fill it).
    app.before_request_funcs.setdefault(None, []).insert(0, _fresh_g)
    with app.app_context():
        _db.create_all()
        if app.config["RATELIMIT_ENABLED"]:
            limiter.reset()
        yield app
        _db.session.remove()
        if _db.engine.dialect.name == "postgresql":
            # The status counters keep their rows (one per status, as after the migration), at zero.
            tables = ", ".join(
                f'"{t.name}"'
                for t in _db.metadata.sorted_tables
                if t.name != "inquiry_status_counts"
            )
            with _db.engine.begin() as conn:
                conn.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
                conn.execute(sa.text("UPDATE inquiry_status_counts SET count = 0"))
        _db.engine.dispose()


def _fresh_g() -> None:
    for name in list(g):
        g.pop(name)


@pytest.fixture
def db(app: Flask):
    return _db


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask):
    return app.test_cli_runner()


@pytest.fixture(scope="session")
def dovecot_server() -> Iterator[imap.Dovecot]:
    binary = imap.find_dovecot()
    if binary is None:
        missing("Dovecot not found; install the dovecot-imapd package")
    server = imap.Dovecot(binary)
    try:
        server.start()
    except Exception as error:
        server.remove()
        missing(f"could not start Dovecot: {error}")
    yield server
    server.remove()


@pytest.fixture
def imap_mailbox(dovecot_server: imap.Dovecot) -> Iterator[imap.Mailbox]:
    """The test IMAP server's mailbox, emptied: put messages in as an MTA would, and look at folders."""
    mailbox = imap.Mailbox(dovecot_server)
    mailbox.empty()
    yield mailbox
    mailbox.close()


@pytest.fixture
def smtp_server() -> Iterator[SMTPServer]:
    server = SMTPServer(postgres.free_port()).start()
    yield server
    server.stop()
