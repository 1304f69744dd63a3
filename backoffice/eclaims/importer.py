"""`flask eclaims import FILE.csv`: load the 電子請求受付システム directory.

Header: eclaims_id,password,security_email,security_code,office_number,office_name,kind (kind: care or
deemed). Every row is normalised and checked; a bad row is reported with its line number and nothing is
imported unless `skip_invalid`. An ID already in the table is updated, never duplicated. Passwords and
security codes are stored only as hashes.
"""

import csv
import io
from dataclasses import dataclass, field

import sqlalchemy as sa

from backoffice.accounts.models import OrganizationKind
from backoffice.codes import (
    CARE_OFFICE_NUMBER_RE,
    ECLAIMS_ID_RE,
    MEDICAL_CODE_RE,
    care_office_number_check_digit_ok,
    medical_code_check_digit_ok,
)
from backoffice.eclaims.models import EClaimsOffice
from backoffice.extensions import db
from backoffice.normalize import InvalidInput, check_email, nfkc, normalize_digits, normalize_email
from backoffice.passwords import hash_password

HEADER = [
    "eclaims_id",
    "password",
    "security_email",
    "security_code",
    "office_number",
    "office_name",
    "kind",
]
KINDS = {"care": OrganizationKind.CARE, "deemed": OrganizationKind.DEEMED}


def normalize_eclaims_id(value: str | None) -> str:
    """全角・小文字・空白を許す: NFKC, upper case, no spaces or dashes."""
    return normalize_digits(value).upper()


@dataclass
class Row:
    line: int
    eclaims_id: str
    password: str
    security_email: str | None
    security_code: str | None
    office_number: str
    office_name: str
    kind: OrganizationKind
    check_digit_ok: bool


@dataclass
class ImportReport:
    added: int = 0
    updated: int = 0
    refused: list[str] = field(default_factory=list)
    check_digit_warnings: list[str] = field(default_factory=list)
    imported: bool = False


class HeaderError(ValueError):
    pass


def _parse(line: int, raw: dict[str, str], seen: set[str]) -> Row:
    """One row, normalised. Raises ValueError with the reason."""
    eclaims_id = normalize_eclaims_id(raw.get("eclaims_id"))
    if not ECLAIMS_ID_RE.match(eclaims_id):
        raise ValueError(f"eclaims_id {eclaims_id!r} is not KJ + 12 letters or digits")
    if eclaims_id in seen:
        raise ValueError(f"eclaims_id {eclaims_id} appears twice in the file")
    password = (raw.get("password") or "").strip()
    if not password:
        raise ValueError("password is empty")
    kind = KINDS.get((raw.get("kind") or "").strip().lower())
    if kind is None:
        raise ValueError(f"kind {raw.get('kind')!r} is neither care nor deemed")
    number = normalize_digits(raw.get("office_number")).upper()
    if kind is OrganizationKind.DEEMED:
        if not MEDICAL_CODE_RE.match(number):
            raise ValueError(
                f"office_number {number!r} of a deemed office is not a 10-digit 医療機関コード"
            )
        check_ok = medical_code_check_digit_ok(number)
    else:
        if not CARE_OFFICE_NUMBER_RE.match(number):
            raise ValueError(f"office_number {number!r} is not a 10-character 介護保険事業所番号")
        check_ok = care_office_number_check_digit_ok(number)
    name = nfkc(raw.get("office_name"))
    if not name:
        raise ValueError("office_name is empty")
    email = normalize_email(raw.get("security_email")) or None
    if email:
        try:
            check_email(email)
        except InvalidInput as error:
            raise ValueError(f"security_email {email!r} is not a deliverable address") from error
    code = nfkc(raw.get("security_code")) or None
    return Row(line, eclaims_id, password, email, code, number, name, kind, check_ok)


def import_csv(text: str, *, skip_invalid: bool = False) -> ImportReport:
    """Import the CSV text (see the module). Commits only when it imports. Raises HeaderError."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    if [h.strip() for h in (reader.fieldnames or [])] != HEADER:
        raise HeaderError(f"the header must be: {','.join(HEADER)}")
    report = ImportReport()
    rows: list[Row] = []
    seen: set[str] = set()
    for raw in reader:
        line = reader.line_num
        try:
            row = _parse(line, raw, seen)
        except ValueError as error:
            report.refused.append(f"line {line}: {error}")
            continue
        seen.add(row.eclaims_id)
        rows.append(row)
        if not row.check_digit_ok:
            report.check_digit_warnings.append(
                f"line {line}: check digit of {row.office_number} fails"
            )
    if report.refused and not skip_invalid:
        return report
    existing = {
        o.eclaims_id: o
        for o in db.session.scalars(
            sa.select(EClaimsOffice).where(
                EClaimsOffice.eclaims_id.in_([r.eclaims_id for r in rows])
            )
        )
    }
    for row in rows:
        office = existing.get(row.eclaims_id)
        if office is None:
            office = EClaimsOffice(eclaims_id=row.eclaims_id)
            db.session.add(office)
            report.added += 1
        else:
            report.updated += 1
        office.password_hash = hash_password(row.password)
        office.security_email = row.security_email
        office.security_code_hash = hash_password(row.security_code) if row.security_code else None
        office.office_number = row.office_number
        office.office_name = row.office_name
        office.kind = row.kind
        office.failed_attempts = 0
        office.locked_until = None
    db.session.commit()
    report.imported = True
    return report
