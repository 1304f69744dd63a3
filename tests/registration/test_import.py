"""`flask eclaims import`: normalise and check every row, write nothing while a row is bad, update instead
of duplicate, write a large file in batches, hash on every core, and hash again on a re-import only the
rows whose secrets changed."""

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher

from backoffice.accounts.models import OrganizationKind
from backoffice.db import utcnow
from backoffice.eclaims import importer
from backoffice.eclaims.models import EClaimsOffice
from backoffice.passwords import verify_password

HEADER = "eclaims_id,password,security_email,security_code,office_number,office_name,kind\n"
GOOD = (
    HEADER
    + "ＫＪ０００００００００００１,pass-1,sec1@demo.example.jp,,1310100019,あおぞら訪問介護,care\n"
    + "kj000000000003,pass-3,sec3@demo.example.jp,7391,2710100039,みどりケア,care\n"
    + "KJ 0000 0000 0004,pass-4,sec4@demo.example.jp,,0110112489,かえで内科,deemed\n"
    + "KJ000000000005,pass-5,,,04A0700018,チェック違い,care\n"
)


def run(runner, tmp_path, text: str, *args: str):
    path = tmp_path / "offices.csv"
    path.write_text(text, encoding="utf-8")
    return runner.invoke(args=["eclaims", "import", str(path), *args])


def test_good_file_is_imported_normalised_and_hashed(runner, tmp_path, db) -> None:
    result = run(runner, tmp_path, GOOD)
    assert result.exit_code == 0, result.output
    assert "added 4, updated 0, unchanged 0, refused 0, check-digit warnings 1" in result.output
    assert "04A0700018" in result.output  # the warning names the row
    offices = {o.eclaims_id: o for o in db.session.scalars(sa.select(EClaimsOffice))}
    assert set(offices) == {"KJ000000000001", "KJ000000000003", "KJ000000000004", "KJ000000000005"}
    three = offices["KJ000000000003"]
    assert three.password_hash.startswith("$argon2id$")
    assert "7391" not in three.security_code_hash
    assert offices["KJ000000000004"].kind is OrganizationKind.DEEMED
    assert offices["KJ000000000005"].security_email is None


def test_reimport_updates_instead_of_duplicating(runner, tmp_path, db) -> None:
    run(runner, tmp_path, GOOD)
    changed = GOOD.replace("sec1@demo.example.jp", "new1@demo.example.jp")
    result = run(runner, tmp_path, changed)
    assert "added 0, updated 4" in result.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(EClaimsOffice)) == 4
    office = db.session.scalars(
        sa.select(EClaimsOffice).where(EClaimsOffice.eclaims_id == "KJ000000000001")
    ).one()
    assert office.security_email == "new1@demo.example.jp"


BAD_ROWS = [
    ("KJ12345,pass,,,1310100019,名,care", "line 2: eclaims_id"),
    ("KJ000000000009,,,,1310100019,名,care", "line 2: password is empty"),
    ("KJ000000000009,pass,,,1310100019,名,hospital", "line 2: kind"),
    ("KJ000000000009,pass,,,13101000I9,名,care", "line 2: office_number"),
    ("KJ000000000009,pass,,,131010001,名,deemed", "line 2: office_number"),
    ("KJ000000000009,pass,bad..dots@docomo.ne.jp,,1310100019,名,care", "line 2: security_email"),
    ("KJ000000000009,pass,,,1310100019,,care", "line 2: office_name is empty"),
]


def test_each_kind_of_bad_row_is_reported_and_nothing_is_imported(runner, tmp_path, db) -> None:
    for row, message in BAD_ROWS:
        result = run(
            runner, tmp_path, HEADER + row + "\n" + "KJ000000000001,p,,,1310100019,あおぞら,care\n"
        )
        assert result.exit_code != 0, row
        assert message in result.output, (row, result.output)
        assert "nothing imported" in result.output
        assert db.session.scalar(sa.select(sa.func.count()).select_from(EClaimsOffice)) == 0


