"""Working on tickets: transitions, stale edits, replies by email, notes, bulk actions, dashboard."""

import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from backoffice.audit.models import AuditEvent
from backoffice.db import utcnow
from backoffice.inquiries import triage
from backoffice.inquiries.models import Inquiry
from backoffice.inquiries.vocabulary import EventKind, InquiryStatus, Priority
from backoffice.mail.models import OutboundEmail
from backoffice.mail.outbox import readable
from backoffice.operators.models import Role
from backoffice.operators.operations import OperatorActor
from tests.builders.inquiries import account_request_input, general_input, send
from tests.builders.operators import make_operator
from tests.builders.web import csrf_token

S = InquiryStatus


def ticket_form(inquiry: Inquiry, **overrides: str) -> dict[str, str]:
    data = {
        "ticket-status": inquiry.status.value,
        "ticket-assignee": str(inquiry.assignee_id) if inquiry.assignee_id else "none",
        "ticket-priority": inquiry.priority.value,
        "ticket-due_on": inquiry.due_on.isoformat() if inquiry.due_on else "",
        "ticket-version": str(inquiry.version),
    }
    data.update(overrides)
    return data


def post(client, inquiry: Inquiry, data: dict[str, str]):
    page = client.get(f"/admin/tickets/{inquiry.id}/")
    return client.post(
        f"/admin/tickets/{inquiry.id}/", data={"csrf_token": csrf_token(page.text), **data}
    )


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ([S.IN_PROGRESS, S.ANSWERED, S.RESOLVED, S.CLOSED], True),
        ([S.ON_HOLD, S.IN_PROGRESS, S.RESOLVED, S.IN_PROGRESS], True),  # reopening
        ([S.SPAM, S.NEW], True),
        ([S.REJECTED, S.IN_PROGRESS], True),
        ([S.CLOSED], False),
        ([S.RESOLVED, S.NEW], False),
        ([S.SPAM, S.RESOLVED], False),
        ([S.ANSWERED, S.ON_HOLD], False),
    ],
)
def test_status_moves_only_along_the_transition_map(inquiry, db, path, allowed: bool) -> None:
    actor = OperatorActor.of(make_operator(Role.AGENT))
    *steps, last = path
    for status in steps:
        triage.update_inquiry(
            inquiry.id,
            triage.InquiryChanges(status=status),
            actor,
            expected_version=inquiry.version,
        )
    if allowed:
        triage.update_inquiry(
            inquiry.id, triage.InquiryChanges(status=last), actor, expected_version=inquiry.version
        )
        assert inquiry.status is last
    else:
        before = inquiry.status
        with pytest.raises(triage.InvalidTransition, match="には変更できません"):
            triage.update_inquiry(
                inquiry.id,
                triage.InquiryChanges(status=last),
                actor,
                expected_version=inquiry.version,
            )
        db.session.refresh(inquiry)
        assert inquiry.status is before


def test_ticket_page_changes_status_assignee_priority_and_due_with_history(
    signed_in, inquiry, db
) -> None:
    client = signed_in(Role.AGENT)
    due = date(2027, 1, 8)
    response = post(
        client,
        inquiry,
        ticket_form(
            inquiry,
            **{
                "ticket-status": "in_progress",
                "ticket-assignee": str(client.operator.id),
                "ticket-priority": "high",
                "ticket-due_on": due.isoformat(),
            },
        ),
    )
    assert response.status_code == 302
    db.session.refresh(inquiry)
    assert (inquiry.status, inquiry.assignee_id, inquiry.priority, inquiry.due_on) == (
        S.IN_PROGRESS,
        client.operator.id,
        Priority.HIGH,
        due,
    )
    kinds = [(e.kind, e.old_value, e.new_value) for e in inquiry.events]
    assert (EventKind.STATUS_CHANGED, "new", "in_progress") in kinds
    assert (EventKind.ASSIGNED, None, client.operator.name) in kinds
    actions = set(db.session.scalars(sa.select(AuditEvent.action)))
    assert {
        "ticket.status_changed",
        "ticket.assigned",
        "ticket.priority_changed",
        "ticket.due_changed",
    } <= actions
    page = client.get(f"/admin/tickets/{inquiry.id}/")
    assert "ステータス：新規 → 対応中" in page.text


def test_invalid_move_on_the_page_is_refused_with_a_message(signed_in, inquiry, db) -> None:
    client = signed_in(Role.AGENT)
    triage.update_inquiry(
        inquiry.id,
        triage.InquiryChanges(status=S.SPAM),
        OperatorActor.of(client.operator),
        expected_version=inquiry.version,
    )
    response = post(client, inquiry, ticket_form(inquiry, **{"ticket-status": "resolved"}))
    # "resolved" is not even offered from スパム, so the form refuses it.
    assert response.status_code in (409, 422)
    db.session.refresh(inquiry)
    assert inquiry.status is S.SPAM


