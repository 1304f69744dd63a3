"""Portal fixtures: an organization with a registrant and a published 利用規約."""

import pytest
from flask import Flask

from backoffice.accounts.models import PortalUser
from tests.builders.accounts import make_registrant, publish_terms


@pytest.fixture
def registrant(app: Flask) -> tuple[PortalUser, str]:
    publish_terms()
    return make_registrant()
