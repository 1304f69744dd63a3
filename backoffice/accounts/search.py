"""The search boxes of the organizations' and portal users' lists (back office), shaped for their
indexes at national scale (200,000 organizations, 600,000 users; docs/performance.md).

- a whole 事業所番号 or 医療機関コード (any width, with dashes or spaces) → that organization (unique index);
- a whole email address → the user whose ID it is (unique index; IDs are stored lower-cased, as login
  compares them);
- a term of one or two characters → in 名称 or フリガナ / 氏名 or フリガナ, anywhere in a word (「訪問」 finds
  「ひまわり訪問看護ステーション」, 「佐藤」 finds 「佐藤 花子」), through the gram tables
  (accounts/search_index.py, migration 0032): trigrams cannot answer it, and reading the table took
  0.1–0.4 s;
- anything else → in 名称, フリガナ or number / 氏名, フリガナ or ID, through the trigram indexes of
  migration 0009 (backoffice.search).
The ticket page links to these lists with a 医療機関コード or an email address.
"""

import sqlalchemy as sa

from backoffice.accounts.models import Organization, PortalUser
from backoffice.accounts.search_index import organization_grams, portal_user_grams
from backoffice.codes import CARE_OFFICE_NUMBER_RE, MEDICAL_CODE_RE
from backoffice.normalize import WHOLE_EMAIL_RE, nfkc, normalize_digits, normalize_email
from backoffice.search import TRIGRAM, contains, has_gram, spaced


def organization_text() -> sa.ColumnElement[str]:
    """Exactly the expression of ix_organizations_search (migration 0009)."""
    return spaced(
        Organization.name,
        sa.func.coalesce(Organization.name_kana, sa.literal_column("''", sa.String)),
        Organization.office_number,
    )


def portal_user_text() -> sa.ColumnElement[str]:
    """Exactly the expression of ix_portal_users_search (migration 0009)."""
    return spaced(PortalUser.name, PortalUser.name_kana, PortalUser.email)


def organization_clause(text: str) -> sa.ColumnElement[bool] | None:
    """The WHERE clause for a search term, or None for an empty one."""
    term = nfkc(text)
    if not term:
        return None
    number = normalize_digits(term).upper()
    if MEDICAL_CODE_RE.match(number) or CARE_OFFICE_NUMBER_RE.match(number):
        return Organization.office_number == number
    if len(term.lower()) < TRIGRAM:  # as the grams count it
        return has_gram(organization_grams, Organization.id, term)
    return contains(organization_text(), term)


def portal_user_clause(text: str) -> sa.ColumnElement[bool] | None:
    """The WHERE clause for a search term, or None for an empty one."""
    term = nfkc(text)
    if not term:
        return None
    if WHOLE_EMAIL_RE.fullmatch(term):
        return PortalUser.email == normalize_email(term).lower()
    if len(term.lower()) < TRIGRAM:
        return has_gram(portal_user_grams, PortalUser.id, term)
    return contains(portal_user_text(), term)
