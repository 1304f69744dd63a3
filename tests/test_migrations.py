"""Migrations upgrade an empty database on both engines and leave no drift from the models."""

import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from backoffice import create_app
from backoffice.extensions import db
from backoffice.paths import MIGRATIONS
from tests.conftest import app_config


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_url(request: pytest.FixtureRequest, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'migrations.sqlite3'}"
    cluster = request.getfixturevalue("postgres_cluster")
    return cluster.create_database(f"migrations_{uuid.uuid4().hex[:8]}")


def test_upgrade_from_empty_matches_the_models_and_downgrades(empty_database_url: str) -> None:
    app = create_app(app_config(empty_database_url))
    with app.app_context():
        upgrade(directory=str(MIGRATIONS))
        with db.engine.connect() as connection:
            context = MigrationContext.configure(
                connection,
                opts={"compare_type": True, "include_name": _not_search_index},
            )
            assert compare_metadata(context, db.metadata) == []
        downgrade(directory=str(MIGRATIONS), revision="base")
        with db.engine.connect() as connection:
            assert db.inspect(connection).get_table_names() == ["alembic_version"]
        db.engine.dispose()


def test_the_search_box_uses_the_trigram_index_of_migration_0005(postgres_cluster) -> None:
    """The search expression in backoffice.inquiries.search is the one the migration indexed: PostgreSQL
    uses the index only when the two are the same, character for character."""
    import sqlalchemy as sa

    from backoffice.inquiries.models import Inquiry
    from backoffice.inquiries.search import search_clause

    url = postgres_cluster.create_database(f"search_{uuid.uuid4().hex[:8]}")
    app = create_app(app_config(url))
    with app.app_context():
        upgrade(directory=str(MIGRATIONS))
        plans = []
        for term in ("ひまわり", "山田"):  # contains, and the start of a word
            statement = sa.select(Inquiry.id).where(search_clause(term))
            sql = statement.compile(db.engine, compile_kwargs={"literal_binds": True})
            with db.engine.begin() as conn:
                conn.execute(sa.text("SET LOCAL enable_seqscan = off"))
                plans.append("\n".join(conn.scalars(sa.text(f"EXPLAIN {sql}"))))
        with db.engine.connect() as conn:
            options = conn.scalar(
                sa.text("SELECT reloptions FROM pg_class WHERE relname = 'ix_inquiries_search'")
            )
        db.engine.dispose()
    assert all("ix_inquiries_search" in plan for plan in plans), plans
    # New tickets go straight into the index (migration 0007): no pending list for searches to read.
    assert options == ["fastupdate=off"]


def _not_search_index(name: str | None, type_: str, parent_names: object) -> bool:
    """The trigram index behind the search box is an expression index that only PostgreSQL has
    (migration 0005); autogenerate cannot compare expression indexes, so it is checked on its own in
    tests/inquiries/test_search.py."""
    return not (type_ == "index" and name == "ix_inquiries_search")
