"""The issue's journey through pages and real mail: a phone screenshot with GPS data on the form, the
operator's thumbnail and PDF answer, the requester's download, and an image by mail on the thread."""

import io
from email.mime.application import MIMEApplication
from email.mime.image import MIMEImage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import make_msgid

import pytest
import sqlalchemy as sa
from PIL import Image

from backoffice.attachments import operations
from backoffice.attachments.models import Attachment, AttachmentState
from backoffice.attachments.storage import storage
from backoffice.audit.models import AuditEvent
from backoffice.extensions import db
from backoffice.inbound.models import InboundSource, InboundState
from backoffice.inbound.receive import receive
from backoffice.inquiries.actors import REQUESTER
from backoffice.inquiries.models import Inquiry, InquiryCategory
from backoffice.inquiries.operations import forget_category_tree
from backoffice.inquiries.vocabulary import EventKind
from backoffice.mail.delivery import message_id
from backoffice.operators.models import Role
from tests.attachments import helpers as files
from tests.builders.inquiries import confirm_fields, general_input, seed_tree
from tests.builders.web import csrf_token
from tests.conversation.helpers import (
    STATUS_LINK,
    link_in,
    mails_to,
    operator_reply,
    requester_message,
)
from tests.inbound.helpers import last_mail_to


def fetched(client, url: str):
    """GET a file and close the response (its file handle) at once, as a server does."""
    response = client.get(url)
    response.get_data()
    response.close()
    return response


def _stored(row: Attachment) -> bytes:
    with storage().open(row.storage_key) as handle:
        return handle.read()


def _send_with_file(client, data: bytes, name: str, **fields):
    page = client.get("/inquiry")
    form = {**general_input(**fields), "csrf_token": csrf_token(page.text)}
    form["attachments"] = [(io.BytesIO(data), name)]
    response = client.post("/inquiry", data=form, content_type="multipart/form-data")
    assert response.status_code == 302, response.text
    confirm = client.get("/inquiry/confirm")
    assert name in confirm.text  # 確認 lists it
    return confirm, client.post("/inquiry/confirm", data=confirm_fields(confirm.text))


@pytest.mark.live_smtp
def test_screenshot_thumbnail_pdf_answer_download_and_mail_reply_on_one_thread(
    client, signed_in, smtp_server
) -> None:
    seed_tree()
    screenshot = files.jpeg_with_gps((320, 640))
    assert Image.open(io.BytesIO(screenshot)).getexif().get(files.GPS_IFD)
    _confirm, sent = _send_with_file(client, screenshot, "IMG_0042.JPG")
    assert sent.status_code == 302
    inquiry = db.session.scalars(sa.select(Inquiry)).one()

    # Stored with the ticket, re-encoded: no EXIF at all, the same picture.
    [row] = db.session.scalars(sa.select(Attachment)).all()
    assert (row.inquiry_id, row.event_id, row.draft_key) == (inquiry.id, None, None)
    assert (row.content_type, row.width, row.height) == ("image/jpeg", 320, 640)
    kept = Image.open(io.BytesIO(_stored(row)))
    assert dict(kept.getexif()) == {}
    assert "exif" not in kept.info
    assert row.uploaded_by == "依頼者"

    # The operator sees its thumbnail, opens the file (audited), and answers with a PDF.
    agent = signed_in(Role.AGENT)
    page = agent.get(f"/admin/tickets/{inquiry.id}/")
    thumbnail = f"/admin/tickets/{inquiry.id}/files/{row.id}?thumbnail=1"
    assert thumbnail.replace("&", "&amp;") in page.text
    small = fetched(agent, thumbnail)
    assert small.status_code == 200
    assert small.mimetype == "image/jpeg"
    assert max(Image.open(io.BytesIO(small.data)).size) <= 240
    whole = fetched(agent, f"/admin/tickets/{inquiry.id}/files/{row.id}")
    assert whole.headers["Content-Disposition"].startswith("attachment;")
    assert whole.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in whole.headers["Content-Security-Policy"]
    assert db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "attachment.downloaded")
    ).one().target_id == str(row.id)

    answer = files.pdf("手順書")
    response = operator_reply(
        agent, inquiry, "手順書をお送りします。", "waiting", files=[(answer, "手順書.pdf")]
    )
    assert response.status_code == 302, response.text
    response.close()  # delivery runs once the response has gone out

    # The mail reached the SMTP server with the PDF attached.
    delivered = smtp_server.messages[-1]
    parts = [p for p in delivered.walk() if p.get_content_disposition() == "attachment"]
    assert [p.get_filename() for p in parts] == ["手順書.pdf"]
    assert parts[0].get_payload(decode=True) == answer

    # The requester downloads it from the status page.
    reply_mail = mails_to(inquiry.email)[-1]
    link = STATUS_LINK.search(smtp_server.text_of(delivered)).group(1)
    status = client.get(link)
    pdf_row = db.session.scalars(
        sa.select(Attachment).where(Attachment.content_type == "application/pdf")
    ).one()
    assert "手順書.pdf" in status.text
    download = fetched(client, f"{link}/files/{pdf_row.id}")
    assert download.status_code == 200
    assert download.data == answer
    assert download.headers["Referrer-Policy"] == "no-referrer"

    # And answers by mail with another image, which lands on the same thread.
    answer_mail = MIMEMultipart()
    answer_mail.attach(MIMEText("画面の写真を送ります。", "plain", "utf-8"))
    photo = MIMEImage(files.jpeg_with_gps((50, 50), "yellow"), "jpeg")
    photo.add_header("Content-Disposition", "attachment", filename="写真.jpg")
    answer_mail.attach(photo)
    answer_mail["From"] = inquiry.email
    answer_mail["To"] = reply_mail.reply_to
    answer_mail["Subject"] = f"Re: {reply_mail.subject}"
    answer_mail["Message-ID"] = make_msgid(domain="example.com")
    answer_mail["In-Reply-To"] = message_id(reply_mail)
    received = receive(answer_mail.as_bytes(), InboundSource.PIPE)
    assert received.state is InboundState.APPENDED
    [message] = [e for e in inquiry.events if e.kind is EventKind.REQUESTER_MESSAGE]
    mailed = db.session.scalars(
        sa.select(Attachment).where(Attachment.event_id == message.id)
    ).one()
    assert mailed.filename == "写真.jpg"
    assert mailed.inquiry_id == inquiry.id
    assert dict(Image.open(io.BytesIO(_stored(mailed))).getexif()) == {}
    assert "写真.jpg" in client.get(link).text