def test_skip_invalid_imports_the_good_rows(runner, tmp_path, db) -> None:
    text = (
        GOOD + "KJ12345,pass,,,1310100019,名,care\n" + "KJ000000000001,dup,,,1310100019,重複,care\n"
    )
    result = run(runner, tmp_path, text, "--skip-invalid")
    assert result.exit_code == 0
    assert "added 4, updated 0, unchanged 0, refused 2" in result.output
    assert "line 6: eclaims_id" in result.output
    assert "line 7: eclaims_id KJ000000000001 appears twice" in result.output


def test_wrong_header_is_refused(runner, tmp_path, db) -> None:
    result = run(runner, tmp_path, "id,password\nKJ000000000001,x\n")
    assert result.exit_code != 0
    assert "the header must be" in result.output


def test_batches_mix_new_and_known_rows_and_report_progress(
    runner, tmp_path, db, monkeypatch
) -> None:
    monkeypatch.setattr(importer, "BATCH", 3)
    run(runner, tmp_path, GOOD)
    more = GOOD + "KJ000000000006,pass-6,,,1310100019,さくら介護,care\n"
    calls: list[tuple[int, int]] = []
    report = importer.import_csv(more, progress=lambda done, total: calls.append((done, total)))
    assert (report.added, report.updated) == (1, 4)
    assert calls == [(3, 5), (5, 5)]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(EClaimsOffice)) == 5
    result = run(runner, tmp_path, more)
    assert "imported 3 of 5 rows" in result.output
    assert "added 0, updated 5" in result.output


def test_an_import_stopped_part_way_keeps_whole_batches_and_a_rerun_completes_it(
    db, monkeypatch
) -> None:
    monkeypatch.setattr(importer, "BATCH", 2)
    real_hash = importer.hash_password

    def stop_at_the_fourth_row(password: str) -> str:
        if password == "pass-4":
            raise KeyboardInterrupt
        return real_hash(password)

    monkeypatch.setattr(importer, "hash_password", stop_at_the_fourth_row)
    try:
        importer.import_csv(GOOD)
    except KeyboardInterrupt:
        db.session.rollback()
    imported = db.session.scalars(sa.select(EClaimsOffice.eclaims_id)).all()
    assert sorted(imported) == ["KJ000000000001", "KJ000000000003"]  # the first batch, whole

    monkeypatch.setattr(importer, "hash_password", real_hash)
    report = importer.import_csv(GOOD)
    assert (report.added, report.updated) == (2, 2)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(EClaimsOffice)) == 4


def test_a_national_directory_is_more_rows_than_one_statement_may_name(db, monkeypatch) -> None:
    """More IDs than one statement may carry as parameters (PostgreSQL: 65,535; SQLite: 32,766 by
    default, more in some builds). The hashes are argon2 still, with the cheapest parameters, so that
    66,000 of them take seconds."""
    monkeypatch.setattr(
        importer, "hash_password", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash
    )
    count = 66_000
    text = HEADER + "".join(
        f"KJ{n:012d},pass-{n},,,1310100019,事業所{n},care\n" for n in range(count)
    )
    report = importer.import_csv(text)
    assert (report.added, report.updated, report.imported) == (count, 0, True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(EClaimsOffice)) == count
    last = db.session.scalars(
        sa.select(EClaimsOffice).where(EClaimsOffice.eclaims_id == f"KJ{count - 1:012d}")
    ).one()
    assert last.password_hash.startswith("$argon2id$")
    assert last.office_name == f"事業所{count - 1}"
    if db.engine.dialect.name == "postgresql":  # analysed, so look-ups use the unique index
        reltuples = db.session.scalar(
            sa.text("SELECT reltuples FROM pg_class WHERE relname = 'eclaims_offices'")
        )
        assert reltuples > count / 2


def office(db, eclaims_id: str) -> EClaimsOffice:
    db.session.expire_all()
    return db.session.scalars(
        sa.select(EClaimsOffice).where(EClaimsOffice.eclaims_id == eclaims_id)
    ).one()


@pytest.fixture
def counted_hashes(monkeypatch) -> list[str]:
    """The secrets hashed, in any thread."""
    hashed: list[str] = []
    real = importer.hash_password

    def counting(secret: str) -> str:
        hashed.append(secret)
        return real(secret)

    monkeypatch.setattr(importer, "hash_password", counting)
    return hashed


