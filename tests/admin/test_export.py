"""CSV export of the ticket list: Excel-friendly, safe against formulas, streamed in flat memory."""

import csv
import gc
import io

import sqlalchemy as sa

from backoffice.audit.models import AuditEvent
from backoffice.db import utcnow
from backoffice.inquiries.export import safe_cell
from backoffice.inquiries.models import Inquiry
from backoffice.inquiries.vocabulary import InquiryStatus
from backoffice.operators.models import Role
from tests.builders.inquiries import account_request_input, category, general_input, seed_tree, send
from tests.builders.operators import make_operator


def test_csv_has_a_bom_japanese_text_and_neutralised_formulas(signed_in, client, db) -> None:
    seed_tree()
    send(client, general_input(name='=HYPERLINK("http://evil.example")', body="+1+1"))
    send(client, account_request_input(medical_code="0110113710"))
    response = signed_in(Role.AGENT).get("/admin/tickets/export.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    raw = response.data
    assert raw.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0][:4] == ["受付番号", "受付日時", "大カテゴリー", "中カテゴリー"]
    by_number = {r[0]: r for r in rows[1:]}
    general, request = db.session.scalars(sa.select(Inquiry).order_by(Inquiry.id)).all()
    g = by_number[general.reference_number]
    assert g[8] == '\'=HYPERLINK("http://evil.example")'
    assert g[16] == "'+1+1"
    assert g[2] == "介護情報基盤ポータルについて"
    r = by_number[request.reference_number]
    assert r[13:16] == ["0110113710", "要確認", "さくら在宅クリニック"]


def test_csv_follows_the_current_filters_and_search(signed_in, client, db) -> None:
    seed_tree()
    send(client, account_request_input())
    send(client, general_input())
    request, general = db.session.scalars(sa.select(Inquiry).order_by(Inquiry.id)).all()
    agent = signed_in(Role.AGENT)
    listing = agent.get("/admin/tickets/", query_string={"search": "さくら"}).text
    assert "CSVで出力" in listing
    text = agent.get("/admin/tickets/export.csv", query_string={"search": "さくら"}).data.decode()
    assert request.reference_number in text
    assert general.reference_number not in text


def test_list_and_csv_read_no_operator_secret(signed_in, client, db) -> None:
    seed_tree()
    send(client, general_input())
    assignee = make_operator(name="佐藤 担当")
    db.session.scalars(sa.select(Inquiry)).one().assignee_id = assignee.id
    db.session.commit()
    agent = signed_in(Role.AGENT)
    statements: list[str] = []

    def capture(conn, cursor, statement, parameters, context, many) -> None:
        if "FROM inquiries" in statement:
            statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", capture)
    try:
        pages = [
            agent.get("/admin/tickets/").text,
            agent.get("/admin/tickets/", query_string={"flt0_0": "new"}).text,
            agent.get("/admin/tickets/export.csv").data.decode(),
        ]
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", capture)
    assert all("佐藤 担当" in page for page in pages)
    assert statements
    for statement in statements:
        assert "password_hash" not in statement, statement
        assert "totp_" not in statement, statement


def test_safe_cell() -> None:
    assert [safe_cell(v) for v in ["=1", "+1", "-1", "@A", "\t=1", "a=1", None, 12]] == [
        "'=1",
        "'+1",
        "'-1",
        "'@A",
        "'\t=1",
        "a=1",
        "",
        "12",
    ]


def _bulk_tickets(db, count: int) -> None:
    seed_tree()
    cat = category("介護情報基盤ポータルについて", "ログイン・パスワード")
    now = utcnow()
    for start in range(0, count, 10_000):  # in slices, so that loading leaves little memory behind
        db.session.execute(
            sa.insert(Inquiry), _rows(cat.id, now, range(start, min(start + 10_000, count)))
        )
    db.session.commit()


def _rows(category_id: int, now, numbers: range) -> list[dict]:
    return [
        {
            "reference_number": f"T{i:08d}",
            "submission_key": f"bulk-{i}",
            "status_token_hash": f"{i:064d}",
            "category_id": category_id,
            "status": InquiryStatus.NEW,
            "requester_name": "山田 太郎",
            "requester_kana": "ヤマダ タロウ",
            "organization_name": "ひまわりデイサービス",
            "email": f"user{i}@example.jp",
            "phone": "0312345678",
            "body": "ログインできません。" * 5,
            "created_at": now,
            "updated_at": now,
        }
        for i in numbers
    ]


def _rss_mb() -> float:
    """This process's resident memory now (Linux)."""
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


def test_export_of_100000_tickets_streams_in_flat_memory(signed_in, db) -> None:
    _bulk_tickets(db, 100_000)
    db.session.expunge_all()
    agent = signed_in(Role.AGENT)
    gc.collect()
    before = _rss_mb()
    response = agent.get("/admin/tickets/export.csv", buffered=False)
    lines = 0
    peak = before
    try:
        for chunk in response.response:
            lines += chunk.count(b"\r\n")
            peak = max(peak, _rss_mb())
    finally:
        response.close()
    assert lines == 100_001
    # Holding every row at once would add well over 100 MB of ORM objects and text; streaming holds
    # one batch.
    assert peak - before < 40, f"resident memory grew by {peak - before:.0f} MB during the export"


def test_viewers_read_the_list_but_cannot_export_it(signed_in, client, db) -> None:
    seed_tree()
    send(client, general_input())
    viewer = signed_in(Role.VIEWER)
    listing = viewer.get("/admin/tickets/")
    assert listing.status_code == 200
    assert "CSVで出力" not in listing.text
    assert viewer.get("/admin/tickets/export.csv").status_code == 403
    exports = db.session.scalar(
        sa.select(sa.func.count()).select_from(AuditEvent).where(AuditEvent.action.like("%export%"))
    )
    assert exports == 0
    assert "CSVで出力" in signed_in(Role.AGENT).get("/admin/tickets/").text
