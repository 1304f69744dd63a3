"""What a request answers when PostgreSQL cuts its connection (a restart, `pg_terminate_backend`): the
Japanese 503 page when the view needed the database, the view's own answer when the cut came after it,
and never the server's bare English 500 (issue 17, finding 11)."""

import secrets
from collections.abc import Callable, Iterator

import psycopg
import pytest
import sqlalchemy as sa
from flask import Flask

from backoffice import create_app
from backoffice.extensions import db
from tests import postgres
from tests.builders.app import app_config


@pytest.fixture
def outage_app(postgres_cluster: postgres.Cluster) -> Iterator[Flask]:
    """An app on a database of its own, with no app context held open by the test: as under gunicorn,
    each request has its own, so the session's teardown runs at the end of every request."""
    name = f"outage_{secrets.token_hex(4)}"
    app = create_app(app_config(postgres_cluster.create_database(name)))
    with app.app_context():
        db.create_all()
    yield app
    with app.app_context():
        db.engine.dispose()
    with psycopg.connect(postgres_cluster.admin_dsn, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE "{name}"')


def _cutter(cluster: postgres.Cluster) -> Callable[[], None]:
    """A function that has PostgreSQL end the current request's connection, as a restart does."""

    def cut() -> None:
        backend = db.session.scalar(sa.text("SELECT pg_backend_pid()"))
        with psycopg.connect(cluster.admin_dsn, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s, 5000)", (backend,))

    return cut


def _is_japanese_503(response) -> bool:
    return (
        response.status_code == 503
        and '<html lang="ja"' in response.text
        and "ただいまサービスを利用できません" in response.text
    )


def test_a_connection_cut_after_the_view_answered_still_sends_that_answer(
    outage_app: Flask, postgres_cluster: postgres.Cluster
) -> None:
    cut = _cutter(postgres_cluster)
    once = iter([True])

    @outage_app.after_request
    def cut_once(response):
        if next(once, False):
            cut()  # the view read the categories: its transaction is open on the connection cut here
        return response

    client = outage_app.test_client()
    # Before the fix the teardown's ROLLBACK raised out of Flask (gunicorn's English 500 page).
    response = client.get("/inquiry")
    assert response.status_code == 200
    assert '<html lang="ja"' in response.text
    assert "お問い合わせ" in response.text
    # The cut connection was discarded: the next request gets a live one.
    assert client.get("/inquiry").status_code == 200
    assert client.get("/healthz").json == {"status": "ok", "database": "ok"}


def test_a_connection_cut_before_the_view_gets_the_japanese_503_page(
    outage_app: Flask, postgres_cluster: postgres.Cluster
) -> None:
    cut = _cutter(postgres_cluster)
    once = iter([True])

    @outage_app.before_request
    def cut_once() -> None:
        if next(once, False):
            cut()  # the view's first query then runs on a connection the database has closed

    client = outage_app.test_client()
    assert _is_japanese_503(client.get("/inquiry"))
    assert client.get("/inquiry").status_code == 200