def test_the_second_of_two_edits_from_the_same_page_is_refused(signed_in, inquiry, db) -> None:
    first, second = signed_in(Role.AGENT), signed_in(Role.ADMIN)
    stale_form = ticket_form(inquiry)  # both opened the page at this version
    assert post(first, inquiry, {**stale_form, "ticket-status": "in_progress"}).status_code == 302
    refused = post(second, inquiry, {**stale_form, "ticket-priority": "urgent"})
    assert refused.status_code == 409
    assert "ほかの担当者がこのお問い合わせを更新しました" in refused.text
    db.session.refresh(inquiry)
    assert inquiry.status is S.IN_PROGRESS
    assert inquiry.priority is Priority.NORMAL


def test_concurrent_commits_cannot_both_win(inquiry, db, app) -> None:
    """The version column also guards two saves that passed the page check at the same moment."""
    actor = OperatorActor.of(make_operator(Role.AGENT))
    version = inquiry.version
    # Another worker saves first, behind this session's back.
    with db.engine.begin() as connection:
        connection.execute(
            sa.update(Inquiry)
            .where(Inquiry.id == inquiry.id)
            .values(version=version + 1, status=S.ON_HOLD.value)
        )
    with pytest.raises(triage.StaleInquiry):
        triage.update_inquiry(
            inquiry.id,
            triage.InquiryChanges(priority=Priority.HIGH),
            actor,
            expected_version=version,
        )


@pytest.mark.live_smtp
def test_a_reply_reaches_the_requester_over_smtp_and_a_note_does_not(
    signed_in, inquiry, db, smtp_server, client
) -> None:
    operator_client = signed_in(Role.AGENT)
    smtp_server.messages.clear()  # the acknowledgement of the inquiry itself
    reply = post(
        operator_client,
        inquiry,
        {
            "reply-body": "パスワードの再設定をお試しください。",
            "reply-version": str(inquiry.version),
        },
    )
    assert reply.status_code == 302
    reply.close()  # delivery happens once the response has gone out
    note = post(operator_client, inquiry, {"note-body": "電話でも案内済み（内部）"})
    note.close()
    assert len(smtp_server.messages) == 1
    [message] = smtp_server.messages
    assert message["To"] == inquiry.email
    assert inquiry.reference_number in message["Subject"]
    assert "パスワードの再設定をお試しください。" in smtp_server.text_of(message)
    assert "電話でも案内済み" not in smtp_server.text_of(message)
    db.session.refresh(inquiry)
    assert inquiry.status is S.WAITING  # a reply asks by default
    assert inquiry.first_response_at is not None
    # The requester's status page shows the reply and not the note.
    ack = db.session.scalars(sa.select(OutboundEmail).order_by(OutboundEmail.id)).first()
    assert ack is not None


def test_reply_shows_on_the_status_page_and_empty_reply_is_refused(
    signed_in, inquiry, db, client
) -> None:
    link = re.search(
        r"(/inquiry/status/\S+)",
        readable(db.session.scalars(sa.select(OutboundEmail).order_by(OutboundEmail.id)).first())[
            0
        ],
    ).group(1)
    operator_client = signed_in(Role.AGENT)
    empty = post(
        operator_client, inquiry, {"reply-body": "  ", "reply-version": str(inquiry.version)}
    )
    assert empty.status_code in (409, 422)
    assert "＊回答内容を入力してください。" in empty.text
    post(
        operator_client,
        inquiry,
        {"reply-body": "回答いたします。", "reply-version": str(inquiry.version)},
    )
    post(operator_client, inquiry, {"note-body": "社内向けメモ"})
    status_page = client.get(link)
    assert "回答いたします。" in status_page.text
    assert "社内向けメモ" not in status_page.text
    assert "ご回答をお待ちしています" in status_page.text
    emails = db.session.scalars(sa.select(OutboundEmail.subject)).all()
    assert len(emails) == 2  # acknowledgement + reply; the note sent nothing


def test_canned_replies_are_offered_on_the_ticket_page(signed_in, inquiry, db) -> None:
    from backoffice.inquiries.canned import CannedReply

    db.session.add(CannedReply(title="再設定の案内", body="パスワード再設定の手順です。"))
    db.session.add(CannedReply(title="古い定型文", body="使わない", is_active=False))
    db.session.commit()
    page = signed_in(Role.AGENT).get(f"/admin/tickets/{inquiry.id}/")
    assert '<option value="パスワード再設定の手順です。">再設定の案内</option>' in page.text
    assert "古い定型文" not in page.text


