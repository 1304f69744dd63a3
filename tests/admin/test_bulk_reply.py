"""まとめて回答する: one reply to many tickets makes one mail and one history entry per ticket, each
mail to its own requester; a ticket changed meanwhile or finished is refused by 受付番号, and sending
the same form twice replies once."""

import re
import threading

import pytest
import sqlalchemy as sa

from backoffice.inquiries import replies, triage
from backoffice.inquiries.models import Inquiry, InquiryEvent
from backoffice.inquiries.vocabulary import EventKind, InquiryStatus
from backoffice.mail.models import OutboundEmail
from backoffice.mail.outbox import readable
from backoffice.operators.models import Role
from backoffice.operators.operations import OperatorActor
from tests.builders.inquiries import make_inquiry, seed_tree
from tests.builders.web import csrf_token

S = InquiryStatus
BODY = "電子請求受付システムは12時に復旧しました。お手数ですが、もう一度お試しください。"


def _tickets(client, n: int) -> list[Inquiry]:
    seed_tree()
    return [
        make_inquiry(
            client,
            name=f"依頼者　{i}",
            email=f"r{i}@x.example.jp",
            email_confirm=f"r{i}@x.example.jp",
        )
        for i in range(n)
    ]


def _open(agent, tickets: list[Inquiry]):
    listing = agent.get("/admin/tickets/")
    step = agent.post(
        "/admin/tickets/action/",
        data={
            "csrf_token": csrf_token(listing.text),
            "action": "reply_all",
            "rowid": [str(t.id) for t in tickets],
        },
    )
    assert step.status_code == 302
    return agent.get(step.location)


def _fields(page: str) -> dict[str, str]:
    seen = re.search(r'name="tickets" type="hidden" value="([^"]*)"', page).group(1)
    return {"csrf_token": csrf_token(page), "tickets": seen}


def _replies(db) -> list[OutboundEmail]:
    return db.session.scalars(
        sa.select(OutboundEmail).where(OutboundEmail.subject.contains("お問い合わせへの回答"))
    ).all()


def test_one_mail_and_one_history_entry_per_ticket(signed_in, client, db) -> None:
    tickets = _tickets(client, 3)
    agent = signed_in(Role.AGENT)
    page = _open(agent, tickets)
    assert "選んだ3件のお問い合わせに同じ回答を送ります" in page.text
    preview = agent.post(
        "/admin/tickets/bulk/reply",
        data={**_fields(page.text), "body": BODY, "next_status": "answered", "preview": "1"},
    )
    assert "依頼者 0 様" in preview.text
    assert BODY in preview.text
    assert _replies(db) == []  # a preview sends nothing
    sent = agent.post(
        "/admin/tickets/bulk/reply",
        data={**_fields(page.text), "body": BODY, "next_status": "answered"},
        follow_redirects=True,
    )
    assert "3件のお問い合わせに回答しました" in sent.text
    mails = _replies(db)
    assert sorted(m.to_address for m in mails) == [f"r{i}@x.example.jp" for i in range(3)]
    for mail in mails:
        text = readable(mail)[0]
        ticket = db.session.get(Inquiry, mail.inquiry_id)
        assert f"{ticket.requester_name} 様" in text
        assert BODY in text
        assert ticket.reference_number in mail.subject
        assert ticket.status is S.ANSWERED
        replies = db.session.scalars(
            sa.select(InquiryEvent).where(
                InquiryEvent.inquiry_id == ticket.id, InquiryEvent.kind == EventKind.PUBLIC_REPLY
            )
        ).all()
        assert [r.body for r in replies] == [BODY]

    # The same form sent again (a double click, the back button) replies to nobody.
    again = agent.post(
        "/admin/tickets/bulk/reply",
        data={**_fields(page.text), "body": BODY, "next_status": "answered"},
        follow_redirects=True,
    )
    assert "表示したあとに更新されたため、回答しませんでした。" in again.text
    assert len(_replies(db)) == 3


def test_changed_and_finished_tickets_are_refused_the_others_replied(signed_in, client, db) -> None:
    changed, closed, fine = _tickets(client, 3)
    agent = signed_in(Role.AGENT)
    actor = OperatorActor.of(agent.operator)
    triage.update_inquiry(
        closed.id, triage.InquiryChanges(status=S.REJECTED), actor, expected_version=closed.version
    )
    page = _open(agent, [changed, closed, fine])
    triage.add_note(changed.id, "電話で案内済み", actor)  # no version change: notes never conflict
    triage.update_inquiry(
        changed.id,
        triage.InquiryChanges(status=S.IN_PROGRESS),
        actor,
        expected_version=db.session.get(Inquiry, changed.id).version,
    )
    sent = agent.post(
        "/admin/tickets/bulk/reply",
        data={**_fields(page.text), "body": BODY, "next_status": "waiting"},
        follow_redirects=True,
    )
    assert "1件のお問い合わせに回答しました" in sent.text
    assert f"{changed.reference_number}：表示したあとに更新されたため" in sent.text
    assert (
        f"{closed.reference_number}：「却下」のお問い合わせは、回答後に「依頼者の回答待ち」"
        in sent.text
    )
    assert [m.inquiry_id for m in _replies(db)] == [fine.id]
    assert db.session.get(Inquiry, fine.id).status is S.WAITING


