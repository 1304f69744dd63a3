"""The ticket list's search box: what an operator types, turned into a query the indexes can answer.

- a 受付番号 (with or without the hyphen, any case or width) → that ticket (unique index);
- a 10-digit 医療機関コード → the ID-issuance requests for it (index on the details);
- a whole email address → tickets from it (index on the address);
- one or two characters → a word of 氏名, フリガナ or 組織名・医療機関名 containing them (「内科」), through
  the gram table (backoffice.search);
- anything else → contained in part of a 受付番号 (「8JAN」), 氏名, フリガナ, 組織名・医療機関名, the email
  address, the inquiry's body or any message of its thread. On PostgreSQL a trigram index (pg_trgm,
  migration 0022) answers it.
"""

import re

import sqlalchemy as sa

from backoffice.inquiries.models import AccountRequestDetails, Inquiry
from backoffice.inquiries.operations import REFERENCE_ALPHABET
from backoffice.inquiries.search_index import inquiry_grams
from backoffice.normalize import WHOLE_EMAIL_RE, nfkc, normalize_email
from backoffice.search import TRIGRAM, contains, has_gram, spaced

_REFERENCE = re.compile(f"[{REFERENCE_ALPHABET}]{{8}}")
# Part of a 受付番号 typed with its hyphen (「8J-AN」): looked for without it.
_REFERENCE_PART = re.compile(f"[{REFERENCE_ALPHABET}]{{1,4}}-[{REFERENCE_ALPHABET}]{{1,4}}")
_MEDICAL_CODE = re.compile(r"\d{10}")


def searchable_text() -> sa.ColumnElement[str]:
    """' ' || 受付番号 without hyphen || ' ' || 氏名 || フリガナ || 組織名 || email || body || messages,
    spaced — exactly the expression of the PostgreSQL index ix_inquiries_search (migration 0022)."""
    empty = sa.literal_column("''", sa.String)
    return spaced(
        sa.func.replace(Inquiry.reference_number, sa.literal_column("'-'", sa.String), empty),
        Inquiry.requester_name,
        Inquiry.requester_kana,
        sa.func.coalesce(Inquiry.organization_name, empty),
        sa.func.coalesce(Inquiry.email, empty),
        Inquiry.body,
        Inquiry.messages_text,
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
    if _REFERENCE_PART.fullmatch(term.upper()):
        term = compact
    if len(term.lower()) < TRIGRAM:  # as the grams count it (「İ」 lower-cases to two)
        return has_gram(inquiry_grams, Inquiry.id, term)
    return contains(searchable_text(), term)
