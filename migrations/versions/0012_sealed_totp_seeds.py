"""Operators' TOTP seeds are sealed at rest (backoffice/sealing.py, keys derived from SECRET_KEY): the
clear columns become `…_sealed` and every existing seed is sealed in place.

Run it with the app's SECRET_KEY (`flask db upgrade` does): the seeds are sealed under it.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

from backoffice import sealing

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

COLUMNS = {"totp_secret": "totp_secret_sealed", "totp_pending_secret": "totp_pending_secret_sealed"}


def _convert(source: str, target: str, change) -> None:
    operators = sa.table("operators", sa.column("id"), sa.column(source), sa.column(target))
    bind = op.get_bind()
    for row in bind.execute(sa.select(operators.c.id, operators.c[source])).all():
        value = row[1]
        bind.execute(
            operators.update()
            .where(operators.c.id == row[0])
            .values({target: change(value) if value else None})
        )


def upgrade() -> None:
    with op.batch_alter_table("operators") as batch:
        for clear, sealed in COLUMNS.items():
            batch.add_column(sa.Column(sealed, sa.String(255), nullable=True))
    for clear, sealed in COLUMNS.items():
        _convert(clear, sealed, lambda value: sealing.seal(sealing.TOTP_SEED, value))
    with op.batch_alter_table("operators") as batch:
        batch.alter_column("totp_secret_sealed", existing_type=sa.String(255), nullable=False)
        for clear in COLUMNS:
            batch.drop_column(clear)


def downgrade() -> None:
    with op.batch_alter_table("operators") as batch:
        for clear in COLUMNS:
            batch.add_column(sa.Column(clear, sa.String(64), nullable=True))
    for clear, sealed in COLUMNS.items():
        _convert(sealed, clear, lambda value: sealing.unseal(sealing.TOTP_SEED, value))
    with op.batch_alter_table("operators") as batch:
        batch.alter_column("totp_secret", existing_type=sa.String(64), nullable=False)
        for sealed in COLUMNS.values():
            batch.drop_column(sealed)
