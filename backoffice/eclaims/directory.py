"""The 電子請求受付システム directory: an interface and its table implementation.

`authenticate(eclaims_id, password)` answers with the office's identity or None, the same way (and in the
same time) for an unknown ID, a wrong password and a locked ID. A later adapter to the real 電子請求受付
システム plugs in behind the same interface.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import sqlalchemy as sa
from flask import current_app

from backoffice.accounts.models import OrganizationKind
from backoffice.db import utcnow
from backoffice.eclaims.models import EClaimsOffice
from backoffice.extensions import db
from backoffice.passwords import verify_password


@dataclass(frozen=True)
class OfficeIdentity:
    office_id: int
    eclaims_id: str
    office_number: str
    office_name: str
    kind: OrganizationKind
    security_email: str | None
    has_security_code: bool


@dataclass(frozen=True)
class DirectoryEntry:
    """What an operator may know of an office's entry: never its password or security code, and its
    security email only for the panel to mask."""

    eclaims_id: str
    office_number: str
    office_name: str
    kind: OrganizationKind
    security_email: str | None
    has_security_code: bool
    locked_until: datetime | None


class Directory(Protocol):
    def authenticate(self, eclaims_id: str, password: str) -> OfficeIdentity | None: ...

    def check_security_code(self, office_id: int, code: str) -> bool: ...

    # Optional: `look_up(key) -> DirectoryEntry | None` by KJ ID or 事業所番号, for the ticket page's
    # facts panel (backoffice.inquiries.facts). An adapter without it makes the panel say
    # 照会できません.


class TableDirectory:
    """The imported table. Locks an ID for ECLAIMS_LOCK_MINUTES after ECLAIMS_LOCK_THRESHOLD wrong
    passwords, as the e-claims system does ([U] in docs/domain.md, so both are settings)."""

    def authenticate(self, eclaims_id: str, password: str) -> OfficeIdentity | None:
        office = db.session.scalar(
            sa.select(EClaimsOffice).where(EClaimsOffice.eclaims_id == eclaims_id)
        )
        ok = verify_password(office.password_hash if office else None, password)
        if office is None:
            return None
        # Counted and read back in single statements after the ~100 ms hash, never from the row read
        # before it: guesses sent at once are each counted, and a lock another one set meanwhile holds.
        if not ok:
            self._count_failure(office.id)
            return None
        if self._locked(office.id):
            return None
        if office.failed_attempts:
            db.session.execute(
                sa.update(EClaimsOffice)
                .where(EClaimsOffice.id == office.id)
                .values(failed_attempts=0)
                .execution_options(synchronize_session=False)
            )
            db.session.commit()
        return OfficeIdentity(
            office_id=office.id,
            eclaims_id=office.eclaims_id,
            office_number=office.office_number,
            office_name=office.office_name,
            kind=office.kind,
            security_email=office.security_email,
            has_security_code=office.security_code_hash is not None,
        )

    @staticmethod
    def _locked(office_id: int) -> bool:
        locked_until = db.session.scalar(
            sa.select(EClaimsOffice.locked_until).where(EClaimsOffice.id == office_id)
        )
        return locked_until is not None and locked_until > utcnow()

    @staticmethod
    def _count_failure(office_id: int) -> None:
        """One wrong password: counted by one UPDATE (not while the ID is locked, so guessing on does
        not lengthen a lock); the threshold-th locks the ID. Commits."""
        now = utcnow()
        failures = db.session.execute(
            sa.update(EClaimsOffice)
            .where(
                EClaimsOffice.id == office_id,
                sa.or_(EClaimsOffice.locked_until.is_(None), EClaimsOffice.locked_until <= now),
            )
            .values(failed_attempts=EClaimsOffice.failed_attempts + 1)
            .returning(EClaimsOffice.failed_attempts)
            .execution_options(synchronize_session=False)
        ).scalar_one_or_none()
        if failures is not None and failures >= current_app.config["ECLAIMS_LOCK_THRESHOLD"]:
            minutes = current_app.config["ECLAIMS_LOCK_MINUTES"]
            db.session.execute(
                sa.update(EClaimsOffice)
                .where(EClaimsOffice.id == office_id)
                .values(locked_until=now + timedelta(minutes=minutes), failed_attempts=0)
                .execution_options(synchronize_session=False)
            )
        db.session.commit()

    def check_security_code(self, office_id: int, code: str) -> bool:
        office = db.session.get(EClaimsOffice, office_id)
        return (
            office is not None
            and office.security_code_hash is not None
            and verify_password(office.security_code_hash, code)
        )

    def identity(self, office_id: int) -> OfficeIdentity | None:
        office = db.session.get(EClaimsOffice, office_id)
        if office is None:
            return None
        return OfficeIdentity(
            office.id,
            office.eclaims_id,
            office.office_number,
            office.office_name,
            office.kind,
            office.security_email,
            office.security_code_hash is not None,
        )

    def look_up(self, key: str) -> DirectoryEntry | None:
        """The entry of a KJ ID or 事業所番号 (the first by ID when a number has several)."""
        column = EClaimsOffice.eclaims_id if key.startswith("KJ") else EClaimsOffice.office_number
        office = db.session.scalar(
            sa.select(EClaimsOffice).where(column == key).order_by(EClaimsOffice.id).limit(1)
        )
        if office is None:
            return None
        now = utcnow()
        return DirectoryEntry(
            office.eclaims_id,
            office.office_number,
            office.office_name,
            office.kind,
            office.security_email,
            office.security_code_hash is not None,
            office.locked_until if office.locked_until and office.locked_until > now else None,
        )


directory = TableDirectory()
