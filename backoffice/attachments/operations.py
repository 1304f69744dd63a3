"""Attachments of a ticket's messages: taking files in, their rows, who may read which, the form
draft's files, and the sweep.

A file is checked and written to the storage before the transaction of its message commits; its row
is added to that transaction. A transaction that rolls back deletes the files it took (a session
hook, as the outbox forgets its mails), so a row never lacks its file and a file only lacks its row
after a crash — those the sweep deletes. This module owns the `attachments` rows.
"""

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, BinaryIO

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

from backoffice.attachments.checks import FileRefused, Stored, check_and_store, describe_size
from backoffice.attachments.checks import display_name as display_name
from backoffice.attachments.models import Attachment, AttachmentState
from backoffice.attachments.storage import Storage, storage
from backoffice.db import utcnow
from backoffice.extensions import db
from backoffice.inquiries.actors import REQUESTER, Actor
from backoffice.inquiries.drafts import InquiryDraft
from backoffice.inquiries.models import Inquiry, InquiryEvent
from backoffice.inquiries.vocabulary import FINISHED, PUBLIC_KINDS


@dataclass(frozen=True)
class Upload:
    """A file as it came (a form's file part, a mail's attachment), not yet checked."""

    stream: BinaryIO
    filename: str
    size: int


@dataclass(frozen=True)
class Limits:
    files: int
    each: int
    total: int

    @property
    def text(self) -> str:
        """What the pages say before a file is chosen."""
        return (
            f"{self.files}個まで、1ファイル{describe_size(self.each)}まで、"
            f"合計{describe_size(self.total)}まで"
        )


def limits() -> Limits:
    config = current_app.config
    return Limits(
        config["ATTACHMENT_MAX_FILES"],
        config["ATTACHMENT_MAX_BYTES"],
        config["ATTACHMENT_MAX_TOTAL_BYTES"],
    )


def request_limit() -> int:
    """The request size the routes that take files allow: every file at its largest, and the form."""
    limit = limits()
    return limit.files * limit.each + current_app.config["MAX_CONTENT_LENGTH"]


def check_limits(uploads: list[Upload], *, kept: int = 0, kept_bytes: int = 0) -> None:
    """Count and sizes, before anything is read. Raises FileRefused."""
    limit = limits()
    if kept + len(uploads) > limit.files:
        already = f"（添付済みの{kept}個を含めて{kept + len(uploads)}個）" if kept else ""
        raise FileRefused(
            f"＊添付ファイルは{limit.files}個までです{already}。減らしてからもう一度選んでください。",
            kind="count",
        )
    for upload in uploads:
        name = display_name(upload.filename)
        if upload.size == 0:
            raise FileRefused(f"＊「{name}」は空のファイルです。", kind="empty")
        if upload.size > limit.each:
            raise FileRefused(
                f"＊「{name}」は大きすぎます（{describe_size(upload.size)}）。"
                f"1ファイル{describe_size(limit.each)}までです。",
                kind="size",
            )
    total = kept_bytes + sum(u.size for u in uploads)
    if total > limit.total:
        raise FileRefused(
            f"＊添付ファイルの合計が大きすぎます（{describe_size(total)}）。"
            f"合計{describe_size(limit.total)}までです。",
            kind="total",
        )


def take(uploads: list[Upload], *, kept: int = 0, kept_bytes: int = 0) -> list[Stored]:
    """Check the files (limits, then each one's contents) and store them, for a row in the current
    transaction. Raises FileRefused, and keeps none of them then."""
    check_limits(uploads, kept=kept, kept_bytes=kept_bytes)
    where = storage()
    stored: list[Stored] = []
    db.session.connection()  # a transaction to end: its rollback deletes what was stored
    try:
        for upload in uploads:
            stored.append(check_and_store(upload.stream, upload.filename, where))
            track(where, stored[-1])
    except BaseException:
        discard(where, stored)
        raise
    return stored


def discard(where: Storage, stored: Iterable[Stored]) -> None:
    for item in stored:
        for key in item.keys:
            where.delete(key)


# Files stored for the current transaction: deleted if it does not commit.
_PENDING = "kip.attachments_pending"


def track(where: Storage, item: Stored) -> None:
    db.session.info.setdefault(_PENDING, []).append((where, item))


