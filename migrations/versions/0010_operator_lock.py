"""Portal users remember whether an operator locked them: such a lock holds until an operator lifts it,
while a lock from failed attempts may still end with the user's own password reset.

Locks set before this revision are told apart by length: an operator's lasts a hundred years, one from
failures at most a day.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("portal_users") as batch:
        batch.add_column(
            sa.Column("locked_by_operator", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    users = sa.table(
        "portal_users",
        sa.column("locked_until", sa.DateTime()),
        sa.column("locked_by_operator", sa.Boolean()),
    )
    op.execute(
        users.update()
        .where(users.c.locked_until > sa.func.now() + sa.text("interval '2 days'"))
        .values(locked_by_operator=True)
        if op.get_bind().dialect.name == "postgresql"
        else users.update()
        .where(users.c.locked_until > sa.func.datetime("now", "+2 days"))
        .values(locked_by_operator=True)
    )


def downgrade() -> None:
    with op.batch_alter_table("portal_users") as batch:
        batch.drop_column("locked_by_operator")
