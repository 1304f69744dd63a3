"""The 電子請求受付システム as the portal sees it: a table imported from CSV."""

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from backoffice.accounts.models import OrganizationKind
from backoffice.db import enum_column, utcnow
from backoffice.extensions import db


class EClaimsOffice(db.Model):
    """One office's e-claims credentials; the password and security code only as argon2 hashes."""

    __tablename__ = "eclaims_offices"

    id: Mapped[int] = mapped_column(primary_key=True)
    eclaims_id: Mapped[str] = mapped_column(sa.String(14), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(200))
    security_email: Mapped[str | None] = mapped_column(sa.String(254))
    security_code_hash: Mapped[str | None] = mapped_column(sa.String(200))
    # HMAC of the ID, password and security code under ECLAIMS_FINGERPRINT_KEY (eclaims/fingerprints.py).
    secrets_fingerprint: Mapped[str | None] = mapped_column(sa.String(64))
    office_number: Mapped[str] = mapped_column(sa.String(10), index=True)
    office_name: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[OrganizationKind] = mapped_column(enum_column(OrganizationKind, "eclaims_kind"))
    failed_attempts: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
