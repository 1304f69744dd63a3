"""What strangers, loops and odd mail programs must not be able to do with inbound mail."""

from email.mime.text import MIMEText

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import OperationalError

from backoffice import sealing
from backoffice.extensions import db
from backoffice.inbound.models import InboundEmail, InboundSource, InboundState
from backoffice.inbound.parsing import decode_text
from backoffice.inbound.receive import receive
from backoffice.inquiries import links
from backoffice.inquiries.actors import SWEEP
from backoffice.inquiries.models import Inquiry, InquiryEvent
from backoffice.inquiries.vocabulary import EventKind, InquiryStatus
from backoffice.mail.models import EmailStatus
from backoffice.operators.models import Role
from tests.conversation.helpers import operator_reply
from tests.inbound.helpers import bounce, inbound_rows, last_mail_to, mail_messages, reply


def _asked(signed_in, inquiry):
    operator_reply(signed_in(Role.AGENT), inquiry, "ご確認ください。", "waiting")
    return last_mail_to(inquiry)


def _receive(raw: bytes, **kwargs):
    return receive(raw, InboundSource.PIPE, **kwargs)


def _history(inquiry: Inquiry, kind: EventKind) -> int:
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(InquiryEvent)
        .where(InquiryEvent.inquiry_id == inquiry.id, InquiryEvent.kind == kind)
    )


def test_replies_to_a_finished_ticket_go_on_one_follow_up(signed_in, inquiry) -> None:
    asked = _asked(signed_in, inquiry)
    inquiry.status = InquiryStatus.CLOSED
    db.session.commit()
    _receive(reply(asked, "一通目です。"))
    _receive(reply(asked, "二通目です。"))
    follow_ups = db.session.scalars(
        sa.select(Inquiry).where(Inquiry.previous_id == inquiry.id)
    ).all()
    assert len(follow_ups) == 1
    assert follow_ups[0].body == "一通目です。"
    assert [m.body for m in mail_messages(follow_ups[0])] == ["二通目です。"]


def test_a_flood_from_a_stranger_stops_adding_history_to_the_ticket(
    app, signed_in, inquiry
) -> None:
    app.config["INBOUND_SENDER_HOURLY_LIMIT"] = 3
    asked = _asked(signed_in, inquiry)
    states = [_receive(reply(asked, f"{n}", sender="flood@example.org")).state for n in range(6)]
    assert states == [InboundState.HELD] * 3 + [InboundState.THROTTLED] * 3
    assert _history(inquiry, EventKind.MAIL_HELD) == 3


def test_an_auto_responder_loop_is_throttled_without_history(app, signed_in, inquiry) -> None:
    app.config["INBOUND_SENDER_HOURLY_LIMIT"] = 2
    asked = _asked(signed_in, inquiry)
    for n in range(5):
        _receive(reply(asked, f"不在です{n}", headers={"Auto-Submitted": "auto-replied"}))
    assert _history(inquiry, EventKind.MAIL_AUTO_REPLY) == 2
    assert [r.state for r in inbound_rows()].count(InboundState.THROTTLED) == 3


def test_a_report_without_the_verp_address_marks_nothing(signed_in, inquiry) -> None:
    asked = _asked(signed_in, inquiry)
    # Anyone holding our mail could write this: it names our Message-ID, but not to its VERP address.
    received = _receive(bounce(asked, to="support@kaigo-portal.example.jp"))
    assert received.state is InboundState.BOUNCE
    [row] = inbound_rows()
    assert row.reason == "unverified"
    assert row.inquiry_id == inquiry.id
    db.session.refresh(asked)
    assert asked.status is EmailStatus.SENT or asked.status is EmailStatus.QUEUED


def test_a_bounce_about_another_recipient_does_not_mark_the_requesters_mail(
    signed_in, inquiry
) -> None:
    asked = _asked(signed_in, inquiry)
    forwarded = (
        bounce(asked)
        .replace(
            f"Final-Recipient: rfc822; {asked.to_address}".encode(),
            b"Final-Recipient: rfc822; forward-target@example.net",
        )
        .replace(
            f"Original-Recipient: rfc822;{asked.to_address}".encode(),
            b"Original-Recipient: rfc822;forward-target@example.net",
        )
        .replace(
            f"<{asked.to_address}>: Recipient".encode(), b"<forward-target@example.net>: Recipient"
        )
    )
    _receive(forwarded)
    [row] = inbound_rows()
    assert row.reason == "other_recipient"
    db.session.refresh(asked)
    assert asked.status is not EmailStatus.BOUNCED


def test_a_mail_without_message_id_piped_and_fetched_is_one_message(signed_in, inquiry) -> None:
    asked = _asked(signed_in, inquiry)
    raw = reply(asked, "Message-IDのないメールです。")
    raw = b"\n".join(line for line in raw.split(b"\n") if not line.startswith(b"Message-ID:"))
    piped = raw.replace(b"\r\n", b"\n")
    fetched = (
        b"Received: from mx.example.com by imap.example.jp; Tue, 1 Dec 2026 10:00:00 +0900\r\n"
        + b"Delivered-To: support@kaigo-portal.example.jp\r\n"
        + raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    )
    first, second = _receive(piped), receive(fetched, InboundSource.IMAP)
    assert not first.duplicate
    assert second.duplicate
    assert len(mail_messages(inquiry)) == 1


