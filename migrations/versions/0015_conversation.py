"""The conversation: requesters' messages (with their channel and a key that makes a repeat one
message), the status 依頼者の回答待ち, the sealed status token for later mails (and when it was last mailed on request), the sweep's clocks,
follow-up tickets that link to the old one, per-category reminder and closing days, and the
fields a 差し戻し asks an ID request to correct.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

OLD_STATUSES = (
    "new",
    "in_progress",
    "answered",
    "on_hold",
    "resolved",
    "closed",
    "rejected",
    "spam",
)
NEW_STATUSES = ("new", "in_progress", "answered", "waiting", *OLD_STATUSES[3:])
OLD_KINDS = (
    "created",
    "status_changed",
    "assigned",
    "public_reply",
    "internal_note",
    "account_issued",
)
NEW_KINDS = (*OLD_KINDS, "requester_message", "reminder_sent", "correction_requested", "corrected")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _status_check(table: str, values: tuple[str, ...]) -> None:
    with op.batch_alter_table(table) as batch:
        batch.drop_constraint(op.f(f"ck_{table}_inquiry_status"), type_="check")
        batch.create_check_constraint(op.f(f"ck_{table}_inquiry_status"), _in("status", values))


def _kinds(values: tuple[str, ...], length: int) -> None:
    with op.batch_alter_table("inquiry_events") as batch:
        batch.drop_constraint(op.f("ck_inquiry_events_event_kind"), type_="check")
        batch.alter_column(
            "kind", type_=sa.String(length), existing_type=sa.String(14), existing_nullable=False
        )
        batch.create_check_constraint(op.f("ck_inquiry_events_event_kind"), _in("kind", values))


def upgrade() -> None:
    _status_check("inquiries", NEW_STATUSES)
    _status_check("inquiry_status_counts", NEW_STATUSES)
    op.execute("INSERT INTO inquiry_status_counts (status, count) VALUES ('waiting', 0)")
    _kinds(NEW_KINDS, 20)
    with op.batch_alter_table("inquiry_events") as batch:
        batch.add_column(
            sa.Column(
                "channel",
                sa.Enum(
                    "web",
                    "portal",
                    "email",
                    name="message_channel",
                    native_enum=False,
                    create_constraint=True,
                ),
                nullable=True,
            )
        )
        batch.add_column(sa.Column("message_key", sa.String(64), nullable=True))
        batch.create_unique_constraint(op.f("uq_inquiry_events_message_key"), ["message_key"])
    with op.batch_alter_table("inquiries") as batch:
        batch.add_column(sa.Column("status_token_sealed", sa.Text(), nullable=True))
        batch.add_column(sa.Column("link_sent_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("requester_replied_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("waiting_since", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("reminded_at", sa.DateTime(), nullable=True))
        batch.add_column(sa.Column("previous_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_inquiries_previous_id_inquiries"), "inquiries", ["previous_id"], ["id"]
        )
        batch.create_index(op.f("ix_inquiries_previous_id"), ["previous_id"])
    for column in ("requester_replied_at", "waiting_since"):
        where = sa.text(f"{column} IS NOT NULL")
        op.create_index(
            op.f(f"ix_inquiries_{column}"),
            "inquiries",
            [column],
            postgresql_where=where,
            sqlite_where=where,
        )
    issued = sa.text("kind = 'account_issued'")
    op.create_index(
        "ix_inquiry_events_account_issued",
        "inquiry_events",
        ["new_value"],
        postgresql_where=issued,
        sqlite_where=issued,
    )
    with op.batch_alter_table("inquiry_account_requests") as batch:
        batch.add_column(sa.Column("correction_fields", sa.JSON(), nullable=True))
    with op.batch_alter_table("inquiry_categories") as batch:
        batch.add_column(
            sa.Column("reminder_business_days", sa.Integer(), nullable=False, server_default="3")
        )
        batch.add_column(
            sa.Column("close_business_days", sa.Integer(), nullable=False, server_default="10")
        )


def downgrade() -> None:
    op.drop_index("ix_inquiry_events_account_issued", table_name="inquiry_events")
    with op.batch_alter_table("inquiry_account_requests") as batch:
        batch.drop_column("correction_fields")
    with op.batch_alter_table("inquiry_categories") as batch:
        batch.drop_column("close_business_days")
        batch.drop_column("reminder_business_days")
    for column in ("waiting_since", "requester_replied_at"):
        op.drop_index(op.f(f"ix_inquiries_{column}"), table_name="inquiries")
    with op.batch_alter_table("inquiries") as batch:
        batch.drop_index(op.f("ix_inquiries_previous_id"))
        batch.drop_constraint(op.f("fk_inquiries_previous_id_inquiries"), type_="foreignkey")
        for column in (
            "previous_id",
            "reminded_at",
            "waiting_since",
            "requester_replied_at",
            "status_token_sealed",
            "link_sent_at",
        ):
            batch.drop_column(column)
    with op.batch_alter_table("inquiry_events") as batch:
        batch.drop_constraint(op.f("uq_inquiry_events_message_key"), type_="unique")
        batch.drop_column("message_key")
        batch.drop_constraint(op.f("ck_inquiry_events_message_channel"), type_="check")
        batch.drop_column("channel")
    op.execute(
        "DELETE FROM inquiry_events WHERE kind IN "
        "('requester_message', 'reminder_sent', 'correction_requested', 'corrected')"
    )
    _kinds(OLD_KINDS, 14)
    op.execute("UPDATE inquiries SET status = 'in_progress' WHERE status = 'waiting'")
    op.execute(
        "UPDATE inquiry_status_counts SET count = count + "
        "(SELECT count FROM inquiry_status_counts WHERE status = 'waiting') "
        "WHERE status = 'in_progress'"
    )
    op.execute("DELETE FROM inquiry_status_counts WHERE status = 'waiting'")
    _status_check("inquiry_status_counts", OLD_STATUSES)
    _status_check("inquiries", OLD_STATUSES)
