"""Merge two tickets of the same requester: the merged ticket's thread, history, files and mails move
to the surviving one; the merged ticket keeps a pointer there (merged_into) and is 完了, and its status
link and reply address lead to the survivor (links.find, inbound.receive follow the pointer)."""

import sqlalchemy as sa

from backoffice.attachments.models import Attachment
from backoffice.audit.operations import record
from backoffice.db import utcnow
from backoffice.extensions import db
from backoffice.inbound.models import InboundEmail
from backoffice.inquiries import targets, triage
from backoffice.inquiries.links import normalize_reference_number
from backoffice.inquiries.models import Inquiry, InquiryEvent
from backoffice.inquiries.vocabulary import FINISHED, EventKind, InquiryStatus
from backoffice.mail.models import OutboundEmail
from backoffice.operators.operations import OperatorActor


def same_requester(a: Inquiry, b: Inquiry) -> bool:
    """One person: the same address (any case); for logged tickets without one, the same phone."""
    if a.email or b.email:
        return bool(a.email and b.email and a.email.lower() == b.email.lower())
    return bool(a.phone) and a.phone == b.phone


def merge(
    merged_id: int, into_reference: str, actor: OperatorActor, *, expected_version: int
) -> Inquiry:
    """Merge ticket `merged_id` into the ticket numbered `into_reference`; returns the survivor.
    Everything moves once: history entries, messages, files, mails about the ticket, inbound mail.
    Commits. Raises triage.TriageError (field `into`) or triage.StaleInquiry."""
    merged = triage.load(merged_id, expected_version)
    number = normalize_reference_number(into_reference)
    survivor = db.session.scalar(sa.select(Inquiry).where(Inquiry.reference_number == number))
    if survivor is None:
        raise triage.TriageError("＊その受付番号のお問い合わせはありません。", field="into")
    if survivor.id == merged.id:
        raise triage.TriageError("＊このお問い合わせ自身には統合できません。", field="into")
    if merged.merged_into_id is not None:
        raise triage.TriageError("このお問い合わせは統合済みです。", field="into")
    if survivor.merged_into_id is not None:
        raise triage.TriageError(
            f"＊受付番号 {survivor.reference_number} はほかのお問い合わせに統合済みです。"
            f"統合先の {survivor.surviving.reference_number} を入力してください。",
            field="into",
        )
    if not same_requester(merged, survivor):
        raise triage.TriageError(
            "＊依頼者（メールアドレス）が同じお問い合わせにだけ統合できます。", field="into"
        )
    if survivor.status in FINISHED:
        raise triage.TriageError(
            f"＊受付番号 {survivor.reference_number} は{survivor.status.label}です。"
            "統合先を対応中に戻してから統合してください。",
            field="into",
        )

    # The merged inquiry's own text (and the files sent with it) become an entry of the survivor.
    arrival = triage.add_event(
        survivor,
        actor,
        EventKind.MERGED,
        old_value=merged.reference_number,
        body=f"受付番号 {merged.reference_number} を統合しました（履歴と添付ファイルを移しました）。"
        + (f"\n\n統合したお問い合わせの内容：\n{merged.body}" if merged.body else ""),
    )
    db.session.flush()
    db.session.execute(
        sa.update(Attachment)
        .where(Attachment.inquiry_id == merged.id, Attachment.event_id.is_(None))
        .values(event_id=arrival.id)
        .execution_options(synchronize_session=False)
    )
    moved = {"inquiry_id": survivor.id}
    db.session.execute(
        sa.update(InboundEmail)
        .where(InboundEmail.header_inquiry_id == merged.id)
        .values(header_inquiry_id=survivor.id)
        .execution_options(synchronize_session=False)
    )
    for model in (InquiryEvent, Attachment, OutboundEmail, InboundEmail):
        db.session.execute(
            sa.update(model)
            .where(model.inquiry_id == merged.id)
            .values(moved)
            .execution_options(synchronize_session=False)
        )
    tickets = Inquiry.__table__
    db.session.execute(
        sa.update(tickets)
        .where(tickets.c.id == survivor.id)
        .values(messages_text=tickets.c.messages_text + (merged.messages_text + "\n" + merged.body))
    )
    db.session.expire(survivor, ["events", "messages_text"])
    db.session.expire(merged, ["events", "messages_text"])
    merged.messages_text = ""
    if merged.requester_replied_at and not survivor.requester_replied_at:
        # An answer not yet replied to arrives with it: the survivor is back at work.
        survivor.requester_replied_at = merged.requester_replied_at
        if survivor.status is InquiryStatus.WAITING:
            triage.move_status(survivor, InquiryStatus.IN_PROGRESS, actor)
    merged.merged_into = survivor
    targets.settle(merged)  # never measured again, whatever its status
    triage.add_event(
        merged,
        actor,
        EventKind.MERGED,
        new_value=survivor.reference_number,
        body=f"受付番号 {survivor.reference_number} に統合しました。",
    )
    if merged.status not in FINISHED:
        # Done with for good, whatever the transition map allows from here.
        triage.add_event(
            merged,
            actor,
            EventKind.STATUS_CHANGED,
            old_value=merged.status.value,
            new_value=InquiryStatus.CLOSED.value,
        )
        old_status, now = merged.status, utcnow()
        merged.status = InquiryStatus.CLOSED
        merged.resolved_at = merged.resolved_at or now
        targets.status_moved(merged, old_status, InquiryStatus.CLOSED, now)
        merged.waiting_since = None
        merged.requester_replied_at = None
    record(
        "ticket.merged",
        **actor.audit(),
        target_type="inquiry",
        target_id=merged.id,
        detail={"into": survivor.reference_number},
    )
    triage.commit()
    return survivor
