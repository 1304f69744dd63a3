"""Operators correct tickets: how each ticket came in (form, mail, phone, FAX, counter; a logged one
may have no email), the ticket a merged one now lives in, the history entries for a changed 区分,
a corrected address and a merge; and each outbox mail's kind with an index by address for the
ticket page's facts panel.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

OLD_KINDS = (
    "created",
    "status_changed",
    "assigned",
    "public_reply",
    "internal_note",
    "account_issued",
    "requester_message",
    "reminder_sent",
    "correction_requested",
    "corrected",
    "mail_auto_reply",
    "mail_bounced",
    "mail_held",
)
NEW_KINDS = (*OLD_KINDS, "category_changed", "email_corrected", "merged")
INTAKES = ("form", "mail", "phone", "fax", "counter")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _kinds(values: tuple[str, ...]) -> None:
    with op.batch_alter_table("inquiry_events") as batch:
        batch.drop_constraint(op.f("ck_inquiry_events_event_kind"), type_="check")
        batch.create_check_constraint(op.f("ck_inquiry_events_event_kind"), _in("kind", values))


def upgrade() -> None:
    _kinds(NEW_KINDS)
    with op.batch_alter_table("inquiries") as batch:
        batch.add_column(
            sa.Column(
                "intake",
                sa.Enum(
                    *INTAKES,
                    name="inquiry_intake",
                    native_enum=False,
                    create_constraint=True,
                    length=7,
                ),
                server_default="form",
                nullable=False,
            )
        )
        batch.add_column(sa.Column("merged_into_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_inquiries_merged_into_id_inquiries"), "inquiries", ["merged_into_id"], ["id"]
        )
        batch.create_index(op.f("ix_inquiries_merged_into_id"), ["merged_into_id"])
        batch.alter_column(
            "email", existing_type=sa.String(254), nullable=True, existing_nullable=False
        )
    # Tickets made from an inbound mail (migration 0016) came in by mail.
    op.execute(
        "UPDATE inquiries SET intake = 'mail' WHERE submission_key LIKE 'mail:%'"
    )
    with op.batch_alter_table("outbound_emails") as batch:
        batch.add_column(sa.Column("kind", sa.String(40), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        with op.get_context().autocommit_block():
            op.create_index(
                "ix_outbound_emails_to_address_created_at",
                "outbound_emails",
                ["to_address", "created_at"],
                postgresql_concurrently=True,
            )
    else:
        op.create_index(
            "ix_outbound_emails_to_address_created_at",
            "outbound_emails",
            ["to_address", "created_at"],
        )


def downgrade() -> None:
    op.drop_index("ix_outbound_emails_to_address_created_at", table_name="outbound_emails")
    with op.batch_alter_table("outbound_emails") as batch:
        batch.drop_column("kind")
    op.execute("DELETE FROM inquiry_events WHERE kind IN ('category_changed', 'email_corrected', 'merged')")
    op.execute("UPDATE inquiries SET email = '' WHERE email IS NULL")
    with op.batch_alter_table("inquiries") as batch:
        batch.alter_column(
            "email", existing_type=sa.String(254), nullable=False, existing_nullable=True
        )
        batch.drop_index(op.f("ix_inquiries_merged_into_id"))
        batch.drop_constraint(op.f("fk_inquiries_merged_into_id_inquiries"), type_="foreignkey")
        batch.drop_column("merged_into_id")
        batch.drop_constraint(op.f("ck_inquiries_inquiry_intake"), type_="check")
        batch.drop_column("intake")
    _kinds(OLD_KINDS)
