"""The time a portal session's password was last entered again (adding or disabling users needs it
recent).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op


revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("portal_sessions") as batch:
        batch.add_column(sa.Column("reauthenticated_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("portal_sessions") as batch:
        batch.drop_column("reauthenticated_at")
