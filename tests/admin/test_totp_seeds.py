"""Operators' TOTP seeds are sealed at rest, migrated from clear, and survive a SECRET_KEY rotation."""

import uuid

import pyotp
import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from backoffice import create_app
from backoffice.extensions import db as _db
from backoffice.operators.models import Operator, Role
from backoffice.paths import MIGRATIONS
from tests.builders.app import app_config
from tests.builders.operators import PASSWORD, current_code, login, make_operator


def raw_row(operator_id: int) -> dict:
    row = _db.session.execute(
        sa.text("SELECT * FROM operators WHERE id = :id"), {"id": operator_id}
    ).mappings()
    return dict(row.one())


def test_the_seed_is_never_stored_in_clear_and_sign_in_still_works(app, client, db) -> None:
    operator = make_operator(Role.AGENT)
    secret = operator.totp_secret
    assert len(secret) == 32
    stored = raw_row(operator.id)
    assert not any(secret in str(value) for value in stored.values())
    assert stored["totp_secret_sealed"].startswith("gAAAA")  # a Fernet token
    response = login(client, operator.email, PASSWORD, current_code(operator))
    assert response.status_code == 302


def test_a_rotated_secret_key_still_opens_the_seeds_and_reseal_moves_them(
    app, db, database_url
) -> None:
    operator = make_operator(Role.ADMIN)
    operator_id, secret = operator.id, operator.totp_secret
    db.session.remove()
    rotated = create_app(
        app_config(database_url, SECRET_KEY="new-key", SECRET_KEY_FALLBACKS=["test-secret-key"])
    )
    with rotated.app_context():
        assert _db.session.get(Operator, operator_id).totp_secret == secret
        result = rotated.test_cli_runner().invoke(args=["operators", "reseal"])
        assert "operators resealed: 1" in result.output
        _db.session.remove()
        _db.engine.dispose()  # its connections close now, not when collected during another test
    only_new = create_app(app_config(database_url, SECRET_KEY="new-key"))
    with only_new.app_context():
        assert _db.session.get(Operator, operator_id).totp_secret == secret
        _db.session.remove()
        _db.engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_url(request: pytest.FixtureRequest, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'seeds.sqlite3'}"
    return request.getfixturevalue("postgres_cluster").create_database(
        f"seeds_{uuid.uuid4().hex[:8]}"
    )


def test_migration_0012_seals_existing_seeds(empty_database_url: str) -> None:
    app = create_app(app_config(empty_database_url))
    secret, pending = pyotp.random_base32(), pyotp.random_base32()
    with app.app_context():
        upgrade(directory=str(MIGRATIONS), revision="0011")
        with _db.engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO operators (email, name, role, password_hash, totp_secret,"
                    " totp_last_step, totp_pending_secret, failed_attempts, is_active, created_at)"
                    " VALUES ('old@ops.example.jp', '旧担当', 'admin', 'x', :secret, 0, :pending,"
                    " 0, true, CURRENT_TIMESTAMP)"
                ),
                {"secret": secret, "pending": pending},
            )
        upgrade(directory=str(MIGRATIONS))
        operator = _db.session.scalars(sa.select(Operator)).one()
        assert (operator.totp_secret, operator.totp_pending_secret) == (secret, pending)
        assert secret not in operator.totp_secret_sealed
        _db.session.remove()
        _db.engine.dispose()
