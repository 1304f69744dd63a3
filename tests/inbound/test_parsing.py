"""Reading what mail programs send: Japanese charsets, HTML, quotes, broken and hostile messages."""

from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText

import pytest

from backoffice.inbound.addresses import envelope_sender
from backoffice.inbound.models import InboundSource, InboundState
from backoffice.inbound.parsing import MailUnreadable, decode_text, parse
from backoffice.inbound.receive import receive
from backoffice.inbound.reply import REPLY_MARKER, trim
from backoffice.mail.delivery import deliver_due, message_id, thread_id
from backoffice.mail.outbox import readable
from backoffice.operators.models import Role
from tests.builders.inquiries import make_inquiry
from tests.conversation.helpers import operator_reply
from tests.inbound.helpers import inbound_rows, last_mail_to, mail_messages, reply


def _plain(text: str, charset: str, **headers: str) -> bytes:
    message = MIMEText(text, "plain", charset)
    message["From"] = headers.pop("From", "yamada@example.com")
    message["To"] = "support@kaigo-portal.example.jp"
    message["Subject"] = headers.pop("Subject", "質問")
    message["Message-ID"] = headers.pop("Message_ID", "<p-1@example.com>")
    for name, value in headers.items():
        message[name] = value
    return message.as_bytes()


@pytest.mark.parametrize("charset", ["shift_jis", "euc-jp", "utf-8", "iso-2022-jp"])
def test_japanese_charsets_decode_right(charset) -> None:
    text = "ログインできません。介護事業所の山田です。"
    mail = parse(_plain(text, charset, Subject="ワンタイムパスワードについて"))
    assert mail.text == text
    assert mail.subject == "ワンタイムパスワードについて"


def test_shift_jis_as_windows_writes_it_reads_the_nec_characters() -> None:
    raw = _plain("x", "utf-8").replace(b"utf-8", b"Shift_JIS")
    header, _, _ = raw.partition(b"\n\n")
    body = "①㈱髙橋".encode("cp932")
    message = header.replace(
        b"Content-Transfer-Encoding: base64", b"Content-Transfer-Encoding: 8bit"
    )
    assert parse(message + b"\n\n" + body).text == "①㈱髙橋"


def test_an_unknown_charset_is_unreadable_not_guessed() -> None:
    raw = _plain("hello", "utf-8").replace(b'charset="utf-8"', b'charset="x-unknown-42"')
    with pytest.raises(MailUnreadable) as caught:
        parse(raw)
    assert caught.value.reason == "unknown_charset"
    assert decode_text(b"abc", None) == "abc"


def test_html_only_mail_becomes_text_without_its_scripts() -> None:
    html = (
        "<html><head><style>p{color:red}</style><script>alert('x')</script></head>"
        "<body><p>メールが<b>届きません</b>。</p><p>よろしくお願いします。</p>"
        "<img src=x onerror=alert(1)></body></html>"
    )
    message = MIMEText(html, "html", "utf-8")
    message["From"] = "yamada@example.com"
    message["Message-ID"] = "<h-1@example.com>"
    mail = parse(message.as_bytes())
    assert "届きません" in mail.text
    assert "alert" not in mail.text
    assert "color" not in mail.text


def test_the_text_part_is_preferred_to_the_html_one() -> None:
    message = MIMEMultipart("alternative")
    message["From"] = "yamada@example.com"
    message["Message-ID"] = "<a-1@example.com>"
    message.attach(MIMEText("テキスト版", "plain", "utf-8"))
    message.attach(MIMEText("<p>HTML版</p>", "html", "utf-8"))
    assert parse(message.as_bytes()).text == "テキスト版"


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        # Gmail (Japanese): the attribution line, then the quote.
        (
            f"届きました。\n\n2026年12月1日(火) 10:00 窓口 <s@x.jp>:\n\n> {REPLY_MARKER}\n> 本文",
            "届きました。",
        ),
        # iPhone (Japanese).
        (
            f"届きました\n\n2026/12/01 10:00、窓口 <s@x.jp>のメール:\n\n> {REPLY_MARKER}\n> 本文",
            "届きました",
        ),
        # Outlook (Japanese): the header block, no `>`.
        (
            "承知しました。\n\n差出人: 窓口 <s@x.jp>\n送信日時: 2026年12月1日 10:00\n宛先: y@x.jp\n"
            f"件名: 回答\n\n{REPLY_MARKER}\n\n本文",
            "承知しました。",
        ),
        # Outlook (English) with the old separator.
        (
            "OK.\n\n-----Original Message-----\nFrom: s@x.jp\nSent: Tuesday\nTo: y@x.jp\nSubject: a\n\nbody",
            "OK.",
        ),
        # A signature and a plain quote without our marker.
        ("届きました。\n\n--\n山田 太郎\nTEL 03-0000-0000\n\n> ご質問の件", "届きました。"),
        # Only a quote: nothing new.
        (f"> {REPLY_MARKER}\n> 本文", ""),
    ],
)
def test_the_quote_and_the_signature_are_trimmed(written, expected) -> None:
    assert trim(written) == expected


