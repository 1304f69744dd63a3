"""Mail as requesters' programs and MTAs write it, built with the standard library."""

from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formatdate, make_msgid

import sqlalchemy as sa

from backoffice.extensions import db
from backoffice.inbound.models import InboundEmail
from backoffice.inquiries.models import Inquiry, InquiryEvent
from backoffice.inquiries.vocabulary import Channel, EventKind
from backoffice.mail.delivery import message_id
from backoffice.mail.models import OutboundEmail
from backoffice.mail.outbox import readable


def last_mail_to(inquiry: Inquiry) -> OutboundEmail:
    return db.session.scalars(
        sa.select(OutboundEmail)
        .where(OutboundEmail.inquiry_id == inquiry.id)
        .order_by(OutboundEmail.id.desc())
    ).first()


def quoted(mail: OutboundEmail) -> str:
    """The mail as a reply quotes it: Gmail's Japanese attribution line, then `> ` lines."""
    lines = "\n".join(f"> {line}" if line else ">" for line in readable(mail)[0].splitlines())
    return f"2026年12月1日(火) 10:00 介護情報基盤ポータル お問い合わせ窓口 <{mail.reply_to}>:\n\n{lines}\n"


def reply(
    mail: OutboundEmail,
    text: str,
    *,
    charset: str = "iso-2022-jp",
    sender: str | None = None,
    to: str | None = None,
    headers: dict[str, str] | None = None,
    msgid: str | None = None,
    quote: bool = True,
) -> bytes:
    """The requester pressing 返信 on `mail` and writing `text` above the quote."""
    body = f"{text}\n\n{quoted(mail)}" if quote else text
    if charset == "iso-2022-jp":
        message = MIMEText("", "plain", "us-ascii")
        message.set_param("charset", "ISO-2022-JP")
        message.set_payload(windows_iso_2022_jp(body).decode("ascii"))
    else:
        message = MIMEText(body, "plain", charset)
    message["From"] = sender or f"山田 太郎 <{mail.to_address}>"
    message["To"] = to or mail.reply_to
    message["Subject"] = f"Re: {mail.subject}"
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = msgid or make_msgid(domain="example.com")
    message["In-Reply-To"] = message_id(mail)
    message["References"] = message_id(mail)
    for name, value in (headers or {}).items():
        message[name] = value
    return message.as_bytes()


def bounce(
    mail: OutboundEmail, *, status: str = "5.1.1", to: str | None = None, original: bool = True
) -> bytes:
    """A delivery status report (RFC 3464) from the receiving MTA about `mail`, sent to its return path."""
    from backoffice.inbound.addresses import envelope_sender

    report = MIMEMultipart("report", report_type="delivery-status")
    report["From"] = "Mail Delivery System <MAILER-DAEMON@mx.example.com>"
    report["To"] = to or envelope_sender(mail.id)
    report["Subject"] = "Undelivered Mail Returned to Sender"
    report["Message-ID"] = make_msgid(domain="mx.example.com")
    report["Auto-Submitted"] = "auto-replied"
    report.attach(MIMEText("This is the mail system at host mx.example.com.\n", "plain"))
    fields = (
        "Reporting-MTA: dns; mx.example.com\n\n"
        f"Final-Recipient: rfc822; {mail.to_address}\n"
        f"Original-Recipient: rfc822;{mail.to_address}\n"
        f"Action: {'failed' if status.startswith('5') else 'delayed'}\n"
        f"Status: {status}\n"
        f"Diagnostic-Code: smtp; 550 {status} <{mail.to_address}>: Recipient address rejected\n"
    )
    from email.message import Message
    from email.parser import Parser

    status_part = Message()
    status_part.set_type("message/delivery-status")
    status_part.set_payload([Parser().parsestr(block) for block in fields.split("\n\n")])
    report.attach(status_part)
    headers = MIMEText(
        f"Message-ID: {message_id(mail)}\nSubject: {mail.subject}\n", "rfc822-headers"
    )
    if original:
        report.attach(headers)
    return report.as_bytes()


def inbound_rows() -> list[InboundEmail]:
    return list(db.session.scalars(sa.select(InboundEmail).order_by(InboundEmail.id)))


def mail_messages(inquiry: Inquiry) -> list[InquiryEvent]:
    return list(
        db.session.scalars(
            sa.select(InquiryEvent).where(
                InquiryEvent.inquiry_id == inquiry.id,
                InquiryEvent.kind == EventKind.REQUESTER_MESSAGE,
                InquiryEvent.channel == Channel.EMAIL,
            )
        )
    )


def windows_iso_2022_jp(text: str) -> bytes:
    """ISO-2022-JP as Windows mail programs write it (CP50220): CP932's characters, NEC's ① and ㈱
    among them, in JIS X 0208 code positions."""
    out, mode = bytearray(), "ascii"
    data = text.replace("\n", "\r\n").encode("cp932")
    i = 0
    while i < len(data):
        byte = data[i]
        if byte < 0x80:
            if mode != "ascii":
                out += b"\x1b(B"
                mode = "ascii"
            out.append(byte)
            i += 1
            continue
        if mode != "jis":
            out += b"\x1b$B"
            mode = "jis"
        lead, trail = byte, data[i + 1]
        row = (lead - (0x70 if lead <= 0x9F else 0xB0)) * 2 - 1
        if trail >= 0x9F:
            row, trail = row + 1, trail - 0x7E
        else:
            trail -= 0x1F if trail < 0x7F else 0x20
        out += bytes((row, trail))
        i += 2
    if mode != "ascii":
        out += b"\x1b(B"
    return bytes(out)
