"""The conversation on the web (issue: requesters answer on the status page): an operator asks, the
requester answers on the page, the ticket returns to work with the message once; finished tickets
start a linked follow-up; bad input keeps what was typed."""

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
import time_machine

from backoffice.audit.models import AuditEvent
from backoffice.business_days import add_business_days
from backoffice.display import to_jst
from backoffice.inquiries import triage
from backoffice.inquiries.models import Inquiry
from backoffice.inquiries.vocabulary import Channel, EventKind, InquiryStatus
from backoffice.mail.outbox import readable
from backoffice.operators.models import Role
from backoffice.operators.operations import OperatorActor
from tests.builders.web import csrf_token
from tests.conversation.helpers import (
    link_in,
    mails_to,
    message_key,
    operator_reply,
    requester_message,
)

S = InquiryStatus
QUESTION = "医療機関コードをご確認ください。"
ANSWER = "医療機関コードは 1310110049 です。"


def messages_of(db, inquiry: Inquiry) -> list[str]:
    db.session.expire_all()
    return [
        e.body
        for e in db.session.get(Inquiry, inquiry.id).events
        if e.kind is EventKind.REQUESTER_MESSAGE
    ]


def close(db, inquiry: Inquiry, actor: OperatorActor) -> None:
    """対応中 → 解決済 → 完了, as an operator would."""
    for status in (S.IN_PROGRESS, S.RESOLVED, S.CLOSED):
        db.session.refresh(inquiry)
        triage.update_inquiry(
            inquiry.id,
            triage.InquiryChanges(status=status),
            actor,
            expected_version=inquiry.version,
        )


def test_an_operator_asks_and_the_requester_answers_on_the_page_once(
    signed_in, inquiry, db, client
) -> None:
    operator = signed_in(Role.AGENT)
    assert operator_reply(operator, inquiry, QUESTION).status_code == 302
    db.session.refresh(inquiry)
    assert inquiry.status is S.WAITING

    reply_mail = mails_to(inquiry.email)[-1]
    assert "「追加で連絡する」から、ご回答をお送りください" in readable(reply_mail)[0]
    assert reply_mail.contains_secret  # it carries the bearer link
    link = link_in(reply_mail)
    assert link == link_in(mails_to(inquiry.email)[0])  # the same link as the acknowledgement

    page = client.get(link)
    assert "ご回答をお待ちしています" in page.text
    assert QUESTION in page.text
    assert "追加で連絡する" in page.text
    assert 'name="body"' in page.text
    key = message_key(page.text)

    sent = requester_message(client, link, ANSWER, key=key)
    assert sent.status_code == 302
    again = requester_message(client, link, ANSWER, key=key)  # Back and 送信 again
    assert again.status_code == 302
    assert "このご連絡は送信済みです" in client.get(link).text

    assert messages_of(db, inquiry) == [ANSWER]
    db.session.expire_all()
    inquiry = db.session.get(Inquiry, inquiry.id)
    assert inquiry.status is S.IN_PROGRESS
    assert inquiry.requester_replied_at is not None
    [message] = [e for e in inquiry.events if e.kind is EventKind.REQUESTER_MESSAGE]
    assert message.channel is Channel.WEB
    assert message.actor == "依頼者"
    acks = [m for m in mails_to(inquiry.email) if "追加のご連絡を受け付けました" in m.subject]
    assert len(acks) == 1
    assert (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "ticket.requester_message")
        )
        == 1
    )

    # On the operator's side: marked as new, until the next reply.
    ticket = operator.get(f"/admin/tickets/{inquiry.id}/").text
    assert "依頼者から返信あり" in ticket
    assert "依頼者からの連絡（対応状況ページ）" in ticket
    assert "新着" in ticket
    operator_reply(operator, inquiry, "確認しました。発行いたします。", next_status="answered")
    db.session.expire_all()
    inquiry = db.session.get(Inquiry, inquiry.id)
    assert inquiry.requester_replied_at is None
    assert inquiry.status is S.ANSWERED
    assert "新着" not in operator.get(f"/admin/tickets/{inquiry.id}/").text
    thread = client.get(link).text
    assert thread.index(QUESTION) < thread.index(ANSWER) < thread.index("発行いたします")


def test_an_empty_or_long_message_is_refused_in_japanese_and_keeps_the_text(
    app, inquiry, db, client
) -> None:
    link = link_in(mails_to(inquiry.email)[0])
    empty = requester_message(client, link, "   ")
    assert empty.status_code == 422
    assert "＊連絡内容を入力してください。" in empty.text
    limit = app.config["INQUIRY_BODY_MAX_LENGTH"]
    long = requester_message(client, link, "あ" * (limit + 1))
    assert long.status_code == 422
    assert f"＊連絡内容は{limit}文字以内で入力してください（現在{limit + 1}文字）。" in long.text
    assert "あ" * (limit + 1) in long.text
    assert messages_of(db, inquiry) == []


