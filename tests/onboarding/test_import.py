"""`flask eclaims import`: normalise and check every row, all or nothing, update instead of duplicate."""

import sqlalchemy as sa

from backoffice.accounts.models import OrganizationKind
from backoffice.eclaims.models import EClaimsOffice

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
    assert "added 4, updated 0, refused 0, check-digit warnings 1" in result.output
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
    assert "added 4, updated 0, refused 2" in result.output
    assert "line 6: eclaims_id" in result.output
    assert "line 7: eclaims_id KJ000000000001 appears twice" in result.output


def test_wrong_header_is_refused(runner, tmp_path, db) -> None:
    result = run(runner, tmp_path, "id,password\nKJ000000000001,x\n")
    assert result.exit_code != 0
    assert "the header must be" in result.output
