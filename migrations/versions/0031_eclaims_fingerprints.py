"""The keyed fingerprint of each e-claims row's secrets, so that a re-import of the directory hashes only
the rows whose password or security code changed (backoffice/eclaims/fingerprints.py).

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("eclaims_offices") as batch:
        batch.add_column(sa.Column("secrets_fingerprint", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("eclaims_offices") as batch:
        batch.drop_column("secrets_fingerprint")