def test_an_empty_reply_is_refused_before_any_ticket(signed_in, client, db) -> None:
    tickets = _tickets(client, 2)
    agent = signed_in(Role.AGENT)
    page = _open(agent, tickets)
    refused = agent.post(
        "/admin/tickets/bulk/reply",
        data={**_fields(page.text), "body": "　", "next_status": "answered"},
    )
    assert refused.status_code == 422
    assert 'id="err-body">＊回答内容を入力してください。' in refused.text
    assert _replies(db) == []


def test_viewers_cannot_reply_in_bulk(signed_in, client) -> None:
    tickets = _tickets(client, 1)
    viewer = signed_in(Role.VIEWER)
    assert viewer.get(f"/admin/tickets/bulk/reply?ids={tickets[0].id}").status_code == 403


def test_two_sends_of_the_same_form_at_once_reply_once(
    signed_in, client, db, app, database_url
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("concurrent requests need PostgreSQL (SQLite serialises writers)")
    tickets = _tickets(client, 2)
    agent = signed_in(Role.AGENT)
    fields = {**_fields(_open(agent, tickets).text), "body": BODY, "next_status": "answered"}
    # The same browser session twice: one test client per thread.
    twin = app.test_client()
    with agent.session_transaction() as kept, twin.session_transaction() as copied:
        copied.update(dict(kept))
    barrier = threading.Barrier(2)
    codes = []

    def send(browser) -> None:
        barrier.wait()
        codes.append(browser.post("/admin/tickets/bulk/reply", data=fields).status_code)

    threads = [threading.Thread(target=send, args=(b,)) for b in (agent, twin)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert codes == [302, 302]
    assert sorted(m.inquiry_id for m in _replies(db)) == sorted(t.id for t in tickets)


def test_a_second_send_to_an_answered_ticket_replies_once(signed_in, client, db) -> None:
    # 回答済 → 回答済 changes no status: the reply itself must make the page's versions stale.
    [ticket] = _tickets(client, 1)
    agent = signed_in(Role.AGENT)
    replies.reply(
        ticket.id,
        "最初の回答",
        OperatorActor.of(agent.operator),
        expected_version=ticket.version,
        next_status=S.ANSWERED,
    )
    page = _open(agent, [ticket])
    fields = {**_fields(page.text), "body": BODY, "next_status": "answered"}
    for _ in range(2):
        agent.post("/admin/tickets/bulk/reply", data=fields)
    bodies = db.session.scalars(
        sa.select(InquiryEvent.body).where(InquiryEvent.kind == EventKind.PUBLIC_REPLY)
    ).all()
    assert bodies == ["最初の回答", BODY]
    assert len(_replies(db)) == 2


@pytest.mark.parametrize("ids", ["²", "99999999999999999999", "1,,x", "-1"])
def test_odd_ids_are_left_out_not_a_500(signed_in, client, ids) -> None:
    _tickets(client, 1)
    agent = signed_in(Role.AGENT)
    page = agent.get(f"/admin/tickets/bulk/reply?ids={ids}")
    assert page.status_code == 200
    posted = agent.post(
        "/admin/tickets/bulk/reply",
        data={"csrf_token": csrf_token(page.text), "tickets": f"{ids}:1", "body": BODY},
    )
    assert posted.status_code in (200, 422)


def test_more_than_a_page_of_tickets_is_refused(signed_in, client, db) -> None:
    tickets = _tickets(client, 1)
    agent = signed_in(Role.AGENT)
    page = _open(agent, tickets)
    many = ",".join(f"{i}:1" for i in range(1, 102))
    refused = agent.post(
        "/admin/tickets/bulk/reply",
        data={"csrf_token": csrf_token(page.text), "tickets": many, "body": BODY},
    )
    assert refused.status_code == 422
    assert "一度に回答できるのは100件までです。" in refused.text
    assert _replies(db) == []


def test_the_preview_is_of_a_ticket_that_takes_the_status_and_a_bad_status_is_said(
    signed_in, client, db
) -> None:
    closed, fine = _tickets(client, 2)
    agent = signed_in(Role.AGENT)
    triage.update_inquiry(
        closed.id,
        triage.InquiryChanges(status=S.REJECTED),
        OperatorActor.of(agent.operator),
        expected_version=closed.version,
    )
    page = _open(agent, [closed, fine])
    preview = agent.post(
        "/admin/tickets/bulk/reply",
        data={**_fields(page.text), "body": BODY, "next_status": "answered", "preview": "1"},
    )
    assert f"{fine.reference_number}あて" in preview.text
    bad = agent.post(
        "/admin/tickets/bulk/reply",
        data={**_fields(page.text), "body": BODY, "next_status": "closed"},
    )
    assert bad.status_code == 422
    assert 'id="err-next_status">＊回答後のステータスを選び直してください。' in bad.text
    assert _replies(db) == []
