"""What the organizations' and portal users' search boxes read besides their trigram indexes: the gram
tables of their names, for terms of one or two characters (backoffice.search), kept in step with the
rows by the ORM hooks in the same transaction; a bulk load calls `rebuild`."""

import sqlalchemy as sa

from backoffice.accounts.models import Organization, PortalUser
from backoffice.extensions import db
from backoffice.search import gram_table, keep_grams_of, rebuild_grams

ORGANIZATION_FIELDS = ("name", "name_kana")
PORTAL_USER_FIELDS = ("name", "name_kana")
organization_grams = gram_table(
    db.metadata, "organization_grams", "organizations", "organization_id"
)
portal_user_grams = gram_table(db.metadata, "portal_user_grams", "portal_users", "portal_user_id")

keep_grams_of(Organization, organization_grams, ORGANIZATION_FIELDS)
keep_grams_of(PortalUser, portal_user_grams, PORTAL_USER_FIELDS)


def rebuild(connection: sa.Connection) -> None:
    """Both gram tables afresh from every organization and user (after a bulk load)."""
    rebuild_grams(connection, organization_grams, ORGANIZATION_FIELDS)
    rebuild_grams(connection, portal_user_grams, PORTAL_USER_FIELDS)
