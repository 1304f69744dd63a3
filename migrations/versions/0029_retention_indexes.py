"""The indexes of what the retention (backoffice.retention) has still to look at: finished tickets
whose contact fields are kept, inbound originals and mail bodies not yet deleted.

On PostgreSQL each is built concurrently, so upgrading a live database does not stop the inquiry form
or the mail workers while they build. A build that was interrupted (a lock timeout, a stopped
upgrade) leaves an invalid index: running the upgrade again drops it and builds it anew.

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-04
"""

from alembic import op

from backoffice.migration_helpers import create_index_concurrently

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None

INDEXES = (
    (
        "ix_inquiries_kept_resolved_at",
        "inquiries",
        "resolved_at",
        "resolved_at IS NOT NULL AND anonymised_at IS NULL",
    ),
    ("ix_inbound_emails_raw_kept_received_at", "inbound_emails", "received_at", "raw_purged_at IS NULL"),
    ("ix_outbound_emails_body_kept_created_at", "outbound_emails", "created_at", "scrubbed_at IS NULL"),
)


def upgrade() -> None:
    for name, table, column, where in INDEXES:
        create_index_concurrently(name, table, [column], where=where)


def downgrade() -> None:
    for name, table, _column, _where in INDEXES:
        op.drop_index(name, table_name=table)