def test_a_refused_mail_attachment_is_noted_on_the_message(client, signed_in, inquiry) -> None:
    agent = signed_in(Role.AGENT)
    operator_reply(agent, inquiry, "ご確認ください。", "waiting", files=[(files.png(), "a.png")])
    asked = last_mail_to(inquiry)
    mail = MIMEMultipart()
    mail.attach(MIMEText("送ります。", "plain", "utf-8"))
    mail.attach(MIMEApplication(b"MZ\x90\x00" + b"\0" * 300, Name="setup.exe"))
    mail.attach(MIMEApplication(files.zip_bomb(), Name="manual.pdf"))
    mail.attach(MIMEApplication(files.png(), Name="あ" * 300 + ".png"))  # too long a name
    mail["From"], mail["To"] = inquiry.email, asked.reply_to
    mail["Message-ID"] = make_msgid(domain="example.com")
    assert receive(mail.as_bytes(), InboundSource.PIPE).state is InboundState.APPENDED
    refused = db.session.scalars(
        sa.select(Attachment).where(Attachment.state == AttachmentState.REFUSED)
    ).all()
    assert [r.refused_reason for r in refused] == [
        "添付ファイル（setup.exe）は受け付けられない形式のため保存していません",
        "添付ファイル（manual.pdf）は受け付けられない形式のため保存していません",
        f"添付ファイル（{'あ' * 100}…）はファイル名が長すぎるため保存していません",
    ]
    assert len(refused[2].filename) == 255
    assert all(r.storage_key is None for r in refused)
    page = client.get(link_in(asked))
    assert "添付ファイル（setup.exe）は受け付けられない形式のため保存していません" in page.text


