"""One-time passwords: an index for the gate every mail passes (the cooldown and the hourly cap per
address and purpose).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_otp_challenges_mailbox", "otp_challenges", ["sent_to", "purpose", "last_sent_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_otp_challenges_mailbox", table_name="otp_challenges")
