"""A received message read into what the product needs: who sent it, to which address, which of our
mails it answers, whether a machine sent it, and its text (the plain part preferred, HTML reduced
to text by inscriptis, which drops scripts and styles).

Japanese mail is decoded by the charset it declares, read as the superset Japanese Windows and Mac
programs really write: Shift_JIS as CP932, ISO-2022-JP and EUC-JP with the NEC and IBM extensions
(①, ㈱, 髙), which no Python codec reads, mapped to CP932 by the standard JIS arithmetic. A charset Python does not know makes the message unreadable (MailUnreadable),
never a guess.
"""

import codecs
import hashlib
import re
from dataclasses import dataclass, field
from email import message_from_bytes
from email.errors import (
    MultipartInvariantViolationDefect,
    NoBoundaryInMultipartDefect,
    StartBoundaryNotFoundDefect,
)
from email.header import decode_header
from email.message import Message
from email.utils import getaddresses, parseaddr

import inscriptis

from backoffice.inbound.reply import trim


class MailUnreadable(Exception):
    """The message cannot be read; `reason` says why, in a word (backoffice/inbound/reasons.py)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class ParsedMail:
    message_key: str
    message_id: str | None
    from_name: str = ""
    from_address: str = ""
    subject: str = ""
    # Every address it was delivered to, the envelope's first (Delivered-To, X-Original-To), then To, Cc.
    recipients: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)  # In-Reply-To, then References
    automatic: str | None = None  # why it is a machine's mail (None: a person's)
    report: bool = False  # a delivery status report (a bounce or a delay)
    text: str = ""  # the whole text, decoded
    reply: str = ""  # the new part of it (backoffice/inbound/reply.py)
    message: Message | None = None


_STRUCTURAL_DEFECTS = (
    NoBoundaryInMultipartDefect,
    StartBoundaryNotFoundDefect,
    MultipartInvariantViolationDefect,
)


def message_key(raw: bytes, message_id: str | None, message: Message | None = None) -> str:
    """The same message received twice has the same key: its Message-ID, or without one, its sender,
    recipients, date, subject and body (not the trace headers each delivery adds, nor its line
    endings: an MTA's pipe gives LF, IMAP CRLF)."""
    if message_id:
        return hashlib.sha256(f"mid:{message_id}".encode()).hexdigest()
    body = raw.replace(b"\r\n", b"\n")
    body = body.partition(b"\n\n")[2]
    names = ("From", "To", "Cc", "Date", "Subject")
    fields = [" ".join(str(message.get(n, "")).split()) for n in names] if message else []
    return hashlib.sha256(
        b"body:" + "\n".join(fields).encode("utf-8", "replace") + body
    ).hexdigest()


def parse(raw: bytes) -> ParsedMail:
    """Read a message. Raises MailUnreadable ("malformed", "unknown_charset") with the key and the
    headers that could be read on `partial` (a ParsedMail)."""
    message = message_from_bytes(raw)
    message_id = _message_id(message)
    mail = ParsedMail(message_key=message_key(raw, message_id, message), message_id=message_id)
    mail.message = message
    try:
        mail.from_name, mail.from_address = _sender(message)
        mail.subject = _header(message, "Subject")[:500]
        if not mail.from_address and not message_id and not message.get("Date"):
            raise MailUnreadable("malformed")  # not a mail at all
        if any(isinstance(d, _STRUCTURAL_DEFECTS) for part in message.walk() for d in part.defects):
            raise MailUnreadable("malformed")
        mail.recipients = _recipients(message)
        mail.references = _references(message)
        mail.report = _is_delivery_report(message)
        mail.automatic = _automatic(message, mail.from_address)
        mail.text = _text(message)
    except MailUnreadable as error:
        error.partial = mail  # type: ignore[attr-defined]
        raise
    mail.reply = trim(mail.text)
    return mail


def _message_id(message: Message) -> str | None:
    value = " ".join(str(message.get("Message-ID", "")).split())
    return value[:500] or None


def _sender(message: Message) -> tuple[str, str]:
    name, address = parseaddr(_header(message, "From"))
    return name[:200], address.strip().lower()[:254] if "@" in address else ""


def _recipients(message: Message) -> list[str]:
    found = []
    for name in ("Delivered-To", "X-Original-To", "Envelope-To", "To", "Cc"):
        values = [str(v) for v in message.get_all(name, [])]
        found += [address for _, address in getaddresses(values) if "@" in address]
    return list(dict.fromkeys(found))


_MESSAGE_ID = re.compile(r"<[^<>\s]+>")


def _references(message: Message) -> list[str]:
    values = [str(message.get("In-Reply-To", "")), str(message.get("References", ""))]
    return list(dict.fromkeys(_MESSAGE_ID.findall(" ".join(values))))


def _is_delivery_report(message: Message) -> bool:
    return (
        message.get_content_type() == "multipart/report"
        and (message.get_param("report-type") or "").lower() == "delivery-status"
    )


def _automatic(message: Message, sender: str) -> str | None:
    """Why a machine sent this (RFC 3834 and the headers auto-responders actually set), or None."""
    auto_submitted = str(message.get("Auto-Submitted", "")).strip().lower()
    if auto_submitted and auto_submitted != "no":
        return "auto_submitted"
    if str(message.get("Precedence", "")).strip().lower() in {"bulk", "junk", "list", "auto_reply"}:
        return "precedence"
    if any(message.get(h) is not None for h in ("X-Autoreply", "X-Autorespond", "X-Autoresponder")):
        return "autoreply_header"
    suppress = str(message.get("X-Auto-Response-Suppress", "")).lower()
    if "oof" in suppress or "all" in suppress:
        return "autoreply_header"
    if message.get("List-Id") is not None or message.get("List-Unsubscribe") is not None:
        return "mailing_list"
    if message.get_content_type() == "multipart/report":
        return "report"
    if str(message.get("Return-Path", "")).strip() == "<>":
        return "null_sender"
    if sender.partition("@")[0] in {"mailer-daemon", "postmaster"}:
        return "null_sender"
    return None


def _text(message: Message) -> str:
    plain = html = None
    for part in message.walk():
        if part.is_multipart() or part.get_content_disposition() == "attachment":
            continue
        kind = part.get_content_type()
        if kind == "text/plain" and plain is None:
            plain = _decoded(part)
        elif kind == "text/html" and html is None:
            html = _decoded(part)
        if part.get_content_type() == "message/delivery-status":
            break
    if plain is not None and plain.strip():
        return _normal_lines(plain)
    if html:
        return _normal_lines(inscriptis.get_text(html))
    return _normal_lines(plain or "")


def _normal_lines(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.replace("\r\n", "\n").split("\n")).strip()


def _decoded(part: Message) -> str:
    payload = part.get_payload(decode=True) or b""
    return decode_text(payload, part.get_content_charset())


def decode_text(data: bytes, charset: str | None) -> str:
    """`data` in `charset` (see the module's docstring); raises MailUnreadable("unknown_charset")."""
    name = _codec(charset)
    if name == "iso2022_jp":
        try:
            return data.decode("iso2022_jp_2004")
        except UnicodeDecodeError:
            return _jis_as_cp932(data).decode("cp932", errors="replace")
    if name == "euc_jp":
        try:
            return data.decode("euc_jp")
        except UnicodeDecodeError:
            return _euc_as_cp932(data).decode("cp932", errors="replace")
    if name == "ascii":
        try:
            return data.decode("ascii")
        except UnicodeDecodeError:
            name = "utf-8"  # 8-bit text without a charset: what every program writes today
    return data.decode(name, errors="replace")


_ALIASES = {
    "shift_jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "shift-jis": "cp932",
    "windows-31j": "cp932",
    "cp932": "cp932",
    "ms932": "cp932",
    "iso-2022-jp": "iso2022_jp",
    "iso2022-jp": "iso2022_jp",
    "csiso2022jp": "iso2022_jp",
    "iso-2022-jp-ms": "iso2022_jp",
    "euc-jp": "euc_jp",
    "x-euc-jp": "euc_jp",
    "eucjp-ms": "euc_jp",
    "cp51932": "euc_jp",
    "us-ascii": "ascii",
}


def _codec(charset: str | None) -> str:
    label = (charset or "us-ascii").strip().strip('"').lower()
    if label in _ALIASES:
        return _ALIASES[label]
    try:
        name = codecs.lookup(label).name
    except LookupError:
        raise MailUnreadable("unknown_charset") from None
    return {"shift_jis": "cp932", "euc_jp": "euc_jp", "iso2022_jp": "iso2022_jp"}.get(name, name)


def _jis_as_cp932(data: bytes) -> bytes:
    """ISO-2022-JP as Windows writes it (with NEC row 13 and IBM extensions, which no Python codec
    reads) turned into the CP932 bytes of the same characters: each JIS pair maps to Shift_JIS by
    the standard arithmetic, half-width katakana (ESC ( I) to its single byte."""
    out = bytearray()
    mode = "ascii"
    i = 0
    while i < len(data):
        if data[i] == 0x1B:
            sequence = data[i + 1 : i + 3]
            if sequence in (b"$B", b"$@"):
                mode, i = "jis", i + 3
                continue
            if sequence == b"(I":
                mode, i = "kana", i + 3
                continue
            if sequence in (b"(B", b"(J"):
                mode, i = "ascii", i + 3
                continue
        byte = data[i]
        if mode == "jis" and 0x21 <= byte <= 0x7E and i + 1 < len(data):
            out += _jis_pair_as_sjis(byte, data[i + 1])
            i += 2
            continue
        out.append(byte + 0x80 if mode == "kana" and 0x21 <= byte <= 0x5F else byte)
        i += 1
    return bytes(out)


def _euc_as_cp932(data: bytes) -> bytes:
    """EUC-JP as Windows writes it (CP51932, eucJP-ms: the NEC and IBM extensions in rows 13 and
    89–92, which EUC-JIS-2004 would read as other characters) turned into CP932 bytes the same way.
    A JIS X 0212 character (three bytes) has no CP932 form and becomes 〓."""
    out = bytearray()
    i = 0
    while i < len(data):
        byte = data[i]
        if byte == 0x8E and i + 1 < len(data):  # half-width katakana
            out.append(data[i + 1])
            i += 2
        elif byte == 0x8F and i + 2 < len(data):
            out += "〓".encode("cp932")
            i += 3
        elif 0xA1 <= byte <= 0xFE and i + 1 < len(data) and data[i + 1] >= 0xA1:
            out += _jis_pair_as_sjis(byte - 0x80, data[i + 1] - 0x80)
            i += 2
        else:
            out.append(byte)
            i += 1
    return bytes(out)


def _jis_pair_as_sjis(first: int, second: int) -> bytes:
    """A JIS X 0208 code (two bytes 0x21–0x7E) as Shift_JIS, by the standard arithmetic."""
    lead = (first + 1) // 2 + (0x70 if first <= 0x5E else 0xB0)
    trail = second + (0x1F if second <= 0x5F else 0x20) if first % 2 else second + 0x7E
    return bytes((lead & 0xFF, trail & 0xFF))


def _header(message: Message, name: str) -> str:
    """A header with its RFC 2047 words decoded by decode_text (so ISO-2022-JP subjects read right)."""
    value = message.get(name)
    if value is None:
        return ""
    try:
        pieces = decode_header(str(value))
    except Exception:  # a header too broken to split: keep it as it came
        return " ".join(str(value).split())
    text = "".join(
        decode_text(chunk, charset) if isinstance(chunk, bytes) else chunk
        for chunk, charset in pieces
    )
    return " ".join(text.split())
