"""初回利用登録 as a server-side state machine: one row per attempt, advanced only by its own steps."""

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from backoffice.db import enum_column, utcnow
from backoffice.extensions import db


class Step(enum.Enum):
    OTP = "otp"  # e-claims credentials accepted; one-time password sent to the security email
    DETAILS = "details"  # one-time password (and security code) accepted; user details next
    DONE = "done"


class RegistrationFlow(db.Model):
    __tablename__ = "registration_flows"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Only the hash of the browser's key is stored (see backoffice.sessions.hash_key).
    key_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    eclaims_office_id: Mapped[int] = mapped_column(sa.ForeignKey("eclaims_offices.id"), index=True)
    step: Mapped[Step] = mapped_column(enum_column(Step, "registration_step"))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None]
    registered_email: Mapped[str | None] = mapped_column(sa.String(254))