def test_a_reimport_hashes_only_the_rows_whose_secrets_changed(app, db, counted_hashes) -> None:
    app.config["ECLAIMS_FINGERPRINT_KEY"] = "fingerprint-key-1"
    importer.import_csv(GOOD)
    assert len(counted_hashes) == 5  # four passwords, one security code
    first = office(db, "KJ000000000003")
    assert first.secrets_fingerprint
    assert len(first.secrets_fingerprint) == 64
    assert "pass-3" not in first.secrets_fingerprint
    assert "7391" not in first.secrets_fingerprint
    locked = office(db, "KJ000000000004")
    locked.failed_attempts, locked.locked_until = 3, utcnow() + timedelta(minutes=30)
    db.session.commit()

    counted_hashes.clear()
    changed = GOOD.replace("pass-3,sec3@demo.example.jp,7391", "pass-3b,sec3@demo.example.jp,7392")
    changed = changed.replace("sec1@demo.example.jp", "new1@demo.example.jp")
    report = importer.import_csv(changed)
    assert (report.added, report.updated, report.unchanged) == (0, 1, 3)
    assert sorted(counted_hashes) == ["7392", "pass-3b"]  # only the changed row's secrets
    three = office(db, "KJ000000000003")
    assert verify_password(three.password_hash, "pass-3b")
    assert verify_password(three.security_code_hash, "7392")
    assert three.secrets_fingerprint not in (None, first)
    assert office(db, "KJ000000000001").security_email == "new1@demo.example.jp"  # not a secret
    assert office(db, "KJ000000000004").failed_attempts == 3  # unchanged: the lock stays


def test_a_new_fingerprint_key_hashes_every_row_once_more(app, db, counted_hashes) -> None:
    app.config["ECLAIMS_FINGERPRINT_KEY"] = "fingerprint-key-1"
    importer.import_csv(GOOD)
    app.config["ECLAIMS_FINGERPRINT_KEY"] = "fingerprint-key-2"
    rotated = importer.import_csv(GOOD)
    assert (rotated.updated, rotated.unchanged) == (4, 0)
    again = importer.import_csv(GOOD)
    assert (again.updated, again.unchanged) == (0, 4)


def test_without_a_fingerprint_key_every_row_is_hashed_and_none_is_kept(
    app, db, runner, tmp_path, counted_hashes
) -> None:
    assert app.config["ECLAIMS_FINGERPRINT_KEY"] is None
    importer.import_csv(GOOD)
    result = run(runner, tmp_path, GOOD)
    assert "FLASK_ECLAIMS_FINGERPRINT_KEY is not set" in result.output
    assert "added 0, updated 4, unchanged 0" in result.output
    assert len(counted_hashes) == 10
    assert db.session.scalars(sa.select(EClaimsOffice.secrets_fingerprint)).all() == [None] * 4


def test_the_hashes_are_computed_on_several_cores_at_once(app, db, monkeypatch) -> None:
    """Each hash waits at a barrier for a second one: hashing one at a time would never pass it."""
    app.config["ECLAIMS_IMPORT_WORKERS"] = 2
    barrier = threading.Barrier(2, timeout=10)
    real = importer.hash_password

    def together(secret: str) -> str:
        barrier.wait()
        return real(secret)

    monkeypatch.setattr(importer, "hash_password", together)
    text = HEADER + "".join(f"KJ{n:012d},pass-{n},,,1310100019,事業所{n},care\n" for n in range(4))
    assert importer.import_csv(text).added == 4
    app.config["ECLAIMS_IMPORT_WORKERS"] = None
    assert importer.workers() >= 1


def test_progress_gives_the_rate_and_the_time_left() -> None:
    assert importer.progress_line(1_000, 200_000, 20.0) == (
        "imported 1,000 of 200,000 rows (50.0 rows/s, 1 h 06 min left)"
    )
    assert importer.progress_line(0, 10, 0.0) == "imported 0 of 10 rows"
