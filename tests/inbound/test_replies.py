"""Replies by mail land on their ticket once, as a web answer does; nothing answers them."""

from email.mime.text import MIMEText

import pytest
import sqlalchemy as sa

from backoffice import sealing
from backoffice.extensions import db
from backoffice.inbound.models import InboundSource, InboundState
from backoffice.inbound.receive import receive
from backoffice.inquiries.vocabulary import InquiryStatus
from backoffice.mail.delivery import message_id
from backoffice.mail.models import EmailStatus, OutboundEmail
from backoffice.operators.models import Role
from tests.builders.inquiries import make_inquiry
from tests.conversation.helpers import operator_reply
from tests.inbound.helpers import bounce, inbound_rows, last_mail_to, mail_messages, reply


def _asked(signed_in, inquiry):
    agent = signed_in(Role.AGENT)
    operator_reply(agent, inquiry, "ワンタイムパスワードのメールは届きましたか。", "waiting")
    db.session.refresh(inquiry)
    assert inquiry.status is InquiryStatus.WAITING
    return last_mail_to(inquiry)


def _outbox_count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(OutboundEmail))


def test_an_iso_2022_jp_reply_piped_twice_lands_once_without_the_quote(
    runner, signed_in, inquiry
) -> None:
    asked = _asked(signed_in, inquiry)
    assert asked.reply_to.startswith("support+")
    assert inquiry.reply_token in asked.reply_to
    raw = reply(asked, "お世話になっております。\n迷惑メールのフォルダに届いていました。①㈱")
    sent_before = _outbox_count()

    first = runner.invoke(args=["mail", "receive"], input=raw)
    second = runner.invoke(args=["mail", "receive"], input=raw)

    assert first.exit_code == 0, first.output
    assert "appended" in first.output
    assert "received before" in second.output
    [message] = mail_messages(inquiry)
    assert message.body == "お世話になっております。\n迷惑メールのフォルダに届いていました。①㈱"
    db.session.refresh(inquiry)
    assert inquiry.status is InquiryStatus.IN_PROGRESS  # back to work, as from the status page
    assert inquiry.requester_replied_at is not None
    assert _outbox_count() == sent_before  # a mail reply is not acknowledged by mail
    [row] = inbound_rows()
    assert row.state is InboundState.APPENDED
    assert row.inquiry_id == inquiry.id


def _receive(raw: bytes, **kwargs):
    return receive(raw, InboundSource.PIPE, **kwargs)


def test_an_auto_reply_changes_nothing_and_gets_no_answer(signed_in, inquiry) -> None:
    asked = _asked(signed_in, inquiry)
    sent_before = _outbox_count()
    raw = reply(
        asked,
        "ただいま不在にしております。12月3日以降に対応いたします。",
        headers={"Auto-Submitted": "auto-replied", "X-Autoreply": "yes"},
    )

    received = _receive(raw)

    assert received.state is InboundState.AUTOMATIC
    db.session.refresh(inquiry)
    assert inquiry.status is InquiryStatus.WAITING  # not back to work
    assert inquiry.requester_replied_at is None
    assert mail_messages(inquiry) == []
    assert _outbox_count() == sent_before
    assert inquiry.events[-1].kind.value == "mail_auto_reply"


@pytest.mark.parametrize(
    "headers",
    [
        {"Precedence": "bulk"},
        {"X-Auto-Response-Suppress": "OOF"},
        {"List-Id": "<news.example.com>"},
        {"Return-Path": "<>"},
    ],
)
def test_every_kind_of_automatic_mail_is_recorded_and_not_appended(
    signed_in, inquiry, headers
) -> None:
    asked = _asked(signed_in, inquiry)
    assert _receive(reply(asked, "自動送信", headers=headers)).state is InboundState.AUTOMATIC
    assert mail_messages(inquiry) == []


def test_a_bounce_marks_the_mail_it_answers_and_shows_on_the_ticket(signed_in, inquiry) -> None:

    asked = _asked(signed_in, inquiry)
    sent_before = _outbox_count()

    received = _receive(bounce(asked))

    assert received.state is InboundState.BOUNCE
    db.session.refresh(asked)
    assert asked.status is EmailStatus.BOUNCED
    assert "5.1.1" in asked.bounce_detail
    db.session.refresh(inquiry)
    assert inquiry.events[-1].kind.value == "mail_bounced"
    assert inquiry.status is InquiryStatus.WAITING
    assert _outbox_count() == sent_before  # nothing ever answers an automatic mail


def test_a_delay_report_does_not_mark_the_mail(signed_in, inquiry) -> None:

    asked = _asked(signed_in, inquiry)
    received = _receive(bounce(asked, status="4.4.1"))
    assert received.state is InboundState.BOUNCE
    db.session.refresh(asked)
    assert asked.status is not EmailStatus.BOUNCED


def test_a_bounce_address_with_a_forged_mac_marks_nothing(signed_in, inquiry) -> None:

    asked = _asked(signed_in, inquiry)
    forged = f"support+bounce-{asked.id}-aaaaaaaaaa@kaigo-portal.example.jp"
    _receive(bounce(asked, to=forged, original=False))
    db.session.refresh(asked)
    assert asked.status is not EmailStatus.BOUNCED


def test_a_strangers_mail_waits_unmatched_and_is_not_answered(client, inquiry) -> None:
    message = MIMEText("ポータルの使い方を教えてください。", "plain", "utf-8")
    message["From"] = "someone@example.net"
    message["To"] = "support@kaigo-portal.example.jp"
    message["Subject"] = "質問"
    message["Message-ID"] = "<stranger-1@example.net>"
    sent_before = _outbox_count()

    received = _receive(message.as_bytes())

    assert received.state is InboundState.UNMATCHED
    [row] = inbound_rows()
    assert row.reason == "no_token"
    assert row.inquiry_id is None
    assert _outbox_count() == sent_before


