"""The 電子請求受付システム directory: an interface and its table implementation.

`authenticate(eclaims_id, password)` answers with the office's identity or None, the same way (and in the
same time) for an unknown ID, a wrong password and a locked ID. A later adapter to the real 電子請求受付
システム plugs in behind the same interface.
"""

from dataclasses import dataclass
from datetime import timedelta
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


class Directory(Protocol):
    def authenticate(self, eclaims_id: str, password: str) -> OfficeIdentity | None: ...

    def check_security_code(self, office_id: int, code: str) -> bool: ...


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
        now = utcnow()
        if office.locked_until and office.locked_until > now:
            return None
        if not ok:
            office.failed_attempts += 1
            if office.failed_attempts >= current_app.config["ECLAIMS_LOCK_THRESHOLD"]:
                office.locked_until = now + timedelta(
                    minutes=current_app.config["ECLAIMS_LOCK_MINUTES"]
                )
                office.failed_attempts = 0
            db.session.commit()
            return None
        if office.failed_attempts:
            office.failed_attempts = 0
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


directory = TableDirectory()
