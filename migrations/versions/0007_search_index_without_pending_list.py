"""The search box's trigram index takes each new ticket at once instead of through a pending list.

With GIN's default `fastupdate`, new entries wait in an unordered pending list (up to 4 MB) that every
search reads in full until a vacuum merges it; autovacuum comes by only every 20 % of the table in
inserts. A few thousand new inquiries made a search by name twice as slow. Inserting directly costs
about the same per ticket (the pending list is merged by an insert sooner or later anyway).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER INDEX ix_inquiries_search SET (fastupdate = off)")
        # Turning it off keeps what is pending already: merge that now.
        op.execute("SELECT gin_clean_pending_list('ix_inquiries_search')")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER INDEX ix_inquiries_search RESET (fastupdate)")
