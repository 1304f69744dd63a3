"""Operators' alerts with a frozen clock: each goes out once, within 受付時間, to the right operators
only, and says nothing of the requester beyond the 受付番号 and 区分."""

import threading
from datetime import date, datetime

import pytest
import sqlalchemy as sa
import time_machine

from backoffice.alerts import operations as alerts
from backoffice.alerts.models import OperatorAlert
from backoffice.display import JST
from backoffice.inquiries import triage
from backoffice.inquiries.models import Inquiry
from backoffice.inquiries.vocabulary import InquiryStatus
from backoffice.mail.outbox import readable
from backoffice.operators.models import Operator, Role
from backoffice.operators.operations import OperatorActor
from tests.builders.inquiries import category, make_inquiry, seed_tree
from tests.builders.operators import make_operator
from tests.conversation.helpers import link_in, mails_to, requester_message

NEW = "新しいお問い合わせ"
ASSIGNED = "担当の割り当て"
ANSWER = "依頼者からの返信"
DIGEST = "本日期限・期限切れ"


def jst(*args: int) -> datetime:
    return datetime(*args, tzinfo=JST)


def subjects(operator: Operator) -> list[str]:
    return [m.subject for m in mails_to(operator.email)]


def watching(operator: Operator, *names: tuple[str, str], **choices: bool) -> Operator:
    alerts.save_settings(
        operator,
        alerts.AlertChoices(
            assigned=choices.get("assigned", True),
            answers=choices.get("answers", True),
            digest=choices.get("digest", True),
            watched=tuple(category(*n).id for n in names),
        ),
    )
    return operator


LOGIN = ("介護情報基盤ポータルについて", "ログイン・パスワード")
OTHER = ("介護情報基盤ポータルについて", "マイページの操作")


@pytest.fixture
def desk(db):
    """Monday 2026-12-07: an agent and an admin watching ログイン・パスワード, an agent watching another
    中カテゴリー, and a viewer watching the same one (viewers get no alerts)."""
    with time_machine.travel(jst(2026, 12, 7, 8), tick=False):
        seed_tree()
        return {
            "watcher": watching(make_operator(Role.AGENT, email="w@ops.example.jp"), LOGIN),
            "admin": watching(make_operator(Role.ADMIN, email="a@ops.example.jp"), LOGIN),
            "other": watching(make_operator(Role.AGENT, email="o@ops.example.jp"), OTHER),
            "viewer": watching(make_operator(Role.VIEWER, email="v@ops.example.jp"), LOGIN),
        }


def send_at(moment: datetime) -> alerts.AlertReport:
    with time_machine.travel(moment, tick=False):
        return alerts.send_due()


def test_a_new_ticket_alerts_its_watchers_at_once_within_hours(desk, client) -> None:
    with time_machine.travel(jst(2026, 12, 7, 10), tick=False):
        inquiry = make_inquiry(client, body="東京都の○○病院です。パスワードが違うと出ます。")
    [mail] = mails_to(desk["watcher"].email)
    assert mail.subject.endswith(f"{NEW}（受付番号 {inquiry.reference_number}）")
    text, html = readable(mail)
    assert "介護情報基盤ポータルについて ＞ ログイン・パスワード" in text
    assert f"/admin/tickets/{inquiry.id}/" in text
    for personal in ("山田", "yamada@", "himawari", "病院", "0312345678", "03-1234"):
        assert personal not in text + html + mail.subject
    assert len(mails_to(desk["admin"].email)) == 1
    assert mails_to(desk["other"].email) == []
    assert mails_to(desk["viewer"].email) == []
    # The sweep later sends nothing more.
    assert send_at(jst(2026, 12, 7, 11)).waiting_mailed == 0
    assert len(mails_to(desk["watcher"].email)) == 1


def test_the_link_opens_the_ticket_after_sign_in(desk, client) -> None:
    with time_machine.travel(jst(2026, 12, 7, 10), tick=False):
        inquiry = make_inquiry(client)
    response = client.get(f"/admin/tickets/{inquiry.id}/")
    assert response.status_code == 302
    assert response.location.endswith(f"/admin/login?next=/admin/tickets/{inquiry.id}/")


def test_alerts_made_outside_hours_wait_for_the_opening_and_go_once(desk, client, db) -> None:
    with time_machine.travel(jst(2026, 12, 7, 20), tick=False):
        first = make_inquiry(client)
    assert send_at(jst(2026, 12, 7, 23)).waiting_mailed == 0  # still closed
    with time_machine.travel(jst(2026, 12, 8, 8, 30), tick=False):
        second = make_inquiry(
            client, email="sato@sakura.example.jp", email_confirm="sato@sakura.example.jp"
        )
    assert mails_to(desk["watcher"].email) == []

    opened = send_at(jst(2026, 12, 8, 9, 0))
    assert opened.waiting_mailed == 2  # the watcher and the admin, one mail each
    [mail] = mails_to(desk["watcher"].email)
    assert "お知らせ2件" in mail.subject
    text = readable(mail)[0]
    assert first.reference_number in text
    assert second.reference_number in text
    assert send_at(jst(2026, 12, 8, 9, 5)).waiting_mailed == 0
    assert len(mails_to(desk["watcher"].email)) == 1
    assert mails_to(desk["viewer"].email) == []


