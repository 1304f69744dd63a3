"""`flask eclaims import FILE.csv`: load the 電子請求受付システム directory.

Header: eclaims_id,password,security_email,security_code,office_number,office_name,kind (kind: care or
deemed). Every row is normalised and checked; a bad row is reported with its line number and nothing is
imported unless `skip_invalid`. An ID already in the table is updated, never duplicated. Passwords and
security codes are stored only as hashes.

The national directory has hundreds of thousands of offices and one argon2 hash takes about 0.1 s of a
core, so the hashes are computed by a pool of threads, one per core (argon2-cffi releases the GIL), and
a re-import hashes only the rows whose secrets changed, as their keyed fingerprints tell
(eclaims/fingerprints.py). The checked rows are written in batches of BATCH: a batch's hashes are
computed outside any transaction, then the batch is written in one short transaction, so nothing stays
locked or open for hours, and an import that stops part-way (a crash, Ctrl-C) has written whole batches
only; running it again completes it.
"""

import csv
import io
import os
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import current_app

from backoffice.accounts.models import OrganizationKind
from backoffice.codes import (
    CARE_OFFICE_NUMBER_RE,
    ECLAIMS_ID_RE,
    MEDICAL_CODE_RE,
    care_office_number_check_digit_ok,
    medical_code_check_digit_ok,
)
from backoffice.db import utcnow
from backoffice.eclaims import fingerprints
from backoffice.eclaims.models import EClaimsOffice
from backoffice.extensions import db
from backoffice.normalize import InvalidInput, check_email, nfkc, normalize_digits, normalize_email
from backoffice.onboarding import progress
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
    updated: int = 0  # known rows whose password or security code changed: hashed again
    unchanged: int = 0  # known rows whose secrets matched their fingerprint: not hashed again
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


# Rows written per transaction (and hashed before it): under a minute of hashing on two cores.
BATCH = 500


def import_csv(
    text: str,
    *,
    skip_invalid: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Import the CSV text (see the module). Writes only when every row passed or `skip_invalid`;
    `progress(done, total)` is called after each batch is committed. Raises HeaderError."""
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
    secret = fingerprints.key()
    with ThreadPoolExecutor(max_workers=workers()) as pool:
        for start in range(0, len(rows), BATCH):
            batch = rows[start : start + BATCH]
            added, updated, unchanged = _write(batch, pool, secret)
            report.added += added
            report.updated += updated
            report.unchanged += unchanged
            if start == 0 or start + BATCH >= len(rows):
                _analyze()
            if progress:
                progress(start + len(batch), len(rows))
    report.imported = True
    return report


def workers() -> int:
    """ECLAIMS_IMPORT_WORKERS, or the cores this process may run on."""
    return current_app.config.get("ECLAIMS_IMPORT_WORKERS") or len(os.sched_getaffinity(0))


def progress_line(done: int, total: int, seconds: float) -> str:
    """「imported 1,000 of 200,000 rows」 with the rate so far and the time left at that rate."""
    line = f"imported {done:,} of {total:,} rows"
    if done and seconds > 0:
        rate = done / seconds
        left = round((total - done) / rate)
        hours, rest = divmod(left, 3600)
        line += f" ({rate:,.1f} rows/s, {hours} h {rest // 60:02d} min left)"
    return line


def _analyze() -> None:
    """Let PostgreSQL know the table's size after the first batch and at the end. A table it has never
    analysed (a first import) makes it read the whole table for every batch's look-up instead of using
    the unique index: 0.6 s a batch at 60,000 rows, and growing. Autovacuum would catch up, but only
    about once a minute."""
    if db.engine.dialect.name == "postgresql":
        db.session.execute(sa.text("ANALYZE eclaims_offices"))
        db.session.commit()


def _write(batch: list[Row], pool: Executor, secret: bytes | None) -> tuple[int, int, int]:
    """Insert or update these rows in one transaction, hashing (in `pool`, before it) only the secrets
    of new rows and of rows whose fingerprint differs; (added, updated, unchanged). A row whose secrets
    did not change keeps its hashes and its lock (a re-import does not unlock an ID under attack)."""
    existing = {
        eclaims_id: (row_id, stored)
        for eclaims_id, row_id, stored in db.session.execute(
            sa.select(
                EClaimsOffice.eclaims_id, EClaimsOffice.id, EClaimsOffice.secrets_fingerprint
            ).where(EClaimsOffice.eclaims_id.in_([row.eclaims_id for row in batch]))
        )
    }
    db.session.commit()  # no transaction stays open while hashing
    prints = {
        row.eclaims_id: fingerprints.fingerprint(
            secret, row.eclaims_id, row.password, row.security_code
        )
        for row in batch
        if secret
    }
    kept = {
        row.eclaims_id
        for row in batch
        if secret
        and row.eclaims_id in existing
        and existing[row.eclaims_id][1] == prints[row.eclaims_id]
    }
    stale = [row for row in batch if row.eclaims_id not in kept]
    hashed = iter(
        pool.map(
            hash_password,
            [r.password for r in stale] + [r.security_code for r in stale if r.security_code],
        )
    )
    passwords = {row.eclaims_id: next(hashed) for row in stale}
    codes = {row.eclaims_id: next(hashed) for row in stale if row.security_code}
    new, changed, same = [], [], []
    for row in batch:
        values = {
            "eclaims_id": row.eclaims_id,
            "security_email": row.security_email,
            "office_number": row.office_number,
            "office_name": row.office_name,
            "kind": row.kind,
        }
        if row.eclaims_id in kept:
            same.append({"id": existing[row.eclaims_id][0], **values})
            continue
        values |= {
            "password_hash": passwords[row.eclaims_id],
            "security_code_hash": codes.get(row.eclaims_id),
            "secrets_fingerprint": prints.get(row.eclaims_id),
            "failed_attempts": 0,
            "locked_until": None,
        }
        if row.eclaims_id in existing:
            changed.append({"id": existing[row.eclaims_id][0], **values})
        else:
            new.append(values)
    if new:
        db.session.execute(sa.insert(EClaimsOffice), new)
    for known in (changed, same):
        if known:
            db.session.execute(sa.update(EClaimsOffice), known)
    progress.listed([(row.office_number, row.kind, row.office_name) for row in batch], utcnow())
    db.session.commit()
    return len(new), len(changed), len(same)
