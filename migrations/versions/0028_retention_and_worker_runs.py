"""The retention of personal data (backoffice.retention) and the background commands' heartbeat
(backoffice.monitoring): when a ticket's contact fields and an inbound original were erased, the
indexes of what is still kept, and worker_runs.

On PostgreSQL the indexes are built concurrently, so upgrading a live database does not stop the
inquiry form or the mail workers while they build; the new columns are nullable, added instantly.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0028"
down_revision = "0027"
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
    op.create_table(
        "worker_runs",
        sa.Column("worker", sa.String(length=40), nullable=False),
        sa.Column("last_success_at", sa.DateTime(), nullable=True),
        sa.Column("last_failure_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("worker", name=op.f("pk_worker_runs")),
    )
    with op.batch_alter_table("inquiries") as batch_op:
        batch_op.add_column(sa.Column("anonymised_at", sa.DateTime(), nullable=True))
    with op.batch_alter_table("inbound_emails") as batch_op:
        batch_op.add_column(sa.Column("raw_purged_at", sa.DateTime(), nullable=True))
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        # CREATE INDEX CONCURRENTLY cannot run inside a transaction.
        with op.get_context().autocommit_block():
            for name, table, column, where in INDEXES:
                op.create_index(
                    name,
                    table,
                    [column],
                    postgresql_where=sa.text(where),
                    postgresql_concurrently=True,
                )
    else:
        for name, table, column, where in INDEXES:
            op.create_index(name, table, [column], sqlite_where=sa.text(where))


def downgrade() -> None:
    for name, table, _column, _where in INDEXES:
        op.drop_index(name, table_name=table)
    with op.batch_alter_table("inbound_emails") as batch_op:
        batch_op.drop_column("raw_purged_at")
    with op.batch_alter_table("inquiries") as batch_op:
        batch_op.drop_column("anonymised_at")
    op.drop_table("worker_runs")
