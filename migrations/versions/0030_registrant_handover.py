"""One-time passwords for handing over the 登録者 role (backoffice/accounts/handover.py): the purpose
`handover` joins the CHECK constraint of otp_challenges.purpose.

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-08
"""

from alembic import op

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None

OLD_PURPOSES = ("login", "registration", "password_reset", "email_change")
NEW_PURPOSES = (*OLD_PURPOSES, "handover")


def _purposes(values: tuple[str, ...]) -> None:
    with op.batch_alter_table("otp_challenges") as batch:
        batch.drop_constraint(op.f("ck_otp_challenges_otp_purpose"), type_="check")
        batch.create_check_constraint(
            op.f("ck_otp_challenges_otp_purpose"),
            f"purpose IN ({', '.join(repr(v) for v in values)})",
        )


def upgrade() -> None:
    _purposes(NEW_PURPOSES)


def downgrade() -> None:
    op.execute("DELETE FROM otp_challenges WHERE purpose = 'handover'")
    _purposes(OLD_PURPOSES)
