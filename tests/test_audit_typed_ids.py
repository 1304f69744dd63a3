"""A password typed into an ID field never reaches the audit log; a real address or ID still does."""

import pytest
import sqlalchemy as sa

from backoffice.audit.models import AuditEvent
from tests.builders.web import csrf_token

TYPED = "Himitsu-no-Pass-2026"


def _post(client, url: str, data: dict[str, str]):
    page = client.get(url)
    return client.post(url, data={"csrf_token": csrf_token(page.text), **data})


@pytest.mark.parametrize(
    ("url", "field", "extra"),
    [
        ("/login", "email", {"password": "anything at all"}),
        ("/password/forgot", "email", {}),
        ("/register", "eclaims_id", {"password": "anything at all"}),
        ("/admin/login", "email", {"password": "anything at all", "code": "123456"}),
    ],
)
def test_text_typed_into_an_id_field_is_logged_only_as_a_keyed_hash(
    client, db, url: str, field: str, extra: dict[str, str]
) -> None:
    _post(client, url, {field: TYPED, **extra})
    _post(client, url, {field: TYPED, **extra})
    labels = db.session.scalars(sa.select(AuditEvent.actor_label)).all()
    everything = repr(db.session.execute(sa.select(AuditEvent.__table__)).all())
    assert TYPED.lower() not in everything.lower()
    assert labels, "the failure is still recorded"
    assert len(set(labels)) == 1  # the same text gives the same marker, for spotting repeats
    assert labels[0].startswith("（IDの形でない入力 ")


def test_a_real_address_or_id_is_kept_as_typed(client, db) -> None:
    _post(client, "/login", {"email": "nobody@clinic.example.jp", "password": "anything at all"})
    _post(client, "/register", {"eclaims_id": "KJ999999999999", "password": "anything at all"})
    labels = set(db.session.scalars(sa.select(AuditEvent.actor_label)))
    assert {"nobody@clinic.example.jp", "KJ999999999999"} <= labels
