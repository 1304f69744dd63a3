"""The organizations' and portal users' search boxes find one or two characters of a name (「訪問」,
「佐藤」) through gram tables, as the ticket list does since 0022, instead of reading the table.

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-08
"""

import sqlalchemy as sa
from alembic import op

from backoffice.search import rebuild_grams

revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None

# (gram table, owner, key, the owner's named columns): backoffice/accounts/search_index.py.
TABLES = (
    ("organization_grams", "organizations", "organization_id", ("name", "name_kana")),
    ("portal_user_grams", "portal_users", "portal_user_id", ("name", "name_kana")),
)


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    metadata = sa.MetaData()
    for name, owner, key, fields in TABLES:
        op.create_table(
            name,
            sa.Column(
                "gram", sa.String(2, collation="C") if postgresql else sa.String(2), nullable=False
            ),
            sa.Column(key, sa.Integer(), nullable=False),
            sa.ForeignKeyConstraint(
                [key], [f"{owner}.id"], name=op.f(f"fk_{name}_{key}_{owner}"), ondelete="CASCADE"
            ),
            sa.PrimaryKeyConstraint("gram", key, name=op.f(f"pk_{name}")),
        )
        # A deleted row's grams are found by it (the cascade would read the whole table otherwise).
        op.create_index(op.f(f"ix_{name}_{key}"), name, [key])
        sa.Table(owner, metadata, sa.Column("id", sa.Integer, primary_key=True), *(
            sa.Column(f, sa.String) for f in fields
        ))
        table = sa.Table(
            name,
            metadata,
            sa.Column("gram", sa.String(2), primary_key=True),
            sa.Column(key, sa.ForeignKey(f"{owner}.id"), primary_key=True),
        )
        rebuild_grams(op.get_bind(), table, fields)


def downgrade() -> None:
    for name, *_ in TABLES:
        op.drop_table(name)