def test_bulk_actions_follow_the_same_rules(signed_in, db, client) -> None:
    from tests.builders.inquiries import seed_tree

    seed_tree()
    for i in range(3):
        send(client, general_input(body=f"問い合わせ{i}"))
    tickets = db.session.scalars(sa.select(Inquiry).order_by(Inquiry.id)).all()
    agent = signed_in(Role.AGENT)
    token = csrf_token(agent.get("/admin/tickets/").text)
    ids = [str(t.id) for t in tickets]
    response = agent.post(
        "/admin/tickets/action/",
        data={"csrf_token": token, "action": "assign_me", "rowid": ids[:2]},
    )
    assert response.status_code == 302
    for t in tickets:
        db.session.refresh(t)
    assert [t.assignee_id for t in tickets] == [agent.operator.id, agent.operator.id, None]

    # 「ステータスを変更する…」: choose the status on the second page; closed tickets are refused.
    triage.update_inquiry(
        tickets[2].id,
        triage.InquiryChanges(status=S.RESOLVED),
        OperatorActor.of(agent.operator),
        expected_version=tickets[2].version,
    )
    step = agent.post(
        "/admin/tickets/action/",
        data={"csrf_token": token, "action": "change_status", "rowid": ids},
    )
    assert step.status_code == 302
    form_page = agent.get(step.headers["Location"])
    assert all(t.reference_number in form_page.text for t in tickets)
    done = agent.post(
        "/admin/tickets/bulk/?kind=status",
        data={"csrf_token": token, "ids": ",".join(ids), "target": "on_hold"},
        follow_redirects=True,
    )
    assert "2件のお問い合わせを更新しました。" in done.text
    assert (
        f"更新できませんでした：{tickets[2].reference_number}：「解決済」から「保留」には変更できません"
        in done.text
    )
    for t in tickets:
        db.session.refresh(t)
    assert [t.status for t in tickets] == [S.ON_HOLD, S.ON_HOLD, S.RESOLVED]

    spam = agent.post(
        "/admin/tickets/action/",
        data={"csrf_token": token, "action": "mark_spam", "rowid": ids[:1]},
    )
    assert spam.status_code == 302
    db.session.refresh(tickets[0])
    assert tickets[0].status is S.SPAM


def test_due_date_is_set_on_arrival_from_the_category_target(client, db) -> None:
    from backoffice.business_days import due_date
    from backoffice.display import to_jst
    from tests.builders.inquiries import seed_tree

    seed_tree()
    send(client, account_request_input())
    send(client, general_input())
    request, general = db.session.scalars(sa.select(Inquiry).order_by(Inquiry.id)).all()
    today = to_jst(utcnow()).date()
    assert request.due_on == due_date(today, 3)
    assert general.due_on == due_date(today, 5)


def test_dashboard_counts_link_to_the_filtered_list(signed_in, db, client) -> None:
    from tests.builders.inquiries import seed_tree

    seed_tree()
    send(client, account_request_input())
    send(client, general_input())
    late, _ = db.session.scalars(sa.select(Inquiry).order_by(Inquiry.id)).all()
    late.due_on = date.today() - timedelta(days=2)
    db.session.commit()
    viewer = signed_in(Role.VIEWER)
    page = viewer.get("/admin/").text
    by_label = {
        label: href.replace("&amp;", "&")
        for href, label in re.findall(r'<a href="([^"]+)">([^<]+)</a>', page)
    }
    new_list = viewer.get(by_label["新規"]).text
    assert late.reference_number in new_list
    overdue_list = viewer.get(by_label["期限切れ"]).text
    assert late.reference_number in overdue_list
    assert "（期限切れ）" in overdue_list
    requests_list = viewer.get(by_label["未完了のID発行申請"]).text
    assert late.reference_number in requests_list
    others = db.session.scalars(sa.select(Inquiry.reference_number).where(Inquiry.id != late.id))
    assert all(n not in requests_list for n in others)


def test_search_by_number_name_email_code_and_institution(signed_in, db, client) -> None:
    from tests.builders.inquiries import seed_tree

    seed_tree()
    send(client, account_request_input())
    send(client, general_input())
    request, general = db.session.scalars(sa.select(Inquiry).order_by(Inquiry.id)).all()
    viewer = signed_in(Role.VIEWER)
    for term, expected, unexpected in [
        (request.reference_number, request, general),
        ("山田", general, request),
        ("himawari.example.jp", general, request),
        ("0110113719", request, general),
        ("さくら在宅", request, general),
    ]:
        page = viewer.get("/admin/tickets/", query_string={"search": term}).text
        assert expected.reference_number in page, term
        assert unexpected.reference_number not in page, term
