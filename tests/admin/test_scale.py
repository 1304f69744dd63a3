"""The ticket list and dashboard shaped for a million tickets (migration 0005, docs/performance.md):
per-status counters, the search box's query shapes and index, far pages, the cached category tree, and
the Japanese 503 page when the database is gone."""

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from backoffice import create_app
from backoffice.accounts.models import OrganizationKind
from backoffice.admin.inquiry_list import InquiryView
from backoffice.db import utcnow
from backoffice.inquiries import counts, replies, triage
from backoffice.inquiries.models import Inquiry, InquiryCategory, InquiryStatusCount
from backoffice.inquiries.search import search_clause
from backoffice.inquiries.search_index import rebuild_grams
from backoffice.inquiries.vocabulary import InquiryStatus
from backoffice.operators.models import Role
from backoffice.operators.operations import OperatorActor
from tests import postgres
from tests.builders.accounts import make_registrant
from tests.builders.app import app_config
from tests.builders.inquiries import account_request_input, category, general_input, seed_tree, send
from tests.builders.operators import make_operator


def _actual(db) -> dict[InquiryStatus, int]:
    return dict(
        db.session.execute(
            sa.select(Inquiry.status, sa.func.count()).group_by(Inquiry.status)
        ).all()
    )


def _counters(db) -> dict[InquiryStatus, int]:
    return {s: n for s, n in counts.status_counts(db.session).items() if n}


def test_status_counters_follow_every_change(db, client, signed_in) -> None:
    seed_tree()
    for i in range(3):
        send(client, general_input(email=f"c{i}@example.jp", email_confirm=f"c{i}@example.jp"))
    assert _counters(db) == {InquiryStatus.NEW: 3} == _actual(db)

    first, second, third = db.session.scalars(sa.select(Inquiry).order_by(Inquiry.id)).all()
    actor = OperatorActor.of(make_operator(Role.AGENT))
    triage.move_status(first, InquiryStatus.IN_PROGRESS, actor)
    db.session.commit()
    assert _counters(db) == _actual(db) == {InquiryStatus.NEW: 2, InquiryStatus.IN_PROGRESS: 1}

    agent = signed_in(Role.AGENT)
    page = agent.get("/admin/tickets/").text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    agent.post(
        "/admin/tickets/action/",
        data={"action": "mark_spam", "rowid": [str(second.id), str(third.id)], "csrf_token": token},
    )
    db.session.expire_all()
    assert _counters(db) == _actual(db) == {InquiryStatus.IN_PROGRESS: 1, InquiryStatus.SPAM: 2}

    db.session.delete(db.session.get(Inquiry, third.id))
    db.session.commit()
    assert _counters(db) == _actual(db) == {InquiryStatus.IN_PROGRESS: 1, InquiryStatus.SPAM: 1}

    counts.recount(db.session.connection())
    assert _counters(db) == _actual(db)


def _listed(page: str) -> str:
    """The count in the list's tab: 「一覧 (42)」."""
    return re.search(r'class="nav-link active">[^<(]*\(([^)]+)\)', page).group(1)


def test_the_whole_list_and_one_status_are_counted_from_the_counters_the_rest_from_the_rows(
    db, client, signed_in
) -> None:
    seed_tree()
    send(client, general_input())
    # A counter that disagrees with the rows shows which count the page used.
    db.session.execute(
        sa.update(InquiryStatusCount)
        .where(InquiryStatusCount.status == InquiryStatus.CLOSED)
        .values(count=41)
    )
    db.session.commit()
    category_id = db.session.scalar(sa.select(Inquiry.category_id))
    viewer = signed_in(Role.VIEWER)
    assert _listed(viewer.get("/admin/tickets/").text) == "42"
    # The dashboard's numbers link here: a status alone shows the same number.
    assert _listed(viewer.get("/admin/tickets/", query_string={"flt0_0": "closed"}).text) == "41"
    assert _listed(viewer.get("/admin/tickets/", query_string={"flt0_0": "new"}).text) == "1"
    assert re.search(r"完了.{0,200}41", viewer.get("/admin/").text, re.S)
    with_category = {"flt0_0": "closed", "flt1_2": str(category_id)}
    assert "(41)" not in viewer.get("/admin/tickets/", query_string=with_category).text
    with_category["flt0_0"] = "new"
    assert _listed(viewer.get("/admin/tickets/", query_string=with_category).text) == "1"