def test_the_draft_keeps_its_files_through_changes_and_one_can_be_removed(client) -> None:
    seed_tree()
    page = client.get("/inquiry")
    form = {**general_input(), "csrf_token": csrf_token(page.text)}
    form["attachments"] = [
        (io.BytesIO(files.png()), "one.png"),
        (io.BytesIO(files.pdf()), "two.pdf"),
    ]
    assert client.post("/inquiry", data=form, content_type="multipart/form-data").status_code == 302
    back = client.get("/inquiry")  # 「変更」
    assert "one.png" in back.text
    assert "two.pdf" in back.text
    one = db.session.scalars(sa.select(Attachment).where(Attachment.filename == "one.png")).one()
    kept_key = one.storage_key
    changed = {**general_input(body="変更後"), "csrf_token": csrf_token(back.text)}
    changed["remove_attachment"] = str(one.id)
    assert client.post("/inquiry", data=changed).status_code == 302
    confirm = client.get("/inquiry/confirm")
    assert "one.png" not in confirm.text
    assert "two.pdf" in confirm.text
    assert not (storage().root / "objects" / kept_key[:2] / kept_key).exists()  # type: ignore[attr-defined]
    client.post("/inquiry/confirm", data=confirm_fields(confirm.text))
    [row] = db.session.scalars(sa.select(Attachment)).all()
    assert row.filename == "two.pdf"
    assert row.inquiry_id is not None
    assert row.draft_key is None


def test_only_the_files_the_draft_lists_reach_the_ticket(client) -> None:
    """Two 入力 sent at once from one draft: each stores its file, the later list wins; 送信 puts on
    the ticket only what 確認 showed and deletes the other file."""
    seed_tree()
    page = client.get("/inquiry")
    form = {**general_input(), "csrf_token": csrf_token(page.text)}
    form["attachments"] = [(io.BytesIO(files.png()), "shown.png")]
    assert client.post("/inquiry", data=form, content_type="multipart/form-data").status_code == 302
    shown = db.session.scalars(sa.select(Attachment)).one()
    # The other request's file, under the same draft but not in its list.
    [unseen] = operations.attach(
        operations.take([operations.Upload(io.BytesIO(files.pdf()), "unseen.pdf", 400)]),
        REQUESTER,
        draft_key=shown.draft_key,
    )
    db.session.commit()
    unseen_key = unseen.storage_key
    confirm = client.get("/inquiry/confirm")
    assert "unseen.pdf" not in confirm.text
    client.post("/inquiry/confirm", data=confirm_fields(confirm.text))
    [row] = db.session.scalars(sa.select(Attachment)).all()
    assert (row.filename, row.inquiry_id is not None) == ("shown.png", True)
    assert not (storage().root / "objects" / unseen_key[:2] / unseen_key).exists()  # type: ignore[attr-defined]


def test_the_files_stay_listed_when_confirm_sends_back_to_the_form(client) -> None:
    seed_tree()
    page = client.get("/inquiry")
    form = {**general_input(), "csrf_token": csrf_token(page.text)}
    form["attachments"] = [(io.BytesIO(files.png()), "kept.png")]
    assert client.post("/inquiry", data=form, content_type="multipart/form-data").status_code == 302
    category = db.session.get(InquiryCategory, int(general_input()["category"]))
    category.is_active = False  # closed between 入力 and 確認
    db.session.commit()
    forget_category_tree()
    response = client.get("/inquiry/confirm")
    assert response.status_code == 422
    assert "kept.png（" in response.text


def test_an_internal_notes_file_is_for_operators_only(client, signed_in, inquiry) -> None:
    agent = signed_in(Role.AGENT)
    page = agent.get(f"/admin/tickets/{inquiry.id}/")
    response = agent.post(
        f"/admin/tickets/{inquiry.id}/",
        data={
            "csrf_token": csrf_token(page.text),
            "note-body": "電話で確認した画面",
            "note-attachments": [(io.BytesIO(files.png()), "memo.png")],
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.text
    row = db.session.scalars(sa.select(Attachment)).one()
    assert fetched(agent, f"/admin/tickets/{inquiry.id}/files/{row.id}").status_code == 200
    link = link_in(mails_to(inquiry.email)[0])
    assert "memo.png" not in client.get(link).text
    assert client.get(f"{link}/files/{row.id}").status_code == 404


def test_a_message_on_the_status_page_carries_a_file(client, inquiry) -> None:
    link = link_in(mails_to(inquiry.email)[0])
    response = requester_message(
        client, link, "エラーの画面です。", files=[(files.heic(), "IMG_1.HEIC")]
    )
    assert response.status_code == 302, response.text
    row = db.session.scalars(sa.select(Attachment)).one()
    # A phone's HEIC is kept as JPEG, which every browser shows.
    assert (row.filename, row.content_type) == ("IMG_1.jpg", "image/jpeg")
    assert row.event.kind is EventKind.REQUESTER_MESSAGE
    shown = fetched(client, f"{link}/files/{row.id}?inline=1")
    assert shown.mimetype == "image/jpeg"
    assert shown.headers["Content-Disposition"].startswith("inline")
