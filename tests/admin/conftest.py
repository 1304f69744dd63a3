"""Back-office fixtures: operators of each role, signed-in clients, and tickets."""

from collections.abc import Callable

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from backoffice.admin.access import SESSION_KEY
from backoffice.extensions import db
from backoffice.inquiries.models import Inquiry
from backoffice.operators import operations
from backoffice.operators.models import Operator, Role
from tests.factories import general_input, seed_tree, send

PASSWORD = "correct horse battery staple"


def make_operator(role: Role = Role.AGENT, email: str | None = None, name: str = "") -> Operator:
    address = email or f"{role.value}@ops.example.jp"
    return operations.create_operator(address, name or f"{role.value}担当", role, PASSWORD)


def current_code(operator: Operator) -> str:
    return pyotp.TOTP(operator.totp_secret).now()


@pytest.fixture
def signed_in(app: Flask) -> Callable[[Role], FlaskClient]:
    """A client signed in as a new operator of `role` (server-side session, as the login page makes)."""

    def sign_in(role: Role) -> FlaskClient:
        operator = make_operator(role, email=f"{role.value}-{id(object())}@ops.example.jp")
        client = app.test_client()
        key = operations.start_session(operator, "127.0.0.1")
        with client.session_transaction() as session:
            session[SESSION_KEY] = key
        client.operator = operator  # type: ignore[attr-defined]
        return client

    return sign_in


@pytest.fixture
def ticket(client: FlaskClient) -> Inquiry:
    """One general inquiry sent through the public form."""
    seed_tree()
    send(client, general_input())
    return db.session.scalars(select(Inquiry)).one()