@sa.event.listens_for(Session, "after_commit")
def _kept(session: Session) -> None:
    if not session.in_nested_transaction():
        session.info.pop(_PENDING, None)


@sa.event.listens_for(Session, "after_transaction_end")
def _drop_uncommitted(session: Session, transaction: sa.orm.SessionTransaction) -> None:
    if transaction.parent is None:
        for where, item in session.info.pop(_PENDING, None) or ():
            discard(where, [item])


def attach(
    stored: Iterable[Stored],
    actor: Actor,
    *,
    inquiry: Inquiry | None = None,
    event: InquiryEvent | None = None,
    draft_key: str | None = None,
) -> list[Attachment]:
    """The rows of stored files, in the caller's transaction: on `event` of `inquiry` (None: the
    ticket's own body), or on a form draft."""
    rows = [
        Attachment(
            inquiry=inquiry,
            event=event,
            draft_key=draft_key,
            state=AttachmentState.STORED,
            **dataclasses.asdict(item),
            uploaded_by=actor.label,
            operator_id=actor.id,
        )
        for item in stored
    ]
    db.session.add_all(rows)
    return rows


def note_refused(
    filename: str, why: str, actor: Actor, *, inquiry: Inquiry, event: InquiryEvent | None
) -> Attachment:
    """A file of a mail that was not taken, said on its message (never silently dropped)."""
    row = Attachment(
        inquiry=inquiry,
        event=event,
        state=AttachmentState.REFUSED,
        filename=display_name(filename, cut=True),
        uploaded_by=actor.label,
        operator_id=actor.id,
        refused_reason=why[:300],
    )
    db.session.add(row)
    return row


# The form draft's files, summarised in the draft itself so that 確認 shows them without a query.
DRAFT_FILES = "_files"


def summary(row: Attachment) -> dict[str, Any]:
    return {"id": row.id, "name": row.filename, "size": row.size, "image": row.is_image}


