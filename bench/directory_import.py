"""`flask eclaims import` at scale: 2,000 rows of the 電子請求受付システム directory imported into the
benchmark's database, the first time (every row hashed, on every core) and again unchanged (every row
recognised by its fingerprint, none hashed). The rows' IDs are the benchmark's own (KJ9…), removed before
the first import, so each run measures the same thing."""

import csv
import io
import time
from typing import Any

import sqlalchemy as sa

from bench.infra import in_process_app, log

PREFIX = "KJ9"
KEY = "bench-eclaims-fingerprint-key"


def directory(rows: int) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    from backoffice.eclaims.importer import HEADER

    writer.writerow(HEADER)
    for n in range(rows):
        # Half the offices have a security code, as in the directory (two hashes for those rows).
        writer.writerow(
            [
                f"{PREFIX}{n:011d}",
                f"bench-pass-{n:06d}",
                f"sec{n}@bench.example.jp" if n % 2 else "",
                f"{n % 10000:04d}" if n % 2 else "",
                f"99{n:07d}0",  # prefecture 99 does not exist: apart from the loaded offices
                f"ベンチ事業所{n}",
                "care",
            ]
        )
    return buffer.getvalue()


def measure(env: dict[str, str], rows: int = 2_000) -> dict[str, Any]:
    app = in_process_app({**env, "FLASK_ECLAIMS_FINGERPRINT_KEY": KEY})
    from backoffice.eclaims import importer
    from backoffice.eclaims.models import EClaimsOffice
    from backoffice.extensions import db

    text = directory(rows)
    result: dict[str, Any] = {"rows": rows}
    with app.app_context():
        result["workers"] = importer.workers()
        db.session.execute(
            sa.delete(EClaimsOffice).where(EClaimsOffice.eclaims_id.like(f"{PREFIX}%"))
        )
        db.session.commit()
        for run in ("first", "again"):
            log(f"import: {rows:,} rows, {run}")
            started = time.perf_counter()
            report = importer.import_csv(text, skip_invalid=True)
            seconds = time.perf_counter() - started
            if report.added + report.updated + report.unchanged != rows:
                raise SystemExit(f"import: {report.refused[:3]}")
            result[f"{run}_rows_per_s"] = round(rows / seconds, 1)
            result[f"{run}_seconds"] = round(seconds, 1)
        result["again_unchanged"] = report.unchanged
        db.session.remove()
    return result