def _received(raw: bytes, **kwargs):
    return receive(raw, InboundSource.PIPE, **kwargs)


def test_malformed_mime_is_recorded_as_unreadable(db) -> None:
    raw = (
        b"From: yamada@example.com\r\nMessage-ID: <m-1@example.com>\r\n"
        b"Content-Type: multipart/mixed\r\n\r\nno boundary at all\r\n"
    )
    received = _received(raw)
    assert received.state is InboundState.FAILED
    assert received.unreadable
    [row] = inbound_rows()
    assert row.reason == "malformed"
    assert row.from_address == "yamada@example.com"


def test_bytes_that_are_no_mail_at_all_are_kept_unreadable(db) -> None:
    assert _received(b"\x00\xff garbage \r\n\r\n").state is InboundState.FAILED


def test_a_mail_without_message_id_is_taken_once_by_its_bytes(db) -> None:
    raw = _plain("本文", "utf-8").replace(b"Message-ID: <p-1@example.com>\n", b"")
    first, second = _received(raw), _received(raw)
    assert not first.duplicate
    assert second.duplicate
    [row] = inbound_rows()
    assert row.message_id is None
    assert row.flags == ["no_message_id"]


def test_a_mail_over_the_size_limit_is_recorded_with_its_headers_only(app, db) -> None:
    app.config["INBOUND_MAX_BYTES"] = 1000
    raw = _plain("あ" * 2000, "utf-8")
    received = _received(raw)
    assert received.state is InboundState.FAILED
    [row] = inbound_rows()
    assert row.reason == "too_large"
    assert row.raw_size == len(raw)
    assert row.from_address == "yamada@example.com"


@pytest.mark.live_smtp
def test_mail_to_the_requester_says_where_replies_go(db, signed_in, inquiry, smtp_server) -> None:
    operator_reply(signed_in(Role.AGENT), inquiry, "ご確認ください。")
    sent = last_mail_to(inquiry)
    deliver_due()
    message = smtp_server.messages[-1]
    assert message["Reply-To"].addresses[0].addr_spec == sent.reply_to
    assert sent.reply_to == f"support+{inquiry.reply_token}@kaigo-portal.example.jp"
    assert smtp_server.envelope_senders[-1] == envelope_sender(sent.id)
    assert smtp_server.envelope_senders[-1].startswith(f"support+bounce-{sent.id}-")
    assert message["References"] == thread_id(inquiry.id)
    assert message["Message-ID"] == message_id(sent)
    text = smtp_server.text_of(message)
    assert text.startswith(REPLY_MARKER)
    assert "このメールに返信していただくと、お問い合わせに追加されます" in text


def test_without_an_inbound_mailbox_mail_says_replies_do_not_arrive(app, db, inquiry) -> None:
    app.config["INBOUND_ADDRESS"] = None
    sent = last_mail_to(inquiry)  # the acknowledgement, queued with the mailbox configured
    assert sent.reply_to is not None
    second = make_inquiry(app.test_client())
    mail = last_mail_to(second)
    assert mail.reply_to is None
    assert REPLY_MARKER not in readable(mail)[0]
    assert "送信専用のアドレス" in readable(mail)[0]
    assert second.reply_token is None


def test_a_reply_with_attachment_only_text_is_appended_with_a_notice(signed_in, inquiry) -> None:
    operator_reply(signed_in(Role.AGENT), inquiry, "画面を送ってください。")
    asked = last_mail_to(inquiry)
    _received(reply(asked, "", quote=True))
    [message] = mail_messages(inquiry)
    assert message.body.startswith("（本文のないメールです。")
