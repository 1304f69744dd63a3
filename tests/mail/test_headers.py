"""A CR/LF in an address or a subject never adds a mail header or a recipient: refused where it enters
the outbox, and harmless even in a row that bypassed that check."""

import contextlib
import email
import email.policy

import flask_mail
import pytest
import sqlalchemy as sa
from jinja2 import ChoiceLoader, DictLoader

from backoffice.mail import delivery, outbox, smtp
from backoffice.mail.models import OutboundEmail
from tests.builders.inquiries import general_input, post_input, seed_tree

VICTIM = "yamada@himawari.example.jp"
EVIL = "evil@attacker.example"
# What each message of the outbox carries, and nothing else.
HEADERS = {"Content-Type", "MIME-Version", "Subject", "From", "To", "Date", "Message-ID"}
HOSTILE_ADDRESSES = [
    f"{VICTIM}\r\nBcc: {EVIL}",
    f"{VICTIM}\nBcc: {EVIL}",
    f"{VICTIM}\rBcc: {EVIL}",
    f"{VICTIM}\r\n Bcc: {EVIL}",  # a folded line
    f"{VICTIM}\r\n\r\nbody",
]
HOSTILE_SUBJECTS = [
    f"件名\r\nBcc: {EVIL}",
    f"Subject\r\nBcc: {EVIL}",
    "件名\nX-Injected: 1",
    "件名\r\n X-Injected: 1",  # a folded line: Flask-Mail lets this one through
    "件名\r\n\r\nA body of the attacker's",
]


@pytest.fixture
def header_template(app):
    """A mail whose subject shows a value from the context, as the 受付番号 does in the real ones."""
    app.jinja_loader  # noqa: B018 (create the default loader first)
    app.jinja_env.loader = ChoiceLoader(
        [
            DictLoader(
                {
                    "mail/header_test.txt": "{% set subject %}件名 {{ value }}{% endset %}本文",
                    "mail/header_test.html": "<p>本文</p>",
                }
            ),
            app.jinja_env.loader,
        ]
    )


@pytest.mark.parametrize("address", HOSTILE_ADDRESSES)
def test_the_outbox_refuses_an_address_with_a_line_break(
    app, db, header_template, address: str
) -> None:
    with pytest.raises(ValueError, match="control character"):
        outbox.enqueue("header_test", address, {"value": "1"})
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboundEmail)) == 0


@pytest.mark.parametrize("control", ["\0", "\x1b", "\t", "\x7f"])
def test_the_outbox_refuses_an_address_with_any_control_character(
    app, db, header_template, control: str
) -> None:
    with pytest.raises(ValueError, match="control character"):
        outbox.enqueue("header_test", f"yamada{control}@himawari.example.jp", {"value": "1"})


@pytest.mark.parametrize("value", HOSTILE_SUBJECTS)
def test_a_line_break_in_a_subject_s_value_is_joined_onto_one_line(
    app, db, header_template, value: str
) -> None:
    queued = outbox.enqueue("header_test", VICTIM, {"value": value})
    assert "\r" not in queued.subject
    assert "\n" not in queued.subject
    assert queued.subject.startswith("件名 件名") or queued.subject.startswith("件名 Subject")


def test_an_address_with_a_line_break_is_refused_by_the_inquiry_form(app, client, db) -> None:
    seed_tree()
    address = f"{VICTIM}\r\nBcc: {EVIL}"
    response = post_input(client, general_input(email=address, email_confirm=address))
    assert response.status_code == 422
    assert "メールアドレス" in response.text
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboundEmail)) == 0


def built(to: str, subject: str) -> email.message.EmailMessage:
    """The message as delivery builds it (delivery._deliver), serialised and parsed back as a
    receiving server would; Flask-Mail's own check at sending (has_bad_headers) is not involved."""
    message = smtp.Message(
        subject=subject,
        recipients=[to],
        body="本文",
        html="<p>本文</p>",
        sender="お問い合わせ窓口 <noreply@kaigo-portal.example.jp>",
    )
    message.msgId = "<1.20260401000000000000@kaigo-portal.example.jp>"
    return email.message_from_bytes(message.as_bytes(), policy=email.policy.default)


@pytest.mark.parametrize("address", HOSTILE_ADDRESSES)
def test_a_built_message_never_gets_a_header_or_recipient_from_the_address(
    app, address: str
) -> None:
    parsed = built(address, "件名")
    assert set(parsed.keys()) == HEADERS
    assert str(parsed["To"]) == VICTIM
    assert EVIL not in parsed.as_string()


@pytest.mark.parametrize("subject", HOSTILE_SUBJECTS)
def test_a_built_message_never_gets_a_header_from_the_subject(app, subject: str) -> None:
    parsed = built(VICTIM, subject)
    assert set(parsed.keys()) == HEADERS
    # The subject is RFC 2047-encoded whole: what was a line break is inside the encoded words, and
    # the receiver reads one line of text.
    decoded = str(parsed["Subject"])
    assert "\r" not in decoded
    assert "\n" not in decoded
    assert decoded.startswith(subject.split()[0])
    assert parsed.get_body(preferencelist=("plain",)).get_content().strip() == "本文"


def recording_envelopes(smtp_server) -> list[list[str]]:
    """The envelope recipients (RCPT TO) of every message the test SMTP server receives."""
    handler = smtp_server.handler
    envelopes: list[list[str]] = []
    handle_data = handler.handle_DATA

    async def handle_DATA(server, session, envelope):
        envelopes.append(list(envelope.rcpt_tos))
        return await handle_data(server, session, envelope)

    handler.handle_DATA = handle_DATA
    return envelopes


@pytest.mark.live_smtp
@pytest.mark.parametrize(
    ("to", "subject"),
    [(address, "件名") for address in HOSTILE_ADDRESSES]
    + [(VICTIM, subject) for subject in HOSTILE_SUBJECTS],
)
def test_an_outbox_row_that_bypassed_the_check_adds_no_header_or_recipient_over_smtp(
    app, db, smtp_server, to: str, subject: str
) -> None:
    envelopes = recording_envelopes(smtp_server)
    # As if written by something other than outbox.enqueue.
    row = OutboundEmail(to_address=to, subject=subject, body_text="本文", body_html="<p>本文</p>")
    db.session.add(row)
    db.session.commit()
    # Flask-Mail refuses to send most of them at all; whatever it does send is checked below.
    with contextlib.suppress(flask_mail.BadHeaderError):
        delivery.deliver_one(row.id)
    for message, recipients in zip(smtp_server.messages, envelopes, strict=True):
        assert set(message.keys()) == HEADERS
        assert str(message["To"]) == VICTIM
        assert recipients == [VICTIM]
