"""Back-office staff (運営主体の operators), separate from portal users, and their server-side sessions."""

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backoffice import sealing
from backoffice.db import enum_column, utcnow
from backoffice.extensions import db
from backoffice.sessions import SessionColumns


class Role(enum.Enum):
    ADMIN = "admin"  # everything, including operators, categories, terms and canned replies
    AGENT = "agent"  # triage, reply, issue accounts
    VIEWER = "viewer"  # read only

    @property
    def label(self) -> str:
        return {"admin": "管理者", "agent": "担当者", "viewer": "閲覧者"}[self.value]


class Operator(db.Model):
    __tablename__ = "operators"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored lower-cased: sign-in is case-insensitive.
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    role: Mapped[Role] = mapped_column(enum_column(Role, "operator_role"))
    password_hash: Mapped[str] = mapped_column(sa.String(200))
    # The authenticator's shared secret (base32). It has to be readable to check codes, so it is sealed
    # (backoffice/sealing.py), never stored in clear: read and set it through `totp_secret`.
    totp_secret_sealed: Mapped[str] = mapped_column(sa.String(255))
    # The last 30-second step whose code was accepted: a code is never accepted twice.
    totp_last_step: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    # Set when a code from the current secret was first accepted. Until then the operator may enrol
    # (see the QR code) with the password alone; afterwards only from inside the back office.
    totp_confirmed_at: Mapped[datetime | None]
    # A new secret being enrolled from inside the back office; it replaces the old one once confirmed.
    # Sealed like the current one: `totp_pending_secret`.
    totp_pending_secret_sealed: Mapped[str | None] = mapped_column(sa.String(255))
    failed_attempts: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]

    sessions: Mapped[list["OperatorSession"]] = relationship(back_populates="owner")

    @property
    def totp_secret(self) -> str:
        return sealing.unseal(sealing.TOTP_SEED, self.totp_secret_sealed)

    @totp_secret.setter
    def totp_secret(self, value: str) -> None:
        self.totp_secret_sealed = sealing.seal(sealing.TOTP_SEED, value)

    @property
    def totp_pending_secret(self) -> str | None:
        sealed = self.totp_pending_secret_sealed
        return sealing.unseal(sealing.TOTP_SEED, sealed) if sealed else None

    @totp_pending_secret.setter
    def totp_pending_secret(self, value: str | None) -> None:
        self.totp_pending_secret_sealed = sealing.seal(sealing.TOTP_SEED, value) if value else None

    def can(self, *roles: Role) -> bool:
        return self.is_active and self.role in roles

    def __str__(self) -> str:
        return self.name


class OperatorSession(SessionColumns, db.Model):
    """A signed-in browser of an operator (see backoffice.sessions)."""

    __tablename__ = "operator_sessions"

    operator_id: Mapped[int] = mapped_column(sa.ForeignKey("operators.id"), index=True)

    owner: Mapped[Operator] = relationship(back_populates="sessions")


class EnrolmentPurpose(enum.Enum):
    PASSWORD = "password"  # noqa: S105 (a purpose) — set a new password (an invite, or an admin's reset)
    AUTHENTICATOR = "authenticator"  # enrol a new authenticator after an admin's reset


class OperatorEnrolment(db.Model):
    """A link mailed to an operator by an admin's invite or reset: it works once, until it expires, and
    only the operator sees what it sets (the admin never sees a secret)."""

    __tablename__ = "operator_enrolments"

    id: Mapped[int] = mapped_column(primary_key=True)
    operator_id: Mapped[int] = mapped_column(sa.ForeignKey("operators.id"), index=True)
    purpose: Mapped[EnrolmentPurpose] = mapped_column(
        enum_column(EnrolmentPurpose, "operator_enrolment_purpose")
    )
    # SHA-256 of the token in the link; the token itself is only in the (sealed) mail.
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("operators.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]

    operator: Mapped[Operator] = relationship(foreign_keys=[operator_id])