def test_a_message_without_a_valid_csrf_token_is_refused(inquiry, db, client) -> None:
    link = link_in(mails_to(inquiry.email)[0])
    page = client.get(link)
    refused = client.post(link, data={"message_key": message_key(page.text), "body": "こんにちは"})
    assert refused.status_code == 400
    assert messages_of(db, inquiry) == []


def test_an_unknown_token_finds_nothing(client, inquiry) -> None:
    assert client.get("/inquiry/status/not-a-token-at-all-xxxxxxxxxxxxxxxxxxx").status_code == 404
    page = client.get(link_in(mails_to(inquiry.email)[0]))
    token_post = client.post(
        "/inquiry/status/not-a-token-at-all-xxxxxxxxxxxxxxxxxxx",
        data={"csrf_token": csrf_token(page.text), "message_key": "k" * 43, "body": "x"},
    )
    assert token_post.status_code == 404


def test_a_message_on_a_finished_ticket_starts_a_linked_new_one(
    signed_in, inquiry, db, client
) -> None:
    actor = OperatorActor.of(signed_in(Role.AGENT).operator)
    close(db, inquiry, actor)
    link = link_in(mails_to(inquiry.email)[0])
    assert "新しいお問い合わせとして受け付けます" in client.get(link).text
    assert requester_message(client, link, "まだログインできません。").status_code == 302
    db.session.expire_all()
    new = db.session.scalars(sa.select(Inquiry).where(Inquiry.previous_id == inquiry.id)).one()
    assert new.status is S.NEW
    assert new.body == "まだログインできません。"
    assert new.reference_number != inquiry.reference_number
    assert new.email == inquiry.email
    assert new.requester_replied_at is not None
    assert db.session.get(Inquiry, inquiry.id).status is S.CLOSED
    notice = client.get(link).text
    assert f"新しいお問い合わせ（受付番号 {new.reference_number}）として受け付けました" in notice
    [mail] = [m for m in mails_to(inquiry.email) if new.reference_number in m.subject]
    assert f"受付番号 {inquiry.reference_number} のお問い合わせはすでに完了" in readable(mail)[0]
    new_link = link_in(mail)
    assert new_link != link
    assert new.reference_number in client.get(new_link).text


def test_a_resolved_ticket_reopens_within_the_window_and_not_after(
    app, signed_in, inquiry, db, client
) -> None:
    actor = OperatorActor.of(signed_in(Role.AGENT).operator)
    triage.update_inquiry(
        inquiry.id,
        triage.InquiryChanges(status=S.RESOLVED),
        actor,
        expected_version=inquiry.version,
    )
    link = link_in(mails_to(inquiry.email)[0])
    requester_message(client, link, "もう一つ質問があります。")
    db.session.expire_all()
    reopened = db.session.get(Inquiry, inquiry.id)
    assert reopened.status is S.IN_PROGRESS
    triage.update_inquiry(
        inquiry.id,
        triage.InquiryChanges(status=S.RESOLVED),
        actor,
        expected_version=reopened.version,
    )
    window = app.config["INQUIRY_REOPEN_BUSINESS_DAYS"]
    later = add_business_days(to_jst(datetime.now(UTC)).date(), window + 1)
    with time_machine.travel(datetime(later.year, later.month, later.day, 3, tzinfo=UTC)):
        requester_message(client, link, "別の件です。")
    db.session.expire_all()
    assert db.session.get(Inquiry, inquiry.id).status is S.RESOLVED
    follow_up = db.session.scalars(sa.select(Inquiry).where(Inquiry.previous_id == inquiry.id))
    assert [f.body for f in follow_up] == ["別の件です。"]


def test_the_due_date_stops_while_waiting_for_the_requester(signed_in, inquiry, db, client) -> None:
    operator = signed_in(Role.AGENT)
    operator_reply(operator, inquiry, QUESTION)
    db.session.refresh(inquiry)
    due = inquiry.due_on
    today = to_jst(datetime.now(UTC)).date()
    answer_day = add_business_days(today, 4)
    with time_machine.travel(
        datetime(answer_day.year, answer_day.month, answer_day.day, 3, tzinfo=UTC)
    ):
        requester_message(client, link_in(mails_to(inquiry.email)[0]), ANSWER)
    db.session.expire_all()
    assert db.session.get(Inquiry, inquiry.id).due_on == add_business_days(due, 4)


def test_a_ticket_from_before_sealed_tokens_gets_a_new_link_in_its_next_mail(
    signed_in, inquiry, db, client
) -> None:
    old_link = link_in(mails_to(inquiry.email)[0])
    inquiry.status_token_sealed = None  # as migration 0015 leaves older tickets
    db.session.commit()
    operator_reply(signed_in(Role.AGENT), inquiry, QUESTION)
    new_link = link_in(mails_to(inquiry.email)[-1])
    assert new_link != old_link
    assert client.get(new_link).status_code == 200
    assert client.get(old_link).status_code == 404


