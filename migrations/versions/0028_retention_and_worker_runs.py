"""The retention of personal data (backoffice.retention) and the background commands' heartbeat
(backoffice.monitoring): when a ticket's contact fields and an inbound original were erased, and
worker_runs. The new columns are nullable, so PostgreSQL adds them at once; the indexes of what is
still kept are built concurrently by 0029.

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


def downgrade() -> None:
    with op.batch_alter_table("inbound_emails") as batch_op:
        batch_op.drop_column("raw_purged_at")
    with op.batch_alter_table("inquiries") as batch_op:
        batch_op.drop_column("anonymised_at")
    op.drop_table("worker_runs")