def test_the_tickets_own_status_token_is_never_kept_even_when_wrapped(signed_in, inquiry) -> None:
    asked = _asked(signed_in, inquiry)
    token = sealing.unseal(sealing.STATUS_TOKEN, inquiry.status_token_sealed)
    # A mail program that broke the link in two: the path pattern no longer matches, the token does.
    text = f"このURLで合っていますか。\nhttp://localhost/inquiry/\nstatus/{token}"
    _receive(reply(asked, text, quote=False))
    [row] = inbound_rows()
    assert token not in row.body_text
    assert token not in row.full_text
    [message] = mail_messages(inquiry)
    assert token not in message.body


def test_a_reissued_link_retires_the_old_reply_address(signed_in, inquiry) -> None:
    asked = _asked(signed_in, inquiry)
    old_token = inquiry.reply_token
    links.revoke(inquiry.id, SWEEP)
    db.session.refresh(inquiry)
    assert inquiry.reply_token != old_token
    assert _receive(reply(asked, "古いアドレスへの返信")).state is InboundState.UNMATCHED
    assert last_mail_to(inquiry).reply_to.startswith(f"support+{inquiry.reply_token}@")


def test_a_database_failure_leaves_the_session_usable_for_the_next_message(
    monkeypatch, signed_in, inquiry
) -> None:
    asked = _asked(signed_in, inquiry)
    real_commit = db.session.commit
    calls = {"n": 0}

    def failing_commit() -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            db.session.flush()
            raise OperationalError("COMMIT", {}, Exception("server closed the connection"))
        real_commit()

    monkeypatch.setattr(db.session, "commit", failing_commit)
    with pytest.raises(OperationalError):
        _receive(reply(asked, "一度目は失敗します。"))
    monkeypatch.setattr(db.session, "commit", real_commit)
    assert _receive(reply(asked, "二度目は届きます。")).state is InboundState.APPENDED
    assert [m.body for m in mail_messages(inquiry)] == ["二度目は届きます。"]


def test_eucjp_as_windows_writes_it_keeps_the_ibm_characters() -> None:
    # 髙 in the NEC-selected IBM rows, as CP51932/eucJP-ms write it; EUC-JIS-2004 would read 郄.
    assert decode_text(b"\xfc\xe2" + "橋".encode("euc_jp"), "EUC-JP") == "髙橋"
    assert decode_text(b"\x8e\xb1", "EUC-JP") == "ｱ"


def test_the_piped_message_over_the_limit_goes_back_to_the_sender(app, runner, db) -> None:
    app.config["INBOUND_MAX_BYTES"] = 500
    message = MIMEText("あ" * 1000, "plain", "utf-8")
    message["From"] = "big@example.com"
    message["Message-ID"] = "<big-pipe@example.com>"
    raw = message.as_bytes().replace(b"\r\n", b"\n")
    result = runner.invoke(args=["mail", "receive"], input=raw)
    assert result.exit_code == 65  # EX_DATAERR: the MTA returns it, saying why
    [row] = db.session.scalars(sa.select(InboundEmail)).all()
    assert row.reason == "too_large"
    assert b"\xe3\x81\x82" not in sealing.unseal_bytes(sealing.INBOUND_RAW, row.raw_sealed)


def test_an_operator_cannot_file_a_mail_onto_a_spam_ticket(signed_in, inquiry) -> None:
    from backoffice.inbound import filing
    from backoffice.operators.operations import OperatorActor

    stranger = MIMEText("宣伝です", "plain", "utf-8")
    stranger["From"] = "ad@example.net"
    stranger["Message-ID"] = "<ad-1@example.net>"
    row = _receive(stranger.as_bytes())
    inquiry.status = InquiryStatus.SPAM
    db.session.commit()
    agent = signed_in(Role.AGENT)
    from backoffice.operators.models import Operator

    operator = db.session.scalars(sa.select(Operator)).first()
    with pytest.raises(filing.UnknownTicket, match="スパム"):
        filing.file_to_ticket(row.inbound_id, inquiry.reference_number, OperatorActor.of(operator))
    assert db.session.get(InboundEmail, row.inbound_id).state is InboundState.UNMATCHED
    assert agent is not None


def test_mail_taken_for_an_auto_reply_can_still_be_filed(signed_in, inquiry) -> None:
    from backoffice.inbound import filing
    from backoffice.operators.models import Operator
    from backoffice.operators.operations import OperatorActor

    asked = _asked(signed_in, inquiry)
    # A person's reply that carries Outlook's suppression header: read as automatic.
    row = _receive(reply(asked, "本当の返信です。", headers={"X-Auto-Response-Suppress": "All"}))
    assert row.state is InboundState.AUTOMATIC
    operator = db.session.scalars(sa.select(Operator)).first()
    filing.file_to_ticket(row.inbound_id, inquiry.reference_number, OperatorActor.of(operator))
    assert [m.body for m in mail_messages(inquiry)] == ["本当の返信です。"]
