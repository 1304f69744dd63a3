"""The organizations' and portal users' search boxes get trigram indexes, like the ticket list's.

Flask-Admin's search read the whole table (600,000 portal users: ~0.9 s for a name). Each list now looks
for free text in one expression that a GIN trigram index covers (backoffice.search): 名称, フリガナ and
事業所番号・医療機関コード for organizations; 氏名, フリガナ and ID (email) for portal users. As for the
tickets (migration 0007), new rows go straight into the index (no pending list for searches to read).

On PostgreSQL the indexes are built concurrently, so upgrading a live database does not block
registrations while they build. SQLite has no trigram index: its search reads the table, as before.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# Must stay the same expressions as OrganizationView.searchable_text / PortalUserView.searchable_text.
INDEXES = {
    "ix_organizations_search": (
        "organizations",
        "(' ' || name || ' ' || coalesce(name_kana, '') || ' ' || office_number)",
    ),
    "ix_portal_users_search": ("portal_users", "(' ' || name || ' ' || name_kana || ' ' || email)"),
}


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    # CREATE INDEX CONCURRENTLY cannot run inside a transaction.
    with op.get_context().autocommit_block():
        for name, (table, expression) in INDEXES.items():
            op.execute(
                f"CREATE INDEX CONCURRENTLY {name} ON {table} "
                f"USING gin ({expression} gin_trgm_ops) WITH (fastupdate = off)"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    with op.get_context().autocommit_block():
        for name in INDEXES:
            op.execute(f"DROP INDEX CONCURRENTLY {name}")
