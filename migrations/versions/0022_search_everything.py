"""The search box finds a ticket by its body, its messages, part of its 受付番号 and one or two
characters of a name: each ticket's messages gathered in one column, the trigram index over the
wider expression (PostgreSQL, built concurrently), and the gram table for short terms.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

from backoffice.search import grams

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

MESSAGES = (
    "kind IN ('public_reply', 'requester_message', 'internal_note', 'corrected') AND body <> ''"
)
# Must stay the same expression as backoffice.inquiries.search.searchable_text().
SEARCHABLE = (
    "(' ' || replace(reference_number, '-', '') || ' ' || requester_name || ' ' || "
    "requester_kana || ' ' || coalesce(organization_name, '') || ' ' || coalesce(email, '') || "
    "' ' || body || ' ' || messages_text)"
)
OLD_SEARCHABLE = (
    "(' ' || requester_name || ' ' || requester_kana || ' ' || "
    "coalesce(organization_name, '') || ' ' || email)"
)


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    with op.batch_alter_table("inquiries") as batch:
        batch.add_column(sa.Column("messages_text", sa.Text(), server_default="", nullable=False))
    op.create_table(
        "inquiry_grams",
        sa.Column(
            "gram", sa.String(2, collation="C") if postgresql else sa.String(2), nullable=False
        ),
        sa.Column("inquiry_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["inquiry_id"],
            ["inquiries.id"],
            name=op.f("fk_inquiry_grams_inquiry_id_inquiries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("gram", "inquiry_id", name=op.f("pk_inquiry_grams")),
    )
    # A deleted ticket's grams are found by it (the cascade would read the whole table otherwise).
    op.create_index(op.f("ix_inquiry_grams_inquiry_id"), "inquiry_grams", ["inquiry_id"])
    if postgresql:
        op.execute(
            "UPDATE inquiries i SET messages_text = m.text FROM (SELECT inquiry_id, "
            f"string_agg(E'\\n' || body, '' ORDER BY id) AS text FROM inquiry_events "
            f"WHERE {MESSAGES} GROUP BY inquiry_id) m WHERE m.inquiry_id = i.id"
        )
    else:
        connection = op.get_bind()
        for inquiry_id, body in connection.execute(
            sa.text(f"SELECT inquiry_id, body FROM inquiry_events WHERE {MESSAGES} ORDER BY id")
        ):
            connection.execute(
                sa.text("UPDATE inquiries SET messages_text = messages_text || :text WHERE id = :id"),
                {"text": "\n" + body, "id": inquiry_id},
            )
    _grams(postgresql)
    if postgresql:
        _search_index(SEARCHABLE)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _search_index(OLD_SEARCHABLE)
    op.drop_table("inquiry_grams")
    with op.batch_alter_table("inquiries") as batch:
        batch.drop_column("messages_text")


def _grams(postgresql: bool) -> None:
    """Every ticket's grams (backoffice.search.grams): NFKC, lower case, each two consecutive
    characters of a word of 氏名, フリガナ and 組織名, a word's last character with a space."""
    if postgresql:
        op.execute(
            "INSERT INTO inquiry_grams (gram, inquiry_id) "
            "SELECT DISTINCT substr(w, n, 1) || CASE WHEN n < length(w) "
            "THEN substr(w, n + 1, 1) ELSE ' ' END, i.id "
            "FROM inquiries i, LATERAL regexp_split_to_table(lower(normalize("
            "i.requester_name || ' ' || i.requester_kana || ' ' || "
            "coalesce(i.organization_name, ''), NFKC)), '\\s+') AS w, "
            "LATERAL generate_series(1, length(w)) AS n WHERE w <> '' ORDER BY 1, 2"
        )
        return
    connection = op.get_bind()
    rows = connection.execute(
        sa.text("SELECT id, requester_name, requester_kana, organization_name FROM inquiries")
    ).all()
    for row in rows:
        values = [{"gram": g, "id": row[0]} for g in sorted(grams(row[1:]))]
        if values:
            connection.execute(
                sa.text("INSERT INTO inquiry_grams (gram, inquiry_id) VALUES (:gram, :id)"), values
            )


def _search_index(expression: str) -> None:
    """Replace ix_inquiries_search: the new one is built concurrently beside the old, which serves
    the search box until the swap, so the form and the list go on while it builds."""
    with op.get_context().autocommit_block():
        op.execute("DROP INDEX CONCURRENTLY IF EXISTS ix_inquiries_search_new")
        op.execute(
            "CREATE INDEX CONCURRENTLY ix_inquiries_search_new ON inquiries "
            f"USING gin ({expression} gin_trgm_ops) WITH (fastupdate = off)"
        )
        op.execute("DROP INDEX CONCURRENTLY IF EXISTS ix_inquiries_search")
        op.execute("ALTER INDEX ix_inquiries_search_new RENAME TO ix_inquiries_search")
