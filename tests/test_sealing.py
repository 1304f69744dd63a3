"""Sealed values (outbox bodies, TOTP seeds) open under SECRET_KEY or a fallback kept during a rotation."""

import pytest
from cryptography.fernet import InvalidToken

from backoffice import create_app, sealing
from backoffice.mail import outbox
from tests.builders.app import app_config


def test_a_mail_queued_before_a_key_rotation_is_still_sent_after_it(app, db, database_url) -> None:
    email = outbox.enqueue(
        "otp",
        "a@example.jp",
        {"code": "123456", "minutes": 10, "expires_at": None, "purpose": None},
        contains_secret=True,
    )
    db.session.commit()
    sealed = email.body_text
    assert "123456" not in sealed
    rotated = create_app(
        app_config(database_url, SECRET_KEY="new-key", SECRET_KEY_FALLBACKS=["test-secret-key"])
    )
    with rotated.app_context():
        assert "123456" in sealing.unseal(sealing.OUTBOX, sealed)
    without = create_app(app_config(database_url, SECRET_KEY="new-key"))
    with without.app_context(), pytest.raises(InvalidToken):
        sealing.unseal(sealing.OUTBOX, sealed)