def test_a_reply_from_another_address_is_held_for_an_operator(signed_in, inquiry) -> None:
    asked = _asked(signed_in, inquiry)
    received = _receive(reply(asked, "代わりに返信します。", sender="other@example.org"))
    assert received.state is InboundState.HELD
    assert mail_messages(inquiry) == []
    db.session.refresh(inquiry)
    assert inquiry.status is InquiryStatus.WAITING
    assert inquiry.events[-1].kind.value == "mail_held"


def test_the_token_decides_and_a_forged_in_reply_to_is_flagged(client, signed_in, inquiry) -> None:
    other = make_inquiry(client, email="other@example.org", email_confirm="other@example.org")
    asked = _asked(signed_in, inquiry)
    other_mail = last_mail_to(other)
    raw = reply(asked, "返信です。", headers={})
    raw = raw.replace(
        f"In-Reply-To: {message_id(asked)}".encode(),
        f"In-Reply-To: {message_id(other_mail)}".encode(),
    )

    assert _receive(raw).state is InboundState.APPENDED
    [row] = inbound_rows()
    assert row.inquiry_id == inquiry.id
    assert row.header_inquiry_id == other.id
    assert "header_mismatch" in row.flags
    assert mail_messages(other) == []


def test_headers_alone_never_decide_the_ticket(signed_in, inquiry) -> None:
    asked = _asked(signed_in, inquiry)
    raw = reply(asked, "返信です。", to="support@kaigo-portal.example.jp")
    assert _receive(raw).state is InboundState.UNMATCHED
    [row] = inbound_rows()
    assert row.header_inquiry_id == inquiry.id  # only suggested to the operator
    assert mail_messages(inquiry) == []


def test_a_reply_to_a_finished_ticket_starts_a_linked_one_without_a_mail(
    signed_in, inquiry
) -> None:
    asked = _asked(signed_in, inquiry)
    inquiry.status = InquiryStatus.CLOSED
    db.session.commit()
    sent_before = _outbox_count()

    assert _receive(reply(asked, "また教えてください。")).state is InboundState.APPENDED

    [row] = inbound_rows()
    assert row.inquiry.previous_id == inquiry.id
    assert row.inquiry.body == "また教えてください。"
    assert _outbox_count() == sent_before


def test_a_sender_who_writes_too_often_is_throttled(app, signed_in, inquiry) -> None:
    app.config["INBOUND_SENDER_HOURLY_LIMIT"] = 3
    asked = _asked(signed_in, inquiry)
    states = [_receive(reply(asked, f"{n}回目の返信")).state for n in range(5)]
    assert states == [InboundState.APPENDED] * 3 + [InboundState.THROTTLED] * 2
    assert len(mail_messages(inquiry)) == 3


def test_the_status_link_quoted_back_is_not_kept_in_clear(signed_in, inquiry) -> None:
    asked = _asked(signed_in, inquiry)
    _receive(reply(asked, "届きました。"))
    [row] = inbound_rows()
    token_part = "/inquiry/status/"
    assert token_part + "（省略）" in row.full_text
    assert (
        inquiry.status_token_sealed is None
        or sealing.unseal(sealing.STATUS_TOKEN, inquiry.status_token_sealed) not in row.full_text
    )
    assert b"/inquiry/status/" not in row.raw_sealed  # sealed at rest


def test_a_message_our_code_fails_on_is_kept_for_an_operator(
    monkeypatch, signed_in, inquiry
) -> None:
    from backoffice.inbound import receive as receive_module

    asked = _asked(signed_in, inquiry)

    def broken(*args, **kwargs):
        raise ValueError("a bug on one odd message")

    monkeypatch.setattr(receive_module, "_route", broken)
    received = _receive(reply(asked, "届きました。"))
    assert received.state is InboundState.FAILED
    assert received.unreadable  # the fetcher moves it to the error folder and goes on
    [row] = inbound_rows()
    assert row.reason == "processing_error"
    assert mail_messages(inquiry) == []


def test_originals_are_resealed_under_a_new_key(app, runner, signed_in, inquiry) -> None:
    asked = _asked(signed_in, inquiry)
    raw = reply(asked, "届きました。")
    _receive(raw)
    app.config["SECRET_KEY_FALLBACKS"] = [app.config["SECRET_KEY"]]
    app.config["SECRET_KEY"] = "a-new-secret-key"
    result = runner.invoke(args=["mail", "reseal"])
    assert "inbound originals resealed: 1" in result.output
    app.config["SECRET_KEY_FALLBACKS"] = []
    [row] = inbound_rows()
    assert sealing.unseal_bytes(sealing.INBOUND_RAW, row.raw_sealed) == raw


def test_a_reply_to_a_merged_tickets_address_lands_on_the_survivor(
    client, signed_in, inquiry
) -> None:
    from backoffice.inquiries import merging
    from backoffice.operators.operations import OperatorActor

    asked = _asked(signed_in, inquiry)
    survivor = make_inquiry(client, body="同じ件で再度ご連絡します。")
    agent = OperatorActor.of(signed_in(Role.AGENT).operator)
    merging.merge(inquiry.id, survivor.reference_number, agent, expected_version=inquiry.version)

    received = _receive(reply(asked, "迷惑メールのフォルダに届いていました。"))

    assert received.state is InboundState.APPENDED
    assert inbound_rows()[-1].inquiry_id == survivor.id
    assert [m.body for m in mail_messages(survivor)] == ["迷惑メールのフォルダに届いていました。"]
