"""Replies by mail land on their ticket once, as a web answer does; nothing answers them."""

import sqlalchemy as sa

from backoffice.extensions import db
from backoffice.inbound.models import InboundState
from backoffice.inquiries.models import InquiryStatus
from backoffice.mail.models import OutboundEmail
from backoffice.operators.models import Role
from tests.conversation.helpers import operator_reply
from tests.inbound.helpers import inbound_rows, last_mail_to, mail_messages, reply


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
