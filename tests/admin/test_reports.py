"""レポート with a frozen clock, on both databases: every figure matches a small data set computed by
hand across the year-end; 閲覧者 read without CSV; a visitor who is not an operator gets nothing."""

import csv
import io
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
import time_machine

from backoffice.display import JST
from backoffice.extensions import db
from backoffice.inquiries import desk as desk_ops
from backoffice.inquiries import merging, replies, triage
from backoffice.inquiries.models import Inquiry
from backoffice.inquiries.vocabulary import InquiryStatus, Intake
from backoffice.operators.models import Role
from backoffice.operators.operations import OperatorActor
from backoffice.reports.models import ReportDay
from backoffice.reports.summary import rebuild
from tests.builders.inquiries import account_request_input, category, make_inquiry, seed_tree, send
from tests.builders.operators import make_operator
from tests.conversation.helpers import link_in, mails_to, requester_message

S = InquiryStatus
LOGIN = ("介護情報基盤ポータルについて", "ログイン・パスワード")
MYPAGE = ("介護情報基盤ポータルについて", "マイページの操作")
PERIOD = {"start": "2026-12-21", "end": "2027-01-08", "grain": "day"}
NOW = datetime(2027, 1, 8, 12, tzinfo=JST)


def at(*args: int):
    return time_machine.travel(datetime(*args, tzinfo=JST), tick=False)


def _reply(inquiry: Inquiry, actor: OperatorActor, status: InquiryStatus) -> None:
    replies.reply(
        inquiry.id, "ご案内します。", actor, expected_version=inquiry.version, next_status=status
    )


def _mine(inquiry: Inquiry, actor: OperatorActor) -> None:
    triage.assign_to_actor(inquiry, actor)
    db.session.commit()


def _new(client, n: int, minor: tuple[str, str] = LOGIN) -> Inquiry:
    address = f"r{n}@office.example.jp"
    chosen = category(*minor)
    return make_inquiry(
        client,
        email=address,
        email_confirm=address,
        major_category=str(chosen.parent_id),
        category=str(chosen.id),
    )


@pytest.fixture
def desk(client, db):
    """Four tickets and a spam between Monday 12/21 and Thursday 1/7 (12/29–1/3 closed):
    T1 answered and resolved the same day; T2 asked back over the year-end, resolved after the
    answer; T3 an ID request still unanswered; T4 a phone ticket answered late; one spam."""
    with at(2026, 12, 21, 9):
        seed_tree()
        a = OperatorActor.of(make_operator(Role.AGENT, email="a@ops.example.jp", name="青木"))
        b = OperatorActor.of(make_operator(Role.AGENT, email="b@ops.example.jp", name="坂本"))
    with at(2026, 12, 21, 10):
        t1 = _new(client, 1)
        _mine(t1, a)
    with at(2026, 12, 21, 14):
        _reply(t1, a, S.RESOLVED)  # 240 minutes both: 0.5
    with at(2026, 12, 25, 16):
        t2 = _new(client, 2)
        _mine(t2, a)
    with at(2026, 12, 28, 10):
        _reply(t2, a, S.WAITING)  # 60 + 60 = 120 minutes: 0.3
    with at(2026, 12, 28, 15):
        assert send(client, account_request_input()).status_code == 302
        t3 = db.session.scalars(sa.select(Inquiry).order_by(Inquiry.id.desc()).limit(1)).one()
    with at(2027, 1, 5, 10):
        t4 = _new(client, 4, MYPAGE)
        t4.intake = Intake.PHONE
        db.session.commit()
        _mine(t4, b)
    with at(2027, 1, 5, 11):  # waited 420 + 480 + 120 = 1,020 minutes
        requester_message(client, link_in(mails_to(t2.email)[-1]), "試しました。")
    with at(2027, 1, 6, 9, 30):
        spam = _new(client, 5)
        triage.move_status(spam, S.SPAM, a)
        db.session.commit()
    with at(2027, 1, 6, 10):
        db.session.refresh(t2)
        triage.move_status(t2, S.RESOLVED, a)  # 1,560 - 1,020 = 540 minutes: 1.1
        db.session.commit()
    with at(2027, 1, 7, 10):
        _reply(t4, b, S.RESOLVED)  # 420 + 480 + 60 = 960 minutes: 2.0, over its 1-day target
    return {"tickets": (t1, t2, t3, t4)}


def _csv(client, key: str) -> list[list[str]]:
    response = client.get("/admin/reports/", query_string=PERIOD | {"download": key})
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    return list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