def test_a_broad_search_counts_its_matches_only_up_to_the_cap(db, signed_in, monkeypatch) -> None:
    newest_first = _tickets(db, 120)
    monkeypatch.setattr(InquiryView, "count_cap", 100)
    viewer = signed_in(Role.VIEWER)
    broad = viewer.get("/admin/tickets/", query_string={"search": "山田"}).text
    assert _listed(broad) == "100件以上"
    # No page numbers it cannot know: a previous/next pager, and the next page continues the list.
    shown = lambda page: list(dict.fromkeys(re.findall(r"P\d{3}-TEST", page)))  # noqa: E731
    assert shown(broad) == newest_first[:50]
    assert not re.search(r'class="page-link" href="[^"]*page=2', broad)
    following = re.search(r'class="page-link" href="([^"]*page=1[^"]*)"', broad).group(1)
    second = viewer.get(following.replace("&amp;", "&")).text
    assert shown(second) == newest_first[50:100]

    narrow = viewer.get("/admin/tickets/", query_string={"search": "user7@example.jp"}).text
    assert _listed(narrow) == "1"
    monkeypatch.setattr(InquiryView, "count_cap", 120)
    assert _listed(viewer.get("/admin/tickets/", query_string={"search": "山田"}).text) == "120"


@pytest.fixture
def people(db, client):
    seed_tree()
    for name, email in [
        ("山田 太郎", "yamada@himawari.example.jp"),
        ("小山田 花子", "oyamada@sakura.example.jp"),
        ("田中 100%", "tanaka@example.jp"),
    ]:
        send(client, general_input(name=name, email=email, email_confirm=email))
    send(client, account_request_input())
    return {i.requester_name: i for i in db.session.scalars(sa.select(Inquiry))}


def _found(db, term: str) -> set[str]:
    clause = search_clause(term)
    return set(db.session.scalars(sa.select(Inquiry.requester_name).where(clause)))


def test_search_terms_take_the_shape_the_indexes_answer(db, people) -> None:
    yamada = people["山田 太郎"]
    number = yamada.reference_number
    full_width = (
        number.lower().replace("-", "").translate({c: c + 0xFEE0 for c in range(0x21, 0x7F)})
    )
    assert _found(db, full_width) == {"山田 太郎"}  # 受付番号: any case or width, hyphen optional
    assert _found(db, "0110113719") == {"佐藤 花子"}  # 医療機関コード of the request
    assert _found(db, "YAMADA@HIMAWARI.EXAMPLE.JP") != {
        "山田 太郎"
    }  # exact address: local part as sent
    assert _found(db, "yamada@HIMAWARI.example.jp") == {"山田 太郎"}  # the domain is case-free
    # One or two characters: anywhere in a word of a name or organization (the gram table).
    assert _found(db, "山田") == {"山田 太郎", "小山田 花子"}
    assert _found(db, "小") == {"小山田 花子"}
    assert _found(db, "郎") == {"山田 太郎"}  # the last character of a word
    assert {"山田 太郎", "小山田 花子"} <= _found(db, "ﾔﾏ")  # フリガナ, any width
    assert _found(db, "在宅") == {"佐藤 花子"}  # inside 「さくら在宅クリニック」
    assert _found(db, "太花") == set()  # not across words
    assert _found(db, "山田 太") == {"山田 太郎"}
    assert _found(db, "山田 ") == {"山田 太郎", "小山田 花子"}
    assert _found(db, "田太郎") == set()
    assert _found(db, "山田 太郎") == {"山田 太郎"}
    assert _found(db, "小山田") == {"小山田 花子"}
    assert _found(db, "sakura.example") == {"小山田 花子"}  # part of an address: contains
    assert _found(db, "さくら在宅") == {"佐藤 花子"}  # 医療機関名
    assert _found(db, "100%") == {"田中 100%"}  # LIKE wildcards are taken literally
    assert _found(db, "_") == set()
    assert search_clause("　 ") is None


