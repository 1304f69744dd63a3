"""Search boxes over a million rows: one expression per table, a trigram index on it (PostgreSQL).

A list's free-text search looks for the term in one expression — its columns joined by spaces, with a
leading space, so every word starts after one — that a GIN trigram index (pg_trgm) covers; the
migration that builds the index must use the very same expression. Trigrams need three characters, so a
shorter term (a two-character surname such as 「山田」) matches the start of a word instead: 「山田」 finds
「山田 太郎」 and 「小山田」 does not come up.
"""

import re

import sqlalchemy as sa

# Below this many characters a term has no trigram of its own (see the module docstring).
TRIGRAM = 3


def spaced(*parts: sa.ColumnElement[str]) -> sa.ColumnElement[str]:
    """' ' || part || ' ' || part …, exactly as the migrations write the indexed expressions."""
    space = sa.literal_column("' '", sa.String)
    expression = space + parts[0]
    for part in parts[1:]:
        expression = expression + space + part
    return expression


def contains(
    expression: sa.ColumnElement[str], term: str, *, short_anywhere: bool = False
) -> sa.ColumnElement[bool]:
    """`expression` contains `term` (three characters or more), or has a word starting with it; with
    `short_anywhere`, a shorter term is looked for anywhere too, which the index cannot answer (it reads
    the whole table) — for names without spaces, such as 「ひまわり訪問看護ステーション」 and 「訪問」."""
    escaped = re.sub(r"([\\%_])", r"\\\1", term)
    anywhere = short_anywhere or len(term) >= TRIGRAM
    return expression.ilike(f"%{escaped}%" if anywhere else f"% {escaped}%", escape="\\")
