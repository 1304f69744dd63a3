"""Attachments and mail: the files an operator's reply mail carries (up to ATTACHMENT_MAIL_MAX_BYTES,
the rest named with the status link), and the files a requester's mail brings, checked exactly like
uploads; a file that is not taken is noted on the message, never silently dropped."""

import io
from dataclasses import dataclass
from email.message import Message

import sqlalchemy as sa
from flask import current_app

from backoffice.attachments import operations
from backoffice.attachments.checks import (
    FileRefused,
    check_and_store,
    describe_size,
    display_name,
)
from backoffice.attachments.models import Attachment, MailAttachment
from backoffice.attachments.storage import storage
from backoffice.extensions import db
from backoffice.inquiries.actors import Actor
from backoffice.inquiries.models import Inquiry, InquiryEvent


def split_for_mail(rows: list[Attachment]) -> tuple[list[Attachment], list[Attachment]]:
    """The files a mail carries, in order while they fit in ATTACHMENT_MAIL_MAX_BYTES, and those it
    only names."""
    budget = current_app.config["ATTACHMENT_MAIL_MAX_BYTES"]
    carried, named = [], []
    for row in rows:
        if row.available and row.size <= budget:
            carried.append(row)
            budget -= row.size
        else:
            named.append(row)
    return carried, named


def link(email_id: int, rows: list[Attachment]) -> None:
    db.session.add_all(MailAttachment(email_id=email_id, attachment_id=r.id) for r in rows)


@dataclass(frozen=True)
class MailFile:
    filename: str
    content_type: str
    data: bytes


def files_of_mail(email_id: int) -> tuple[list[MailFile], list[str]]:
    """What a mail carries now: the files still kept, and the names of those retention deleted."""
    rows = db.session.scalars(
        sa.select(Attachment)
        .join(MailAttachment, MailAttachment.attachment_id == Attachment.id)
        .where(MailAttachment.email_id == email_id)
        .order_by(Attachment.id)
    ).all()
    files, gone = [], []
    for row in rows:
        try:
            with operations.contents(row) as handle:
                data = handle.read()
        except FileNotFoundError:
            gone.append(row.filename)
            continue
        files.append(MailFile(row.filename, (row.content_type or "").split(";")[0], data))
    return files, gone


def gone_notice(names: list[str]) -> str:
    return "".join(
        f"添付ファイル「{name}」は保存期間を過ぎたため削除しました。\n" for name in names
    )


@dataclass(frozen=True)
class Incoming:
    filename: str
    data: bytes


def files_in(message: Message | None) -> list[Incoming]:
    """The attachments of a mail: every leaf part that is not its text (the first text/plain and
    text/html that are not attachments) nor a delivery report's."""
    if message is None:
        return []
    found = []
    seen_text: set[str] = set()
    for part in message.walk():
        if part.is_multipart():
            continue
        kind = part.get_content_type()
        disposition = part.get_content_disposition()
        filename = part.get_filename()
        if (
            kind in ("text/plain", "text/html")
            and disposition != "attachment"
            and not filename
            and kind not in seen_text
        ):
            seen_text.add(kind)
            continue
        if kind.startswith("message/") or kind == "text/rfc822-headers":
            continue
        data = part.get_payload(decode=True)
        if not isinstance(data, bytes):
            continue
        found.append(Incoming(str(filename or _unnamed(kind)), data))
    return found


def _unnamed(kind: str) -> str:
    extension = {"image/png": ".png", "image/jpeg": ".jpg", "application/pdf": ".pdf"}.get(kind, "")
    return f"添付ファイル{extension}"


_WHY = {
    "type": "受け付けられない形式の",
    "broken": "壊れているか読み取れない",
    "pixels": "画素数が多すぎる",
    "name": "ファイル名が長すぎる",
    "empty": "空の",
}


def take_from_mail(
    files: list[Incoming], actor: Actor, *, inquiry: Inquiry, event: InquiryEvent | None
) -> None:
    """Keep a mail's files on its message (`event`, or the ticket's own body), in the caller's
    transaction; each refused one becomes a note on the message saying why."""
    limit = operations.limits()
    where = storage()
    count = total = 0
    db.session.connection()
    for item in files:
        if count >= limit.files:
            why = f"数が上限（{limit.files}個）を超えた"
        elif len(item.data) > limit.each or total + len(item.data) > limit.total:
            why = f"大きすぎる（1ファイル{describe_size(limit.each)}、合計{describe_size(limit.total)}まで）"
        elif not item.data:
            why = _WHY["empty"]
        else:
            try:
                stored = check_and_store(io.BytesIO(item.data), item.filename, where)
            except FileRefused as refused:
                why = _WHY.get(refused.kind, _WHY["type"])
            else:
                operations.track(where, stored)
                operations.attach([stored], actor, inquiry=inquiry, event=event)
                count += 1
                total += len(item.data)
                continue
        shown = display_name(item.filename, cut=True)
        name = shown if len(shown) <= 100 else shown[:100] + "…"
        operations.note_refused(
            item.filename,
            f"添付ファイル（{name}）は{why}ため保存していません",
            actor,
            inquiry=inquiry,
            event=event,
        )