def keep_with_draft(
    key: str, stored: list[Stored], remove: Iterable[int], listed: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Add `stored` to the draft `key` and drop the files `remove` names, in the caller's
    transaction; returns the draft's new list (`listed` is its old one)."""
    drop = {i for i in remove if any(f["id"] == i for f in listed)}
    if drop:
        gone = db.session.scalars(
            sa.select(Attachment).where(Attachment.id.in_(drop), Attachment.draft_key == key)
        ).all()
        for row in gone:
            _delete_after_commit(row)
            db.session.delete(row)
    rows = attach(stored, REQUESTER, draft_key=key)
    if rows:
        db.session.flush()
    return [f for f in listed if f["id"] not in drop] + [summary(r) for r in rows]


def move_draft_files(draft_key: str, inquiry: Inquiry, ids: Iterable[int]) -> None:
    """送信: the files the draft lists (`ids`, those 確認 showed) become the ticket's, in the caller's
    transaction (after its flush). Any other file under the draft's key (a second 入力 sent at the
    same time wrote its own list over the first) is deleted, never put on the ticket unseen."""
    db.session.execute(
        sa.update(Attachment)
        .where(Attachment.draft_key == draft_key, Attachment.id.in_(list(ids)))
        .values(inquiry_id=inquiry.id, draft_key=None)
        .execution_options(synchronize_session=False)
    )
    for row in db.session.scalars(sa.select(Attachment).where(Attachment.draft_key == draft_key)):
        _delete_after_commit(row)
        db.session.delete(row)


# Files whose rows this transaction deletes: removed from the storage once it commits.
_DELETED = "kip.attachments_deleted"


def _delete_after_commit(row: Attachment) -> None:
    keys = [k for k in (row.storage_key, row.thumbnail_key) if k]
    db.session.info.setdefault(_DELETED, []).extend((storage(), k) for k in keys)


@sa.event.listens_for(Session, "after_commit")
def _delete_committed(session: Session) -> None:
    if not session.in_nested_transaction():
        for where, key in session.info.pop(_DELETED, None) or ():
            where.delete(key)


@sa.event.listens_for(Session, "after_rollback")
def _keep_rolled_back(session: Session) -> None:
    session.info.pop(_DELETED, None)


def of_ticket(inquiry: Inquiry, *, public: bool) -> dict[int | None, list[Attachment]]:
    """The ticket's files by the history entry they came with (None: the ticket's own body); with
    `public`, only those the requester may see (not an internal note's)."""
    query = (
        sa.select(Attachment)
        .outerjoin(InquiryEvent, InquiryEvent.id == Attachment.event_id)
        .where(Attachment.inquiry_id == inquiry.id)
        .order_by(Attachment.id)
    )
    if public:
        query = query.where(
            sa.or_(Attachment.event_id.is_(None), InquiryEvent.kind.in_(PUBLIC_KINDS))
        )
    found: dict[int | None, list[Attachment]] = {}
    for row in db.session.scalars(query):
        found.setdefault(row.event_id, []).append(row)
    return found


def find(inquiry: Inquiry, attachment_id: int, *, public: bool) -> Attachment | None:
    """One file of the ticket that is still kept (with `public`: one the requester may see)."""
    for rows in of_ticket(inquiry, public=public).values():
        for row in rows:
            if row.id == attachment_id and row.available:
                return row
    return None


def contents(row: Attachment, *, thumbnail: bool = False) -> BinaryIO:
    """Raises FileNotFoundError when there is nothing to open."""
    key = row.thumbnail_key if thumbnail else row.storage_key
    if key is None or not row.available:
        raise FileNotFoundError(row.id)
    return storage().open(key)


@dataclass
class SweepReport:
    drafts: int = 0  # files of drafts that expired or were abandoned
    purged: int = 0  # contents deleted at the end of their retention
    orphans: int = 0  # files without a row (a crash's leftovers)


_BATCH = 500


def sweep() -> SweepReport:
    """Delete what is no longer kept: the files of expired drafts, the contents of finished tickets'
    files after ATTACHMENT_RETENTION_DAYS (purge_retained), and files no row names. Each
    batch commits before its files are deleted, so a crash leaves only orphans for the next run."""
    config = current_app.config
    report = SweepReport()
    now = utcnow()
    cutoff = now - timedelta(hours=config["INQUIRY_DRAFT_TTL_HOURS"])
    alive = sa.select(InquiryDraft.key).where(
        InquiryDraft.key == Attachment.draft_key, InquiryDraft.created_at >= cutoff
    )
    while rows := db.session.scalars(
        sa.select(Attachment)
        .where(Attachment.draft_key.is_not(None), ~alive.exists())
        .limit(_BATCH)
    ).all():
        for row in rows:
            _delete_after_commit(row)
            db.session.delete(row)
        db.session.commit()
        report.drafts += len(rows)
    report.purged = purge_retained(now)
    report.orphans = _delete_orphans(config["ATTACHMENT_ORPHAN_MINUTES"] * 60)
    return report


def purge_retained(now: datetime) -> int:
    """Delete the contents of finished tickets' files after ATTACHMENT_RETENTION_DAYS (None: never);
    the rows stay and say so. Returns how many."""
    days = current_app.config["ATTACHMENT_RETENTION_DAYS"]
    if days is None:
        return 0
    retained = now - timedelta(days=days)
    purged = 0
    while rows := db.session.scalars(
        sa.select(Attachment)
        .join(Inquiry, Inquiry.id == Attachment.inquiry_id)
        .where(
            Attachment.state == AttachmentState.STORED,
            Inquiry.status.in_(FINISHED),
            Inquiry.resolved_at < retained,
        )
        .limit(_BATCH)
    ).all():
        for row in rows:
            _delete_after_commit(row)
            row.state, row.purged_at = AttachmentState.PURGED, now
            row.storage_key = row.thumbnail_key = None
        db.session.commit()
        purged += len(rows)
    return purged


def _delete_orphans(age_seconds: float) -> int:
    where = storage()
    deleted = 0
    batch: list[str] = []

    def flush() -> int:
        known = set(
            db.session.scalars(
                sa.select(Attachment.storage_key).where(Attachment.storage_key.in_(batch))
            )
        ) | set(
            db.session.scalars(
                sa.select(Attachment.thumbnail_key).where(Attachment.thumbnail_key.in_(batch))
            )
        )
        db.session.rollback()
        gone = [k for k in batch if k not in known]
        for key in gone:
            where.delete(key)
        batch.clear()
        return len(gone)

    for key in where.keys_older_than(age_seconds):
        batch.append(key)
        if len(batch) >= _BATCH:
            deleted += flush()
    if batch:
        deleted += flush()
    return deleted
