"""The one-click queues above お問い合わせ一覧: each lists its tickets and counts what it lists."""

import re
from datetime import date, timedelta

import sqlalchemy as sa
import time_machine

from backoffice.db import utcnow
from backoffice.inquiries import queues
from backoffice.inquiries.models import Inquiry
from backoffice.inquiries.vocabulary import (
    DONE_STATUSES,
    OPEN_SQL,
    OPEN_STATUSES,
    UNFINISHED_SQL,
    InquiryStatus,
    Priority,
)
from backoffice.operators.models import Role
from tests.builders.inquiries import account_request_input, general_input, seed_tree, send

S = InquiryStatus
QUEUE = re.compile(
    r'<a class="nav-link( active)?" href="([^"]+)"[^>]*>([^<]+)<span class="queue-count">（([^）]+)）'
)


def _numbers(page: str) -> list[str]:
    return re.findall(r">(\w{4}-\w{4})</a>", page)


def test_each_queue_lists_and_counts_its_tickets(signed_in, client, db) -> None:
    with time_machine.travel(date(2026, 12, 7), tick=False):  # a Monday
        seed_tree()
        agent = signed_in(Role.AGENT)
        me = agent.operator.id
        for i in range(7):
            send(
                client,
                general_input(email=f"r{i}@x.example.jp", email_confirm=f"r{i}@x.example.jp"),
            )
        send(client, account_request_input())
        tickets = db.session.scalars(sa.select(Inquiry).order_by(Inquiry.id)).all()
        mine, mine_done, unassigned, replied, soon, late, later, request = tickets
        mine.assignee_id = mine_done.assignee_id = me
        mine_done.status = S.RESOLVED
        mine.priority = Priority.URGENT
        replied.requester_replied_at = utcnow()
        today = date(2026, 12, 7)
        for t in tickets:
            t.due_on = today + timedelta(days=30)
        soon.due_on = today + timedelta(days=1)
        late.due_on = today - timedelta(days=1)
        db.session.commit()

        page = agent.get("/admin/tickets/")
        links = {label: (url, count) for _active, url, label, count in QUEUE.findall(page.text)}
        assert list(links) == [q.label for q in queues.QUEUES]
        expected = {
            "自分の担当": [mine],
            "未割り当て": [unassigned, replied, soon, late, later, request],
            "依頼者から返信あり": [replied],
            "期限が近い": [soon],
            "期限切れ": [late],
            "ID発行申請": [request],
        }
        for label, wanted in expected.items():
            url, count = links[label]
            listed = agent.get(url.replace("&amp;", "&"))
            assert sorted(_numbers(listed.text)) == sorted(t.reference_number for t in wanted), (
                label
            )
            assert count == f"{len(wanted)}件", label
            assert f'aria-current="page">{label}' in listed.text
        # The row says the priority and the last update.
        assert '<strong class="priority-urgent">緊急</strong>' in page.text
        assert "最終更新" in page.text


def test_a_queue_of_more_than_the_cap_says_so(signed_in, client, db, monkeypatch) -> None:
    seed_tree()
    monkeypatch.setattr(queues, "COUNT_CAP", 2)
    for i in range(3):
        send(client, general_input(email=f"r{i}@x.example.jp", email_confirm=f"r{i}@x.example.jp"))
    page = signed_in(Role.VIEWER).get("/admin/tickets/")
    links = {label: count for _a, _u, label, count in QUEUE.findall(page.text)}
    assert links["未割り当て"] == "2件以上"
    assert links["自分の担当"] == "0件"


def test_the_counts_follow_the_list_at_once(signed_in, client, db) -> None:
    seed_tree()
    viewer = signed_in(Role.VIEWER)
    assert '未割り当て<span class="queue-count">（0件）' in viewer.get("/admin/tickets/").text
    send(client, general_input())
    page = viewer.get("/admin/tickets/")
    assert '未割り当て<span class="queue-count">（1件）' in page.text
    assert len(_numbers(page.text)) == 1


def test_the_partial_indexes_name_the_statuses_the_queues_use() -> None:
    assert set(re.findall(r"'(\w+)'", OPEN_SQL)) == {s.value for s in OPEN_STATUSES}
    assert set(re.findall(r"'(\w+)'", UNFINISHED_SQL)) == {s.value for s in DONE_STATUSES}


def test_the_queue_counts_use_the_partial_indexes(signed_in, db) -> None:
    # The statuses reach the database as the index's own words, so the planner can match them
    # (SQLite compares the words; PostgreSQL cannot see bound values in a generic plan).
    seed_tree()
    operator = signed_in(Role.AGENT).operator
    sent: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, context, many) -> None:
        sent.append((statement, parameters))

    sa.event.listen(db.engine, "before_cursor_execute", capture)
    try:
        queues.queue_counts(operator.id)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", capture)
    mine = next(s for s in sent if "assignee_id =" in s[0])
    assert UNFINISHED_SQL.replace("status", "inquiries.status") in mine[0]
    postgres = db.engine.dialect.name == "postgresql"
    with db.engine.connect() as conn:
        if postgres:
            conn.exec_driver_sql("SET enable_seqscan = off")  # a test table is small enough to scan
        explain = "EXPLAIN " if postgres else "EXPLAIN QUERY PLAN "
        plan = " ".join(str(row) for row in conn.exec_driver_sql(explain + mine[0], mine[1]))
    assert "ix_inquiries_unfinished_assignee_id" in plan, plan
