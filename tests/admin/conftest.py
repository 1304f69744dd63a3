"""Back-office fixtures: signed-in clients of each role, and an inquiry to work on."""

import itertools
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from backoffice.admin.access import SESSION_KEY
from backoffice.inquiries.models import Inquiry
from backoffice.operators import operations
from backoffice.operators.models import Role
from tests.builders.inquiries import make_inquiry, seed_tree
from tests.builders.operators import make_operator

# One address per operator made (id(object()) repeats: a freed object's address is reused at once).
_numbers = itertools.count(1)


@pytest.fixture
def signed_in(app: Flask) -> Callable[[Role], FlaskClient]:
    """A client signed in as a new operator of `role` (server-side session, as the login page makes)."""

    def sign_in(role: Role) -> FlaskClient:
        operator = make_operator(role, email=f"{role.value}-{next(_numbers)}@ops.example.jp")
        client = app.test_client()
        key = operations.start_session(operator, "127.0.0.1")
        with client.session_transaction() as session:
            session[SESSION_KEY] = key
        client.operator = operator  # type: ignore[attr-defined]
        return client

    return sign_in


@pytest.fixture
def inquiry(client: FlaskClient) -> Inquiry:
    """One general inquiry sent through the public form."""
    seed_tree()
    return make_inquiry(client)
