"""How long files are kept: a draft's until 送信 or its expiry, a finished ticket's for the retention
period (then the row says so, and a queued mail says so too), and a crash's leftovers not at all."""

import io
import os
import time
from datetime import timedelta

import sqlalchemy as sa

from backoffice.attachments import operations
from backoffice.attachments.mail import split_for_mail
from backoffice.attachments.models import Attachment, AttachmentState
from backoffice.attachments.storage import storage
from backoffice.db import utcnow
from backoffice.extensions import db
from backoffice.inquiries.actors import REQUESTER
from backoffice.inquiries.drafts import InquiryDraft
from backoffice.inquiries.vocabulary import InquiryStatus
from tests.attachments import helpers as files
from tests.builders.inquiries import general_input, make_inquiry, seed_tree
from tests.builders.web import csrf_token


def _files_on_disk() -> set[str]:
    root = storage().root / "objects"  # type: ignore[attr-defined]
    return {p.name for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def _age(keys, seconds: float) -> None:
    root = storage().root / "objects"  # type: ignore[attr-defined]
    for key in keys:
        path = root / key[:2] / key
        past = time.time() - seconds
        os.utime(path, (past, past))


def _upload(data: bytes, name: str) -> operations.Upload:
    return operations.Upload(io.BytesIO(data), name, len(data))


def test_the_sweep_deletes_expired_drafts_files_finished_tickets_contents_and_orphans(
    app, client, runner
) -> None:
    seed_tree()
    # A draft with a file, left to expire.
    page = client.get("/inquiry")
    form = {**general_input(), "csrf_token": csrf_token(page.text)}
    form["attachments"] = [(io.BytesIO(files.png()), "draft.png")]
    assert client.post("/inquiry", data=form, content_type="multipart/form-data").status_code == 302
    draft = db.session.scalars(sa.select(InquiryDraft)).one()
    draft.created_at = utcnow() - timedelta(hours=25)
    # A ticket finished long ago, and one still open.
    old, open_ = make_inquiry(app.test_client()), make_inquiry(app.test_client())
    for inquiry in (old, open_):
        operations.attach(
            operations.take([_upload(files.pdf(), "a.pdf")]), REQUESTER, inquiry=inquiry
        )
    old.status, old.resolved_at = InquiryStatus.CLOSED, utcnow() - timedelta(days=366)
    db.session.commit()
    # A crash between writing a file and committing its row.
    new = storage().create()
    new.write(b"half a story")
    new.commit()
    _age([new.key], 2 * 3600)
    before = _files_on_disk()
    assert new.key in before

    result = runner.invoke(args=["attachments", "sweep"])

    assert result.exit_code == 0, result.output
    assert result.output.strip() == (
        "draft files deleted 1, contents deleted after retention 1, orphan files deleted 1"
    )
    rows = {r.filename: r for r in db.session.scalars(sa.select(Attachment))}
    assert "draft.png" not in rows
    purged = db.session.scalars(sa.select(Attachment).where(Attachment.inquiry_id == old.id)).one()
    assert purged.state is AttachmentState.PURGED
    assert purged.storage_key is None
    assert purged.purged_at is not None
    kept = db.session.scalars(sa.select(Attachment).where(Attachment.inquiry_id == open_.id)).one()
    assert _files_on_disk() == {kept.storage_key}


def test_a_mail_carries_what_fits_names_the_rest_and_says_when_retention_deleted_one(
    app, client
) -> None:
    seed_tree()
    inquiry = make_inquiry(client)
    app.config["ATTACHMENT_MAIL_MAX_BYTES"] = 3000
    stored = operations.take(
        [
            _upload(b"a" * 2000, "one.txt"),
            _upload(b"b" * 2000, "two.txt"),
            _upload(b"c" * 900, "three.txt"),
        ]
    )
    rows = operations.attach(stored, REQUESTER, inquiry=inquiry)
    carried, named = split_for_mail(rows)
    assert [r.filename for r in carried] == ["one.txt", "three.txt"]
    assert [r.filename for r in named] == ["two.txt"]

    from backoffice.attachments.mail import files_of_mail
    from backoffice.inquiries.requester_mail import queue_to_requester
    from backoffice.mail.models import OutboundEmail
    from backoffice.mail.outbox import readable

    queue_to_requester(
        "inquiry_reply", inquiry, body="回答", asks=False, files=rows, status_url="x"
    )
    db.session.commit()
    mail = db.session.scalars(sa.select(OutboundEmail).order_by(OutboundEmail.id.desc())).first()
    text = readable(mail)[0]
    assert "・one.txt（2KB）このメールに添付しています" in text
    assert "・two.txt（2KB）大きいため、次の確認ページからダウンロードしてください" in text
    assert mail.has_attachments
    rows[0].state, rows[0].storage_key = AttachmentState.PURGED, None
    db.session.commit()
    kept, gone = files_of_mail(mail.id)
    assert [f.filename for f in kept] == ["three.txt"]
    assert gone == ["one.txt"]
