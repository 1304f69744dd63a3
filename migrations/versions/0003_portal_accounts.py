"""Portal accounts: organizations, portal users and their sessions, 利用規約 versions, one-time passwords.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('organizations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('care', 'deemed', 'medical', name='organization_kind', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('name_kana', sa.String(length=200), nullable=True),
    sa.Column('office_number', sa.String(length=10), nullable=False),
    sa.Column('eclaims_id', sa.String(length=14), nullable=True),
    sa.Column('postal_code', sa.String(length=8), nullable=True),
    sa.Column('address', sa.String(length=300), nullable=True),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('users_version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_organizations')),
    sa.UniqueConstraint('eclaims_id', name=op.f('uq_organizations_eclaims_id')),
    sa.UniqueConstraint('office_number', name=op.f('uq_organizations_office_number'))
    )
    op.create_table('terms_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.String(length=20), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('published_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_terms_versions')),
    sa.UniqueConstraint('version', name=op.f('uq_terms_versions_version'))
    )
    op.create_index(op.f('ix_terms_versions_published_at'), 'terms_versions', ['published_at'])

    op.create_table('portal_users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organization_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('name_kana', sa.String(length=100), nullable=False),
    sa.Column('phone', sa.String(length=11), nullable=False),
    sa.Column('department', sa.String(length=100), nullable=True),
    sa.Column('is_registrant', sa.Boolean(), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=False),
    sa.Column('must_change_password', sa.Boolean(), nullable=False),
    sa.Column('initial_password_expires_at', sa.DateTime(), nullable=True),
    sa.Column('password_changed_at', sa.DateTime(), nullable=True),
    sa.Column('terms_version_id', sa.Integer(), nullable=True),
    sa.Column('terms_accepted_at', sa.DateTime(), nullable=True),
    sa.Column('failed_attempts', sa.Integer(), nullable=False),
    sa.Column('locked_until', sa.DateTime(), nullable=True),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('first_login_at', sa.DateTime(), nullable=True),
    sa.Column('last_login_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['organization_id'], ['organizations.id'], name=op.f('fk_portal_users_organization_id_organizations')),
    sa.ForeignKeyConstraint(['terms_version_id'], ['terms_versions.id'], name=op.f('fk_portal_users_terms_version_id_terms_versions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_portal_users')),
    sa.UniqueConstraint('email', name=op.f('uq_portal_users_email'))
    )
    op.create_index(op.f('ix_portal_users_organization_id'), 'portal_users', ['organization_id'])

    op.create_table('otp_challenges',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.Enum('login', 'registration', 'password_reset', 'email_change', name='otp_purpose', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('portal_user_id', sa.Integer(), nullable=True),
    sa.Column('sent_to', sa.String(length=254), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('binding_hash', sa.String(length=64), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('consumed_at', sa.DateTime(), nullable=True),
    sa.Column('last_sent_at', sa.DateTime(), nullable=False),
    sa.Column('sends', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['portal_user_id'], ['portal_users.id'], name=op.f('fk_otp_challenges_portal_user_id_portal_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_otp_challenges')),
    sa.UniqueConstraint('binding_hash', name=op.f('uq_otp_challenges_binding_hash'))
    )
    op.create_index(op.f('ix_otp_challenges_created_at'), 'otp_challenges', ['created_at'])
    op.create_index(op.f('ix_otp_challenges_portal_user_id'), 'otp_challenges', ['portal_user_id'])

    op.create_table('portal_sessions',
    sa.Column('portal_user_id', sa.Integer(), nullable=False),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(), nullable=False),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.Column('ip_address', sa.String(length=45), nullable=True),
    sa.ForeignKeyConstraint(['portal_user_id'], ['portal_users.id'], name=op.f('fk_portal_sessions_portal_user_id_portal_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_portal_sessions')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_portal_sessions_key_hash'))
    )
    op.create_index(op.f('ix_portal_sessions_portal_user_id'), 'portal_sessions', ['portal_user_id'])


def downgrade() -> None:
    op.drop_table('portal_sessions')
    op.drop_table('otp_challenges')
    op.drop_table('portal_users')
    op.drop_table('terms_versions')
    op.drop_table('organizations')