def test_search_finds_words_of_the_body_the_thread_and_part_of_a_number(db, people) -> None:
    yamada, oyamada = people["山田 太郎"], people["小山田 花子"]
    yamada.body = "ワンタイムパスワードが届きません。"
    db.session.commit()
    operator = OperatorActor.of(make_operator(Role.AGENT))
    version = oyamada.version
    triage.add_note(oyamada.id, "迷惑メールフォルダを確認済み", operator)
    db.session.refresh(oyamada)
    assert oyamada.version == version  # a note makes nobody's open page outdated
    # A reply's text is written in the same UPDATE as the reply's change of the ticket.
    replies.reply(
        yamada.id, "受信設定をご確認ください。", operator, expected_version=yamada.version
    )
    assert _found(db, "受信設定を") == {"山田 太郎"}
    assert _found(db, "ワンタイム") == {"山田 太郎"}  # the inquiry's body (as changed)
    assert _found(db, "迷惑メール") == {"小山田 花子"}  # a message of its thread
    compact = oyamada.reference_number.replace("-", "")
    assert _found(db, compact[2:6]) == {"小山田 花子"}  # part of a 受付番号, across the hyphen
    assert _found(db, f"{compact[2:4]}-{compact[4:6]}".lower()) == {"小山田 花子"}
    # A changed name changes its grams in the same transaction (also when the ticket was expired).
    db.session.expire_all()
    oyamada.requester_name = "大川 花子"
    db.session.commit()
    assert _found(db, "大川") == {"大川 花子"}
    assert _found(db, "山田") == {"山田 太郎"}
    assert _found(db, "花子") == {"大川 花子", "佐藤 花子"}  # the unchanged grams stay


def _tickets(db, count: int) -> list[str]:
    """`count` tickets received one minute apart; their numbers, newest first."""
    seed_tree()
    cat = category("介護情報基盤ポータルについて", "ログイン・パスワード")
    start = utcnow() - timedelta(days=1)
    db.session.execute(
        sa.insert(Inquiry),
        [
            {
                "reference_number": f"P{i:03d}-TEST",
                "submission_key": f"page-{i}",
                "status_token_hash": f"{i:064d}",
                "category_id": cat.id,
                "status": InquiryStatus.NEW,
                "requester_name": "山田 太郎",
                "requester_kana": "ヤマダ タロウ",
                "email": f"user{i}@example.jp",
                "phone": "0312345678",
                "body": "",
                "created_at": start + timedelta(minutes=i),
                "updated_at": start,
            }
            for i in range(count)
        ],
    )
    # A bulk insert passes the hooks that keep the gram table: rebuild it, as after a bulk load.
    rebuild_grams(db.session.connection())
    db.session.commit()
    return [f"P{i:03d}-TEST" for i in reversed(range(count))]


def test_far_pages_load_the_same_tickets_through_the_deferred_join(
    db, signed_in, monkeypatch
) -> None:
    newest_first = _tickets(db, 120)
    viewer = signed_in(Role.VIEWER)

    def shown(page: int) -> list[str]:
        listing = viewer.get("/admin/tickets/", query_string={"page": page}).text
        return re.findall(r"P\d{3}-TEST", listing)

    plain = [shown(p) for p in range(3)]
    monkeypatch.setattr(InquiryView, "deferred_join_from", 1)
    deferred = [shown(p) for p in range(3)]
    assert deferred == plain
    assert [n for page in deferred for n in dict.fromkeys(page)] == newest_first


def test_a_filtered_page_finds_its_ids_first_then_loads_just_those_rows(db, signed_in) -> None:
    newest_first = _tickets(db, 120)
    viewer = signed_in(Role.VIEWER)
    statements: list[str] = []

    def capture(conn, cursor, statement, parameters, context, many) -> None:
        if statement.lstrip().startswith("SELECT inquiries.id AS inquiries_id, inquiries.ref"):
            statements.append(" ".join(statement.split()))

    sa.event.listen(db.engine, "before_cursor_execute", capture)
    try:
        pages = [
            viewer.get("/admin/tickets/", query_string={"flt0_0": "new", "page": p}).text
            for p in range(3)
        ]
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", capture)
    shown = [n for page in pages for n in dict.fromkeys(re.findall(r"P\d{3}-TEST", page))]
    assert shown == newest_first
    assert len(statements) == 3
    # The rows are loaded by their ids alone: no filter left for the database to misjudge.
    for statement in statements:
        where = statement.split(" WHERE ", 1)[1]
        assert where.startswith("inquiries.id IN ("), statement
        assert "status" not in where.split(" ORDER BY ")[0], statement
    past_the_end = viewer.get("/admin/tickets/", query_string={"flt0_0": "new", "page": 9})
    assert past_the_end.status_code == 200
    assert not re.search(r"P\d{3}-TEST", past_the_end.text)


