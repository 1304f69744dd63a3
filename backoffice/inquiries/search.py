"""The ticket list's search box: what an operator types, turned into a query the indexes can answer.

- a 受付番号 (with or without the hyphen, any case or width) → that ticket (unique index);
- a 10-digit 医療機関コード → the ID-issuance requests for it (index on the details);
- a whole email address → tickets from it (index on the address);
- anything else → 氏名, フリガナ, 組織名・医療機関名 and email address containing the text. On PostgreSQL a
  trigram index (pg_trgm, migration 0005) answers it; a term shorter than three characters matches the
  start of a word (backoffice.search).
"""

import re

import sqlalchemy as sa

from backoffice.inquiries.models import AccountRequestDetails, Inquiry
from backoffice.inquiries.operations import REFERENCE_ALPHABET
from backoffice.normalize import WHOLE_EMAIL_RE, nfkc, normalize_email
from backoffice.search import contains, spaced

_REFERENCE = re.compile(f"[{REFERENCE_ALPHABET}]{{8}}")
_MEDICAL_CODE = re.compile(r"\d{10}")


def searchable_text() -> sa.ColumnElement[str]:
    """' ' || 氏名 || ' ' || フリガナ || ' ' || 組織名 || ' ' || email — exactly the expression of the
    PostgreSQL index ix_inquiries_search."""
    return spaced(
        Inquiry.requester_name,
        Inquiry.requester_kana,
        sa.func.coalesce(Inquiry.organization_name, sa.literal_column("''", sa.String)),
        Inquiry.email,
    )


def search_clause(text: str) -> sa.ColumnElement[bool] | None:
    """The WHERE clause for a search term, or None for an empty one."""
    term = nfkc(text)
    if not term:
        return None
    compact = term.upper().replace("-", "")
    if _REFERENCE.fullmatch(compact):
        return Inquiry.reference_number == f"{compact[:4]}-{compact[4:]}"
    if _MEDICAL_CODE.fullmatch(term):
        return Inquiry.id.in_(
            sa.select(AccountRequestDetails.inquiry_id).where(
                AccountRequestDetails.medical_code == term
            )
        )
    if WHOLE_EMAIL_RE.fullmatch(term):
        return Inquiry.email == normalize_email(term)
    return contains(searchable_text(), term)
