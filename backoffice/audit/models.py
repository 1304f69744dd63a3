"""The append-only audit log: every security-relevant and operator action, never a secret."""

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from backoffice.db import enum_column, utcnow
from backoffice.extensions import db


class Outcome(enum.Enum):
    SUCCESS = "success"
    FAILURE = "failure"


class AuditEvent(db.Model):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # "operator", "portal_user", "requester", "system" or "anonymous"
    actor_type: Mapped[str] = mapped_column(sa.String(20))
    actor_id: Mapped[int | None]
    actor_label: Mapped[str | None] = mapped_column(sa.String(254))
    ip_address: Mapped[str | None] = mapped_column(sa.String(45))
    action: Mapped[str] = mapped_column(sa.String(60), index=True)
    target_type: Mapped[str | None] = mapped_column(sa.String(40))
    target_id: Mapped[str | None] = mapped_column(sa.String(64))
    outcome: Mapped[Outcome] = mapped_column(enum_column(Outcome, "audit_outcome"))
    detail: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)

    __table_args__ = (sa.Index("ix_audit_events_target", "target_type", "target_id"),)