def test_status_tokens_survive_a_key_rotation_with_reseal(app, inquiry, db) -> None:
    from backoffice.inquiries import links

    link = link_in(mails_to(inquiry.email)[0])
    old = app.config["SECRET_KEY"]
    app.config.update(SECRET_KEY="a-new-key-" + "x" * 40, SECRET_KEY_FALLBACKS=[old])
    assert links.reseal_tokens() == 1
    app.config["SECRET_KEY_FALLBACKS"] = []
    db.session.expire_all()
    with app.test_request_context():
        assert links.status_url(db.session.get(Inquiry, inquiry.id)).endswith(link)


def test_a_token_sealed_under_a_dropped_key_is_replaced_in_the_next_mail(
    app, signed_in, inquiry, db, client
) -> None:
    old_link = link_in(mails_to(inquiry.email)[0])
    app.config.update(SECRET_KEY="a-new-key-" + "y" * 40, SECRET_KEY_FALLBACKS=[])
    assert operator_reply(signed_in(Role.AGENT), inquiry, QUESTION).status_code == 302
    new_link = link_in(mails_to(inquiry.email)[-1])
    assert new_link != old_link
    assert client.get(new_link).status_code == 200


@pytest.mark.parametrize(
    "app_overrides", [{"RATELIMIT_ENABLED": True, "INQUIRY_MESSAGE_LIMIT": "2 per 10 minutes"}]
)
def test_messages_are_limited_per_ip_address(inquiry, db, client) -> None:
    link = link_in(mails_to(inquiry.email)[0])
    statuses = [requester_message(client, link, f"連絡 {n}").status_code for n in range(3)]
    assert statuses == [302, 302, 429]
    assert len(messages_of(db, inquiry)) == 2


def test_answering_with_the_link_of_a_ticket_from_before_sealed_tokens_keeps_it(
    inquiry, db, client
) -> None:
    link = link_in(mails_to(inquiry.email)[0])
    inquiry.status_token_sealed = None  # as migration 0015 leaves older tickets
    db.session.commit()
    assert requester_message(client, link, ANSWER).status_code == 302
    assert client.get(link).status_code == 200
    assert link_in(mails_to(inquiry.email)[-1]) == link  # the acknowledgement carries the same link


def test_leaving_the_wait_on_the_ticket_page_keeps_the_moved_due_date(
    signed_in, inquiry, db
) -> None:
    operator = signed_in(Role.AGENT)
    operator_reply(operator, inquiry, QUESTION)
    db.session.refresh(inquiry)
    shown_due = inquiry.due_on
    later = add_business_days(to_jst(datetime.now(UTC)).date(), 3)
    with time_machine.travel(datetime(later.year, later.month, later.day, 3, tzinfo=UTC)):
        # What the ticket page's 「更新する」 sends: the new status, and the due date it showed.
        triage.update_inquiry(
            inquiry.id,
            triage.InquiryChanges(status=S.IN_PROGRESS, due_on=shown_due),
            OperatorActor.of(operator.operator),
            expected_version=inquiry.version,
        )
    db.session.expire_all()
    moved = db.session.get(Inquiry, inquiry.id)
    assert moved.status is S.IN_PROGRESS
    assert moved.due_on == add_business_days(shown_due, 3)
    assert not db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "ticket.due_changed")
    ).all()


def test_a_message_on_a_spam_ticket_is_dropped(signed_in, inquiry, db, client) -> None:
    actor = OperatorActor.of(signed_in(Role.AGENT).operator)
    triage.update_inquiry(
        inquiry.id, triage.InquiryChanges(status=S.SPAM), actor, expected_version=inquiry.version
    )
    before = len(mails_to(inquiry.email))
    link = link_in(mails_to(inquiry.email)[0])
    assert requester_message(client, link, "http://spam.example/").status_code == 302
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Inquiry)) == 1
    assert messages_of(db, inquiry) == []
    assert len(mails_to(inquiry.email)) == before


def test_the_page_key_may_be_long_but_not_too_long(inquiry, db, client) -> None:
    link = link_in(mails_to(inquiry.email)[0])
    assert requester_message(client, link, "一", key="k" * 56).status_code == 302
    refused = requester_message(client, link, "二", key="k" * 57)
    assert refused.status_code == 422
    assert "ページを読み込み直して" in refused.text
    assert messages_of(db, inquiry) == ["一"]


def test_a_repeated_send_to_a_finished_ticket_makes_one_follow_up(
    signed_in, inquiry, db, client
) -> None:
    actor = OperatorActor.of(signed_in(Role.AGENT).operator)
    close(db, inquiry, actor)
    link = link_in(mails_to(inquiry.email)[0])
    key = message_key(client.get(link).text)
    requester_message(client, link, "続きです。", key=key)
    requester_message(client, link, "続きです。", key=key)
    db.session.expire_all()
    assert (
        len(db.session.scalars(sa.select(Inquiry).where(Inquiry.previous_id == inquiry.id)).all())
        == 1
    )