def test_every_figure_matches_the_hand_computed_set(desk, signed_in) -> None:
    with at(2027, 1, 8, 12):
        agent = signed_in(Role.AGENT)
        page = agent.get("/admin/reports/", query_string=PERIOD)
        assert page.status_code == 200
        assert "受付 4件、解決 3件" in page.text
        volume = {row[0]: row[1:] for row in _csv(agent, "volume")[1:]}
        assert len(volume) == 19  # every day of the period, closed days included
        assert volume["12月21日"] == ["1", "1", "0"]
        assert volume["12月25日"] == ["1", "0", "1"]
        assert volume["12月28日"] == ["1", "0", "2"]
        assert volume["12月31日"] == ["0", "0", "2"]
        assert volume["1月5日"] == ["1", "0", "3"]
        assert volume["1月6日"] == ["0", "1", "2"]  # the spam that day is not counted
        assert volume["1月7日"] == ["0", "1", "1"]
        assert volume["1月8日"] == ["0", "0", "1"]

        times = {row[0]: row[1:] for row in _csv(agent, "times")[1:]}
        assert times["介護情報基盤ポータルについて ＞ ログイン・パスワード"] == [
            "2", "0.3", "0.5", "100.0%", "2", "0.5", "1.1", "100.0%",
        ]  # fmt: skip
        assert times["介護情報基盤ポータルについて ＞ マイページの操作"] == [
            "1", "2.0", "2.0", "0.0%", "1", "2.0", "2.0", "100.0%",
        ]  # fmt: skip
        assert times["合計"] == ["3", "0.5", "2.0", "66.7%", "3", "1.1", "2.0", "100.0%"]

        operators = {row[0]: row[1:] for row in _csv(agent, "operators")[1:]}
        assert operators == {"青木": ["2", "2", "0.3", "0.5"], "坂本": ["1", "1", "2.0", "2.0"]}

        channels = dict(r for r in _csv(agent, "channels")[1:])
        assert channels["お問い合わせフォーム"] == "3"
        assert channels["電話"] == "1"

        ages = dict(r for r in _csv(agent, "age")[1:])
        assert ages["8〜14日"] == "1"  # T3, since Monday 12/28
        assert sum(int(n) for n in ages.values()) == 1

        # Weeks start on Monday; a category narrows every figure.
        weekly = {
            row[0]: row[1:]
            for row in _csv_of(agent, PERIOD | {"grain": "week", "download": "volume"})[1:]
        }
        assert weekly["12月28日の週"] == ["1", "0", "2"]
        assert weekly["1月4日の週"] == ["1", "2", "1"]
        only = _csv_of(
            agent,
            PERIOD | {"minor": str(category(*MYPAGE).id), "download": "volume"},
        )
        assert sum(int(r[1]) for r in only[1:]) == 1


def _csv_of(client, query: dict[str, str]) -> list[list[str]]:
    response = client.get("/admin/reports/", query_string=query)
    assert response.status_code == 200, response.text
    return list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


def test_the_page_draws_each_chart_beside_its_table(desk, signed_in) -> None:
    with at(2027, 1, 8, 12):
        page = signed_in(Role.AGENT).get("/admin/reports/", query_string=PERIOD).text
    assert page.count('<svg class="report-chart"') == 4
    assert page.count('<table class="table table-sm report-table">') == 5
    assert "<script" not in page.split('<h1 class="h4 mb-3">レポート</h1>')[1].split("</main>")[0]


def test_a_bad_period_is_explained_next_to_its_field_and_kept(signed_in, db) -> None:
    seed_tree()
    agent = signed_in(Role.AGENT)
    page = agent.get(
        "/admin/reports/", query_string={"start": "2026-13-01", "end": "2026-01-01", "grain": "day"}
    )
    assert page.status_code == 422
    assert "＊開始日を 2026-04-01 の形で、2000年から2100年までの日で入力してください。" in page.text
    assert 'value="2026-13-01"' in page.text
    long = agent.get(
        "/admin/reports/", query_string={"start": "2026-01-01", "end": "2026-06-30", "grain": "day"}
    )
    assert "＊日ごとに表示できるのは92日までです。" in long.text
    backwards = agent.get(
        "/admin/reports/", query_string={"start": "2026-06-01", "end": "2026-05-01"}
    )
    assert "＊終了日は開始日と同じか、それより後の日にしてください。" in backwards.text
    far = agent.get("/admin/reports/", query_string={"start": "2026-01-01", "end": "9999-12-31"})
    assert far.status_code == 422
    assert "＊終了日を 2026-04-30 の形で、2000年から2100年までの日で入力してください。" in far.text
    for odd in ({"grain": "hour"}, {"major": "abc"}, {"minor": "1e3"}):
        assert agent.get("/admin/reports/", query_string=odd).status_code == 422, odd
    # Keys of its own that url_for would take are never copied into the page's links.
    for odd in ({"_method": "POST"}, {"_external": "1"}, {"_anchor": "x"}):
        page = agent.get("/admin/reports/", query_string=odd)
        assert page.status_code == 200, odd
        assert "download=volume" in page.text
        assert "http://localhost/admin/reports" not in page.text
        assert "#x" not in page.text
    wrong = agent.get("/admin/reports/", query_string={"minor": "999999"})
    assert "＊中カテゴリーを選び直してください。" in wrong.text
    assert agent.get("/admin/reports/", query_string={"download": "nothing"}).status_code == 400