def test_a_saturday_waits_for_monday(desk, client) -> None:
    with time_machine.travel(jst(2026, 12, 12, 10), tick=False):  # Saturday
        make_inquiry(client)
    assert send_at(jst(2026, 12, 12, 11)).waiting_mailed == 0
    assert send_at(jst(2026, 12, 14, 9, 1)).waiting_mailed == 2


def test_an_assignment_alerts_the_assignee_unless_they_took_it_themselves(desk, client, db) -> None:
    watcher, other = desk["watcher"], desk["other"]
    quiet = watching(make_operator(Role.AGENT, email="q@ops.example.jp"), assigned=False)
    with time_machine.travel(jst(2026, 12, 7, 10), tick=False):
        inquiry = make_inquiry(client)
        for assignee in (other, watcher, quiet):
            triage.update_inquiry(
                inquiry.id,
                triage.InquiryChanges(assignee_id=assignee.id),
                OperatorActor.of(watcher),
                expected_version=inquiry.version,
            )
    assert [s for s in subjects(other) if ASSIGNED in s] == [
        f"【介護情報基盤ポータル 運営管理画面】{ASSIGNED}（受付番号 {inquiry.reference_number}）"
    ]
    assert not [s for s in subjects(watcher) if ASSIGNED in s]  # they assigned it to themselves
    assert subjects(quiet) == []


def test_a_requester_answer_alerts_the_assignee_or_else_the_watchers(desk, client, db) -> None:
    watcher, other = desk["watcher"], desk["other"]
    with time_machine.travel(jst(2026, 12, 7, 10), tick=False):
        unassigned = make_inquiry(client)
        requester_message(client, link_in(mails_to(unassigned.email)[0]), "エラー番号はE-102です。")
    assert sum(ANSWER in s for s in subjects(watcher)) == 1
    assert sum(ANSWER in s for s in subjects(desk["admin"])) == 1
    assert not any(ANSWER in s for s in subjects(other))

    with time_machine.travel(jst(2026, 12, 7, 11), tick=False):
        assigned = make_inquiry(
            client, email="sato@sakura.example.jp", email_confirm="sato@sakura.example.jp"
        )
        triage.update_inquiry(
            assigned.id,
            triage.InquiryChanges(assignee_id=other.id),
            OperatorActor.of(desk["admin"]),
            expected_version=assigned.version,
        )
        requester_message(client, link_in(mails_to(assigned.email)[0]), "再起動しても同じです。")
    answers = [s for s in subjects(other) if ANSWER in s]
    assert answers == [
        f"【介護情報基盤ポータル 運営管理画面】{ANSWER}（受付番号 {assigned.reference_number}）"
    ]
    assert sum(ANSWER in s for s in subjects(watcher)) == 1  # not theirs


def _assign(inquiry: Inquiry, operator: Operator, due: date, db) -> None:
    inquiry.assignee_id, inquiry.due_on = operator.id, due
    db.session.commit()


def test_one_digest_a_morning_with_the_operators_due_and_overdue_tickets(desk, client, db) -> None:
    watcher, other, viewer = desk["watcher"], desk["other"], desk["viewer"]
    off = watching(make_operator(Role.AGENT, email="off@ops.example.jp"), digest=False)
    with time_machine.travel(jst(2026, 12, 4, 16), tick=False):  # the Friday before
        tickets = [
            make_inquiry(
                client, email=f"r{i}@sakura.example.jp", email_confirm=f"r{i}@sakura.example.jp"
            )
            for i in range(5)
        ]
    _assign(tickets[0], watcher, date(2026, 12, 4), db)  # overdue on Monday
    _assign(tickets[1], watcher, date(2026, 12, 7), db)  # due on Monday
    _assign(tickets[2], watcher, date(2026, 12, 9), db)  # later
    _assign(tickets[3], viewer, date(2026, 12, 4), db)
    _assign(tickets[4], off, date(2026, 12, 4), db)
    tickets[1].status = InquiryStatus.IN_PROGRESS
    db.session.commit()

    assert send_at(jst(2026, 12, 7, 8, 59)).digests == 0
    assert send_at(jst(2026, 12, 7, 9, 0)).digests == 1
    [digest] = [m for m in mails_to(watcher.email) if DIGEST in m.subject]
    text = readable(digest)[0]
    assert "期限切れが1件" in text
    assert "本日が期限のものが1件" in text
    assert tickets[0].reference_number in text
    assert tickets[1].reference_number in text
    assert tickets[2].reference_number not in text
    for operator in (other, viewer, off):
        assert not any(DIGEST in s for s in subjects(operator))
    # Once a morning; the next business day again.
    assert send_at(jst(2026, 12, 7, 13)).digests == 0
    assert send_at(jst(2026, 12, 8, 9, 30)).digests == 1
    assert sum(DIGEST in s for s in subjects(watcher)) == 2


def test_two_sweeps_at_the_opening_mail_each_alert_once(
    desk, app, client, db, database_url
) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("concurrent sweeps need PostgreSQL (SQLite serialises writers)")
    with time_machine.travel(jst(2026, 12, 7, 20), tick=False):
        make_inquiry(client)
    results: list[alerts.AlertReport] = []

    def run() -> None:
        with app.app_context():
            results.append(send_at(jst(2026, 12, 8, 9, 0)))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(r.waiting_mailed for r in results) == 2
    assert len(mails_to(desk["watcher"].email)) == 1
    digests = db.session.scalars(
        sa.select(OperatorAlert).where(OperatorAlert.digest_on.is_not(None))
    )
    assert len(digests.all()) == 3  # one a day for each 担当者 and 管理者, whichever sweep made it
