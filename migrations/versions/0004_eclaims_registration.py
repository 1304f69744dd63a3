"""The 電子請求受付システム directory (imported from CSV) and 初回利用登録 flows.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('eclaims_offices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('eclaims_id', sa.String(length=14), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=False),
    sa.Column('security_email', sa.String(length=254), nullable=True),
    sa.Column('security_code_hash', sa.String(length=200), nullable=True),
    sa.Column('office_number', sa.String(length=10), nullable=False),
    sa.Column('office_name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.Enum('care', 'deemed', 'medical', name='eclaims_kind', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('failed_attempts', sa.Integer(), nullable=False),
    sa.Column('locked_until', sa.DateTime(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_eclaims_offices')),
    sa.UniqueConstraint('eclaims_id', name=op.f('uq_eclaims_offices_eclaims_id'))
    )
    op.create_index(op.f('ix_eclaims_offices_office_number'), 'eclaims_offices', ['office_number'])

    op.create_table('registration_flows',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('eclaims_office_id', sa.Integer(), nullable=False),
    sa.Column('step', sa.Enum('otp', 'details', 'done', name='registration_step', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('completed_at', sa.DateTime(), nullable=True),
    sa.Column('registered_email', sa.String(length=254), nullable=True),
    sa.ForeignKeyConstraint(['eclaims_office_id'], ['eclaims_offices.id'], name=op.f('fk_registration_flows_eclaims_office_id_eclaims_offices')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_registration_flows')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_registration_flows_key_hash'))
    )
    op.create_index(op.f('ix_registration_flows_eclaims_office_id'), 'registration_flows', ['eclaims_office_id'])


def downgrade() -> None:
    op.drop_table('registration_flows')
    op.drop_table('eclaims_offices')