def test_a_whole_email_or_office_number_finds_its_row_by_the_unique_index(signed_in, db) -> None:
    """The ticket page links to the users' and organizations' lists with one of these; Flask-Admin's
    `ILIKE '%term%'` read all 600,000 users (1.1 s) or 200,000 organizations (0.3 s) for them."""
    make_registrant()  # registrant@clinic.example.jp, 0110113719
    make_registrant(
        email="xregistrant@clinic.example.jp",
        office_number="04A0700017",
        kind=OrganizationKind.CARE,
    )
    viewer = signed_in(Role.VIEWER)
    statements: list[str] = []

    def capture(conn, cursor, statement, parameters, context, many) -> None:
        if "FROM portal_users" in statement or "FROM organizations" in statement:
            statements.append(" ".join(statement.split()))

    sa.event.listen(db.engine, "before_cursor_execute", capture)
    try:
        users = viewer.get(
            "/admin/portal_users/",
            query_string={"search": "Ｒｅｇｉｓｔｒａｎｔ＠ＣＬＩＮＩＣ.example.jp"},
        ).text
        organizations = viewer.get(
            "/admin/organizations/", query_string={"search": " 04A-0700017 "}
        ).text
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", capture)
    assert "registrant@clinic.example.jp" in users
    assert "xregistrant@clinic.example.jp" not in users
    assert "04A0700017" in organizations
    assert "0110113719" not in organizations
    assert statements
    assert not any("LIKE" in s.upper() for s in statements), statements
    # Anything else is still looked for inside the columns, as before.
    partial = viewer.get("/admin/portal_users/", query_string={"search": "clinic.example"}).text
    assert "xregistrant@clinic.example.jp" in partial
    assert "registrant@clinic.example.jp" in partial.replace("xregistrant", "")


def test_account_lists_find_text_in_names_kana_and_ids(signed_in, db) -> None:
    make_registrant()  # 佐藤 花子 (サトウ ハナコ) of さくら在宅クリニック, 0110113719
    other, _ = make_registrant(
        email="kato@care.example.jp", office_number="04A0700017", kind=OrganizationKind.CARE
    )
    other.name, other.name_kana = "伊佐藤 次郎", "イサトウ ジロウ"
    other.organization.name, other.organization.name_kana = "かえでケア", "カエデケア"
    db.session.commit()
    viewer = signed_in(Role.VIEWER)

    def found(list_name: str, term: str, *shown: str) -> tuple[str, ...]:
        page = viewer.get(f"/admin/{list_name}/", query_string={"search": term}).text
        return tuple(text for text in shown if text in page)

    assert "氏名・フリガナ・ID（メールアドレス）" in viewer.get("/admin/portal_users/").text
    assert "名称・フリガナ・事業所番号・医療機関コード" in viewer.get("/admin/organizations/").text
    users = ("registrant@clinic.example.jp", "kato@care.example.jp")
    assert (
        found("portal_users", "佐藤", *users) == users
    )  # two characters: anywhere in a word (grams)
    assert found("portal_users", "次郎", *users) == users[1:]
    assert found("portal_users", "サトウ", *users) == users  # three: anywhere
    assert found("portal_users", "ｃａｒｅ．ｅｘａｍｐｌｅ", *users) == users[1:]
    organizations = ("0110113719", "04A0700017")
    assert found("organizations", "かえで", *organizations) == organizations[1:]
    assert found("organizations", "カエデ", *organizations) == organizations[1:]
    assert found("organizations", "でケ", *organizations) == organizations[1:]  # short: anywhere
    assert found("organizations", "0110", *organizations) == organizations[:1]  # no フリガナ there


@pytest.mark.parametrize("app_overrides", [{"CATEGORY_CACHE_SECONDS": 60}])
def test_the_category_tree_is_kept_and_a_closed_category_is_still_refused(db, client) -> None:
    seed_tree()
    client.get("/inquiry")
    statements: list[str] = []
    sa.event.listen(db.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    client.get("/inquiry")
    assert not any("inquiry_categories" in s for s in statements)

    data = general_input()
    db.session.get(InquiryCategory, int(data["category"])).is_active = False
    db.session.commit()
    response = send(client, data)  # the form still offers it; sending it is refused
    assert response.status_code in (302, 422)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Inquiry)) == 0


def test_database_outage_answers_with_the_japanese_503_page() -> None:
    app = create_app(
        app_config(f"postgresql+psycopg://postgres@127.0.0.1:{postgres.free_port()}/gone")
    )
    response = app.test_client().get("/inquiry")
    assert response.status_code == 503
    assert "ただいまサービスを利用できません" in response.text
    assert '<html lang="ja"' in response.text
