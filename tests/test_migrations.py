"""Migrations upgrade an empty database on both engines and leave no drift from the models."""

import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from backoffice import create_app
from backoffice.extensions import db
from backoffice.paths import MIGRATIONS
from tests.builders.app import app_config


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
        _new_values_pass_the_checks()
        downgrade(directory=str(MIGRATIONS), revision="base")
        with db.engine.connect() as connection:
            assert db.inspect(connection).get_table_names() == ["alembic_version"]
        db.engine.dispose()


def test_the_search_box_uses_the_trigram_index_and_the_grams_of_migration_0022(
    postgres_cluster,
) -> None:
    """The search expression in backoffice.inquiries.search is the one the migration indexed: PostgreSQL
    uses the index only when the two are the same, character for character. One or two characters
    are looked up in the gram table's key."""
    import sqlalchemy as sa

    from backoffice.inquiries.models import Inquiry
    from backoffice.inquiries.search import search_clause

    url = postgres_cluster.create_database(f"search_{uuid.uuid4().hex[:8]}")
    app = create_app(app_config(url))
    with app.app_context():
        upgrade(directory=str(MIGRATIONS))
        plans, short_plans = [], []
        for term in ("ひまわり", "ワンタイム", "8JAN"):  # names, bodies and messages, numbers
            statement = sa.select(Inquiry.id).where(search_clause(term))
            sql = statement.compile(db.engine, compile_kwargs={"literal_binds": True})
            with db.engine.begin() as conn:
                conn.execute(sa.text("SET LOCAL enable_seqscan = off"))
                plans.append("\n".join(conn.scalars(sa.text(f"EXPLAIN {sql}"))))
        for term in ("内科", "内"):
            statement = sa.select(Inquiry.id).where(search_clause(term))
            sql = statement.compile(db.engine, compile_kwargs={"literal_binds": True})
            with db.engine.begin() as conn:
                conn.execute(sa.text("SET LOCAL enable_seqscan = off"))
                short_plans.append("\n".join(conn.scalars(sa.text(f"EXPLAIN {sql}"))))
        with db.engine.connect() as conn:
            options = conn.scalar(
                sa.text("SELECT reloptions FROM pg_class WHERE relname = 'ix_inquiries_search'")
            )
        db.engine.dispose()
    assert all("ix_inquiries_search" in plan for plan in plans), plans
    assert all("Index Cond" in p and "pk_inquiry_grams" in p for p in short_plans), short_plans
    # New tickets go straight into the index (migration 0007): no pending list for searches to read.
    assert options == ["fastupdate=off"]


def test_the_account_lists_search_through_the_indexes_of_migrations_0009_and_0032(
    postgres_cluster,
) -> None:
    """The organizations' and portal users' search expressions are the ones migration 0009 indexed;
    one or two characters are looked up in the gram tables of 0032."""
    import sqlalchemy as sa

    from backoffice.accounts import search
    from backoffice.accounts.models import Organization, PortalUser

    url = postgres_cluster.create_database(f"search_{uuid.uuid4().hex[:8]}")
    app = create_app(app_config(url))
    with app.app_context():
        upgrade(directory=str(MIGRATIONS))
        plans = {}
        for clause_for, model, index, terms in (
            (search.organization_clause, Organization, "ix_organizations_search", ["さくら在宅"]),
            (search.organization_clause, Organization, "pk_organization_grams", ["訪問", "訪"]),
            (search.portal_user_clause, PortalUser, "ix_portal_users_search", ["佐藤 花"]),
            (search.portal_user_clause, PortalUser, "pk_portal_user_grams", ["佐藤", "ｻﾄｳ"[:2]]),
        ):
            for term in terms:
                statement = sa.select(model.id).where(clause_for(term))
                sql = statement.compile(db.engine, compile_kwargs={"literal_binds": True})
                with db.engine.begin() as conn:
                    conn.execute(sa.text("SET LOCAL enable_seqscan = off"))
                    plans[(index, term)] = "\n".join(conn.scalars(sa.text(f"EXPLAIN {sql}")))
            if index.startswith("ix_"):
                with db.engine.connect() as conn:
                    options = conn.scalar(
                        sa.text("SELECT reloptions FROM pg_class WHERE relname = :name"),
                        {"name": index},
                    )
                assert options == ["fastupdate=off"], index
        db.engine.dispose()
    for (index, _term), plan in plans.items():
        assert index in plan, plan


SEARCH_INDEXES = {"ix_inquiries_search", "ix_organizations_search", "ix_portal_users_search"}


