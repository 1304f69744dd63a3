"""`flask tickets sweep` with a frozen clock: a silent 依頼者の回答待ち ticket is reminded, then closed,
on business days and only within 受付時間; 解決済 becomes 完了; two sweeps at once send one mail."""

import threading
from datetime import datetime

import pytest
import sqlalchemy as sa
import time_machine

from backoffice.display import JST
from backoffice.inquiries.models import Inquiry
from backoffice.inquiries.sweep import sweep
from backoffice.inquiries.vocabulary import EventKind, InquiryStatus
from backoffice.mail.delivery import deliver_due
from backoffice.mail.outbox import readable
from backoffice.operators.models import Role
from tests.builders.inquiries import make_inquiry, seed_tree
from tests.conversation.helpers import link_in, mails_to, operator_reply, requester_message

S = InquiryStatus
REMINDER = "ご回答をお待ちしています"
CLOSED = "お問い合わせを完了しました"


def jst(*args: int) -> datetime:
    return datetime(*args, tzinfo=JST)


def subjects(address: str) -> list[str]:
    return [m.subject for m in mails_to(address)]


def status_of(db, inquiry: Inquiry) -> InquiryStatus:
    db.session.expire_all()
    return db.session.get(Inquiry, inquiry.id).status


@pytest.fixture
def asked(signed_in, client, db):
    """A ticket sent and asked about on Monday 2026-12-07, 10:00 (Japan time)."""
    with time_machine.travel(jst(2026, 12, 7, 10), tick=False):
        seed_tree()
        inquiry = make_inquiry(client)
        assert operator_reply(signed_in(Role.AGENT), inquiry, "エラーの文言を教えてください。")
    assert status_of(db, inquiry) is S.WAITING
    return inquiry


def run_at(moment: datetime):
    with time_machine.travel(moment, tick=False):
        return sweep()


def test_a_silent_ticket_is_reminded_then_closed_on_business_days_within_hours(
    asked, db, client
) -> None:
    assert run_at(jst(2026, 12, 9, 10)).reminded == 0  # two business days: not yet
    outside = run_at(jst(2026, 12, 10, 20))  # the third business day, after 17:00
    assert outside.waiting_for_hours
    assert outside.reminded == 0
    assert not any(REMINDER in s for s in subjects(asked.email))

    assert run_at(jst(2026, 12, 11, 9, 0)).reminded == 1  # the next opening
    assert run_at(jst(2026, 12, 11, 9, 5)).reminded == 0  # once
    [reminder] = [m for m in mails_to(asked.email) if REMINDER in m.subject]
    text = readable(reminder)[0]
    assert "2026年12月21日（月）までにご回答がない場合は" in text  # 10 business days after 12/7
    assert "「追加で連絡する」" in text
    assert link_in(reminder) == link_in(mails_to(asked.email)[0])
    db.session.expire_all()
    events = [e.kind for e in db.session.get(Inquiry, asked.id).events]
    assert EventKind.REMINDER_SENT in events

    assert run_at(jst(2026, 12, 18, 16)).closed == 0  # 9 business days
    assert run_at(jst(2026, 12, 21, 8, 59)).closed == 0  # before opening
    assert status_of(db, asked) is S.WAITING
    assert run_at(jst(2026, 12, 21, 9, 0)).closed == 1
    assert status_of(db, asked) is S.CLOSED
    [closing] = [m for m in mails_to(asked.email) if CLOSED in m.subject]
    assert "ご回答がなかったため、完了とさせていただきました" in readable(closing)[0]
    assert run_at(jst(2026, 12, 21, 10)).closed == 0

    # Answering afterwards starts a new ticket linked to it.
    with time_machine.travel(jst(2026, 12, 22, 10), tick=False):
        requester_message(client, link_in(closing), "遅くなりました。")
    new = db.session.scalars(sa.select(Inquiry).where(Inquiry.previous_id == asked.id)).one()
    assert new.body == "遅くなりました。"


def test_an_answer_stops_the_reminder(asked, db, client) -> None:
    with time_machine.travel(jst(2026, 12, 8, 11), tick=False):
        requester_message(client, link_in(mails_to(asked.email)[0]), "エラーは E-102 です。")
    assert status_of(db, asked) is S.IN_PROGRESS
    report = run_at(jst(2026, 12, 22, 10))
    assert (report.reminded, report.closed) == (0, 0)
    assert status_of(db, asked) is S.IN_PROGRESS


def test_the_year_end_holidays_are_not_counted(signed_in, client, db) -> None:
    with time_machine.travel(jst(2026, 12, 25, 10), tick=False):  # a Friday
        seed_tree()
        inquiry = make_inquiry(client)
        operator_reply(signed_in(Role.AGENT), inquiry, "ご確認ください。")
    # 12/28 is one business day; 12/29–1/3 count for nothing; 1/4 and 1/5 make three.
    assert run_at(jst(2026, 12, 30, 10)).reminded == 0
    assert run_at(jst(2027, 1, 4, 10)).reminded == 0
    assert run_at(jst(2027, 1, 5, 10)).reminded == 1


def test_the_days_are_set_per_category(asked, db) -> None:
    asked.category.reminder_business_days = 1
    db.session.commit()
    assert run_at(jst(2026, 12, 8, 10)).reminded == 1


def test_a_resolved_ticket_becomes_complete_without_a_mail(signed_in, client, db) -> None:
    with time_machine.travel(jst(2026, 12, 7, 10), tick=False):
        seed_tree()
        inquiry = make_inquiry(client)
        operator_reply(signed_in(Role.AGENT), inquiry, "解決しました。", next_status="resolved")
    before = len(mails_to(inquiry.email))
    assert run_at(jst(2026, 12, 11, 10)).completed == 0  # 4 business days
    assert run_at(jst(2026, 12, 14, 20)).completed == 1  # 5: no mail, so outside hours too
    assert status_of(db, inquiry) is S.CLOSED
    assert len(mails_to(inquiry.email)) == before


@pytest.mark.live_smtp
def test_the_reminder_reaches_the_requester_over_smtp(asked, db, smtp_server) -> None:
    with time_machine.travel(jst(2026, 12, 10, 10), tick=False):
        deliver_due()  # the acknowledgement and the question
        smtp_server.messages.clear()
        sweep()
        assert deliver_due().sent == 1
    [message] = smtp_server.messages
    assert message["To"] == asked.email
    assert REMINDER in message["Subject"]
    assert "/inquiry/status/" in smtp_server.text_of(message)


def test_two_sweeps_at_once_send_one_reminder(app, asked, db, database_url) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("concurrent sweeps need PostgreSQL (SQLite serialises writers)")
    barrier = threading.Barrier(4)
    reports = []

    def run() -> None:
        with app.app_context():
            barrier.wait()
            reports.append(sweep(now=jst(2026, 12, 10, 10)))

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(r.reminded for r in reports) == 1
    assert len([s for s in subjects(asked.email) if REMINDER in s]) == 1
