"""One-time passwords sent by email, as challenges bound to the flow and browser that asked for them."""

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from backoffice.db import enum_column, utcnow
from backoffice.extensions import db


class Purpose(enum.Enum):
    LOGIN = "login"
    REGISTRATION = "registration"
    PASSWORD_RESET = "password_reset"  # noqa: S105 (a purpose, not a password)
    EMAIL_CHANGE = "email_change"
    HANDOVER = "handover"  # the registrant passes the role on (accounts/handover.py)


class OtpChallenge(db.Model):
    __tablename__ = "otp_challenges"
    # The gate of every mail (cooldown and hourly cap) reads one address's recent challenges.
    __table_args__ = (sa.Index("ix_otp_challenges_mailbox", "sent_to", "purpose", "last_sent_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    purpose: Mapped[Purpose] = mapped_column(enum_column(Purpose, "otp_purpose"))
    # Whose: a portal user (login, reset, email change) or none yet (registration).
    portal_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("portal_users.id"), index=True)
    sent_to: Mapped[str] = mapped_column(sa.String(254))
    # HMAC of the code under the app's secret key; the code itself is never stored.
    code_hash: Mapped[str] = mapped_column(sa.String(64))
    # Hash of a random value kept in the browser's session: the code works only there.
    binding_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    expires_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=0)
    consumed_at: Mapped[datetime | None]
    last_sent_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Mails of this challenge's code; 0 when the gate held it (within the cooldown or over the cap).
    sends: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