def test_viewers_read_without_csv_and_outsiders_get_nothing(signed_in, client, app, db) -> None:
    seed_tree()
    viewer = signed_in(Role.VIEWER)
    page = viewer.get("/admin/reports/")
    assert page.status_code == 200
    assert "CSVでダウンロード" not in page.text
    assert viewer.get("/admin/reports/", query_string={"download": "volume"}).status_code == 403
    assert "CSVでダウンロード" in signed_in(Role.ADMIN).get("/admin/reports/").text

    # Portal users and visitors: tests/admin/test_access.py walks every back-office page.
    anonymous = app.test_client()
    for query in ({}, {"download": "volume"}):
        response = anonymous.get("/admin/reports/", query_string=query)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/admin/login")
        assert "受付" not in response.get_data(as_text=True)


def test_merged_tickets_are_left_out_and_names_cannot_be_formulas(client, signed_in, db) -> None:
    with at(2027, 1, 4, 10):
        seed_tree()
        odd = OperatorActor.of(make_operator(Role.AGENT, email="o@ops.example.jp", name="=1+1"))
        kept = _new(client, 1)
        twin = _new(client, 1)
        _mine(kept, odd)
    with at(2027, 1, 4, 11):
        merging.merge(twin.id, kept.reference_number, odd, expected_version=twin.version)
        _reply(kept, odd, S.RESOLVED)
    with at(2027, 1, 5, 9):
        agent = signed_in(Role.AGENT)
        query = {"start": "2027-01-04", "end": "2027-01-04"}
        volume = _csv_of(agent, query | {"download": "volume"})
        assert volume[1] == ["1月4日", "1", "1", "0"]  # the merged twin is not counted
        operators = _csv_of(agent, query | {"download": "operators"})
        assert operators[1][0] == "'=1+1"


def _summary_rows() -> list[tuple]:
    return [
        tuple(row)
        for row in db.session.execute(
            sa.select(ReportDay.__table__)
            .where(ReportDay.count != 0)
            .order_by(*ReportDay.__table__.primary_key)
        )
    ]


def test_the_summary_follows_every_change_as_a_rebuild_reads_it(desk, client, db) -> None:
    """Re-filing, reassigning, reopening, spam and merging after the fact: the summary kept in each
    transaction is what `flask reports rebuild` computes from the tickets."""
    t1, t2, t3, t4 = desk["tickets"]
    with at(2027, 1, 8, 10):
        c = OperatorActor.of(make_operator(Role.AGENT, email="c@ops.example.jp", name="千葉"))
        db.session.refresh(t1)
        t1.assignee_id = c.id  # the column, not the relationship
        db.session.commit()
        desk_ops.change_category(
            t4.id,
            category(*LOGIN).id,
            None,
            c,
            expected_version=db.session.get(Inquiry, t4.id).version,
        )
        triage.move_status(db.session.get(Inquiry, t2.id), S.IN_PROGRESS, c)  # reopened
        db.session.commit()
        triage.move_status(db.session.get(Inquiry, t3.id), S.SPAM, c)
        db.session.commit()
        twin = _new(client, 1)  # the same requester as T1
        merging.merge(twin.id, t1.reference_number, c, expected_version=twin.version)
    live = _summary_rows()
    assert live
    rebuild()
    assert _summary_rows() == live


def test_the_summary_counts_each_ticket_on_its_japan_day() -> None:
    """15:30 UTC on 12/31 is already 1/1 in Japan: the day a ticket is counted on."""
    from types import SimpleNamespace

    from backoffice.reports.summary import contribution

    row = SimpleNamespace(
        status=S.RESOLVED,
        merged_into_id=None,
        created_at=datetime(2026, 12, 31, 15, 30, tzinfo=UTC),
        category_id=7,
        intake=Intake.MAIL,
        assignee_id=None,
        first_response_at=datetime(2027, 1, 3, 14, 59, tzinfo=UTC),
        first_response_minutes=250,
        first_response_met=True,
        resolved_at=datetime(2027, 1, 3, 15, 0, tzinfo=UTC),
        resolution_minutes=None,
        resolution_met=None,
    )
    assert contribution(row, 480) == [
        (date(2027, 1, 1), "received", 7, "mail", 0, -1, 0),
        (date(2027, 1, 3), "first_response", 7, "", 0, 5, 1),  # 250 of 480 minutes: 0.5
        (date(2027, 1, 4), "resolved", 7, "", 0, -1, 0),
        (date(2027, 1, 1), "first_response_month", 7, "", 0, 5, 1),  # and in its month
    ]
    assert contribution(SimpleNamespace(**{**vars(row), "status": S.SPAM}), 480) == []


def test_whole_months_read_from_the_monthly_counts_give_the_same_times(desk, signed_in) -> None:
    with at(2027, 1, 8, 12):
        agent = signed_in(Role.AGENT)
        by_day = _csv(agent, "times")
        for period in (
            {"start": "2026-12-01", "end": "2027-01-31", "grain": "month"},  # two whole months
            {"start": "2026-12-15", "end": "2027-01-31", "grain": "week"},  # days, then a month
            {"start": "2026-11-01", "end": "2027-01-08", "grain": "week"},  # months, then days
        ):
            response = agent.get("/admin/reports/", query_string=period | {"download": "times"})
            rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
            assert rows == by_day, period