def _new_values_pass_the_checks() -> None:
    """Migrations 0015 and 0030 widened CHECK constraints (compare_metadata does not compare those):
    the new status and event kinds and the one-time password's purpose `handover` must be storable
    after the upgrade."""
    import sqlalchemy as sa

    with db.engine.begin() as conn:
        assert (
            conn.scalar(sa.text("SELECT count FROM inquiry_status_counts WHERE status = 'waiting'"))
            == 0
        )
        conn.execute(
            sa.text(
                "INSERT INTO inquiry_categories (name, position, is_active, kind, "
                "target_business_days) VALUES ('x', 0, true, 'general', 5)"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO inquiries (reference_number, submission_key, status_token_hash, "
                "category_id, status, requester_name, requester_kana, email, phone, body, priority, "
                "created_at, updated_at, version) VALUES ('AAAA-AAAA', 'k', 'h', "
                "(SELECT id FROM inquiry_categories), 'waiting', 'n', 'n', 'e', '0', '', 'normal', "
                "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 1)"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO inquiry_events (inquiry_id, kind, actor, channel, created_at) VALUES "
                "((SELECT id FROM inquiries), 'requester_message', '依頼者', 'web', CURRENT_TIMESTAMP)"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO otp_challenges (purpose, sent_to, code_hash, binding_hash, expires_at, "
                "attempts, last_sent_at, sends, created_at) VALUES ('handover', 'a@example.jp', "
                "'c', 'b', CURRENT_TIMESTAMP, 0, CURRENT_TIMESTAMP, 1, CURRENT_TIMESTAMP)"
            )
        )
    with db.engine.begin() as conn:
        for table in ("inquiry_events", "inquiries", "inquiry_categories", "otp_challenges"):
            conn.execute(sa.text(f"DELETE FROM {table}"))


def _not_search_index(name: str | None, type_: str, parent_names: object) -> bool:
    """The trigram indexes behind the search boxes are expression indexes that only PostgreSQL has
    (migrations 0005 and 0009); autogenerate cannot compare expression indexes, so they are checked on
    their own above."""
    return not (type_ == "index" and name in SEARCH_INDEXES)


def test_0015_upgrades_and_downgrades_a_sqlite_database_with_tickets(tmp_path) -> None:
    """SQLite rebuilds tables in batch migrations; with rows that refer to them (events, drafts'
    tickets) that must still work both ways, and the counters must add up after the downgrade."""
    import sqlalchemy as sa

    app = create_app(app_config(f"sqlite:///{tmp_path / 'with_rows.sqlite3'}"))
    with app.app_context():
        upgrade(directory=str(MIGRATIONS), revision="0014")
        with db.engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO inquiry_categories (name, position, is_active, kind, "
                    "target_business_days) VALUES ('x', 0, true, 'general', 5)"
                )
            )
            conn.execute(
                sa.text(
                    "INSERT INTO inquiries (reference_number, submission_key, status_token_hash, "
                    "category_id, status, requester_name, requester_kana, email, phone, body, "
                    "priority, created_at, updated_at, version) VALUES ('AAAA-AAAA', 'k', 'h', "
                    "(SELECT id FROM inquiry_categories), 'new', 'n', 'n', 'e', '0', '', 'normal', "
                    "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 1)"
                )
            )
            conn.execute(
                sa.text(
                    "INSERT INTO inquiry_events (inquiry_id, kind, actor, created_at) VALUES "
                    "((SELECT id FROM inquiries), 'created', '依頼者', CURRENT_TIMESTAMP)"
                )
            )
            conn.execute(sa.text("UPDATE inquiry_status_counts SET count = 1 WHERE status = 'new'"))
        upgrade(directory=str(MIGRATIONS))
        with db.engine.begin() as conn:
            conn.execute(sa.text("UPDATE inquiries SET status = 'waiting'"))
            conn.execute(sa.text("UPDATE inquiry_status_counts SET count = 0 WHERE status = 'new'"))
            conn.execute(
                sa.text("UPDATE inquiry_status_counts SET count = 1 WHERE status = 'waiting'")
            )
        downgrade(directory=str(MIGRATIONS), revision="0014")
        with db.engine.connect() as conn:
            assert conn.scalar(sa.text("SELECT status FROM inquiries")) == "in_progress"
            assert (
                conn.scalar(
                    sa.text("SELECT count FROM inquiry_status_counts WHERE status = 'in_progress'")
                )
                == 1
            )
            assert conn.scalar(sa.text("SELECT count(*) FROM inquiry_events")) == 1
        db.engine.dispose()
