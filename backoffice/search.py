"""Search boxes over a million rows: one expression per table with a trigram index on it (PostgreSQL),
and a table of two-character grams for the terms trigrams cannot answer.

A list's free-text search looks for the term in one expression — its columns joined by spaces, with a
leading space, so every word starts after one — that a GIN trigram index (pg_trgm) covers; the
migration that builds the index must use the very same expression. Trigrams need three characters and
no packaged PostgreSQL extension indexes shorter Japanese terms, so a list whose names must be found by
one or two characters (「内科」 in 「ひまわり内科クリニック」) keeps a gram table beside its rows:
every two consecutive characters of each word of the named columns (the last character of a word with
a space), written in the same transaction as the row. A two-character term is one gram; a one-character
term is the grams that start with it.
"""

import re
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa

from backoffice.normalize import nfkc

# Below this many characters a term has no trigram of its own (see the module docstring).
TRIGRAM = 3


def spaced(*parts: sa.ColumnElement[str]) -> sa.ColumnElement[str]:
    """' ' || part || ' ' || part …, exactly as the migrations write the indexed expressions."""
    space = sa.literal_column("' '", sa.String)
    expression = space + parts[0]
    for part in parts[1:]:
        expression = expression + space + part
    return expression


def _escaped(term: str) -> str:
    return re.sub(r"([\\%_])", r"\\\1", term)


def contains(expression: sa.ColumnElement[str], term: str) -> sa.ColumnElement[bool]:
    """`expression` contains `term` (three characters or more), or has a word starting with it (a
    shorter term, which the trigram index cannot answer: lists that must find one or two characters
    keep a gram table, below)."""
    anywhere = len(term) >= TRIGRAM
    pattern = f"%{_escaped(term)}%" if anywhere else f"% {_escaped(term)}%"
    if term.lower() == term.upper():
        # Nothing in the term has a case (Japanese, digits): LIKE finds the same rows as ILIKE, and
        # PostgreSQL checks a row about three times faster without folding it (the same index serves).
        return expression.like(pattern, escape="\\")
    return expression.ilike(pattern, escape="\\")


def gram_table(metadata: sa.MetaData, name: str, owner: str, key: str) -> sa.Table:
    """The gram table `name` of the rows of table `owner`, keyed by `key` (their id). Grams compare
    byte by byte on PostgreSQL (collation "C"), so a one-character term is a range of the key. The
    index on `key` alone lets a deleted row's grams go with it (the cascade, and the foreign key's
    check, would otherwise read the whole table for each row)."""
    return sa.Table(
        name,
        metadata,
        sa.Column(
            "gram",
            sa.String(2).with_variant(sa.String(2, collation="C"), "postgresql"),
            primary_key=True,
        ),
        sa.Column(
            key, sa.ForeignKey(f"{owner}.id", ondelete="CASCADE"), primary_key=True, index=True
        ),
    )


def grams(texts: Iterable[str | None]) -> set[str]:
    """The grams of `texts`: NFKC, lower case, every two consecutive characters of each word, and
    each word's last character followed by a space."""
    found: set[str] = set()
    for text in texts:
        for word in nfkc(text).lower().split(" "):
            for i, character in enumerate(word):
                found.add(character + (word[i + 1] if i + 1 < len(word) else " "))
    return found


def keep_grams(
    connection: sa.Connection,
    table: sa.Table,
    record_id: int,
    texts: Iterable[str | None],
    *,
    was: Iterable[str | None] = (),
) -> None:
    """Make `table` hold the grams of `texts` for `record_id` instead of those of `was` (the values
    before a change; none for a new row), on `connection` — the caller's transaction, so a row and its
    grams are never apart. Only the difference is written, each row by its primary key."""
    key = _key(table)
    new, old = grams(texts), grams(was)
    if gone := old - new:
        connection.execute(sa.delete(table).where(key == record_id, table.c.gram.in_(sorted(gone))))
    if added := new - old:
        connection.execute(
            sa.insert(table), [{"gram": gram, key.name: record_id} for gram in sorted(added)]
        )


def keep_grams_of(model: Any, table: sa.Table, fields: Sequence[str]) -> None:
    """Keep `table` in step with `fields` of every row of `model` the ORM inserts or updates, in the
    flush that writes the row."""

    @sa.event.listens_for(model, "after_insert")
    def _grams_of_new_row(mapper: Any, connection: sa.Connection, target: Any) -> None:
        keep_grams(connection, table, target.id, (getattr(target, f) for f in fields))

    @sa.event.listens_for(model, "after_update")
    def _grams_of_changed_row(mapper: Any, connection: sa.Connection, target: Any) -> None:
        state = sa.inspect(target)
        changes = [state.attrs[f].history for f in fields]
        if any(h.has_changes() for h in changes):
            was = [h.deleted[0] if h.deleted else (h.unchanged or [None])[0] for h in changes]
            keep_grams(connection, table, target.id, (getattr(target, f) for f in fields), was=was)


def rebuild_grams(connection: sa.Connection, table: sa.Table, fields: Sequence[str]) -> None:
    """Write `table` afresh from every row of the table it indexes (after a bulk load or in the
    migration that adds it): in one statement on PostgreSQL, row by row elsewhere."""
    key = _key(table)
    owner = next(iter(key.foreign_keys)).column.table
    connection.execute(sa.delete(table))
    if connection.dialect.name == "postgresql":
        # The statement form of `grams` (NFKC, lower case, pairs, a word's last character with a
        # space).
        joined = " || ' ' || ".join(f"coalesce(o.{f}, '')" for f in fields)
        connection.execute(
            sa.text(
                f"INSERT INTO {table.name} (gram, {key.name}) "  # noqa: S608 (names of the metadata)
                "SELECT DISTINCT substr(w, n, 1) || CASE WHEN n < length(w) "
                "THEN substr(w, n + 1, 1) ELSE ' ' END, o.id "
                f"FROM {owner.name} o, LATERAL regexp_split_to_table(lower(normalize("
                f"{joined}, NFKC)), '\\s+') AS w, "
                "LATERAL generate_series(1, length(w)) AS n WHERE w <> '' ORDER BY 1, 2"
            )
        )
        return
    columns = [owner.c[name] for name in fields]
    for row in connection.execute(sa.select(owner.c.id, *columns)):
        keep_grams(connection, table, row[0], row[1:])


def has_gram(
    table: sa.Table, id_column: sa.ColumnElement[int], term: str
) -> sa.ColumnElement[bool]:
    """The rows with a word containing `term` (one or two characters, as `grams` sees them)."""
    term = nfkc(term).lower()
    if len(term) >= TRIGRAM or not term:
        raise ValueError("a gram search takes one or two characters")
    if len(term) == 2:
        matching = table.c.gram == term
    else:
        matching = table.c.gram.like(f"{_escaped(term)}%", escape="\\")
    return id_column.in_(sa.select(_key(table)).where(matching))


def _key(table: sa.Table) -> sa.Column[int]:
    return next(column for column in table.primary_key.columns if column.name != "gram")
