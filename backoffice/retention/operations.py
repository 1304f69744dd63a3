"""The retention of personal data (`flask retention apply`): what has passed its period after a ticket
was finished is erased in place, so every count and time the reports and the funnel read stays.

- RETENTION_INQUIRY_DAYS: a finished ticket's contact fields and bodies — the requester's name, kana,
  organisation, address and telephone, the form's body, every message, reply and note of its thread,
  the text, sender and subject of its inbound mail, and the address and bodies of its mail;
- RETENTION_INBOUND_RAW_DAYS: the original of an inbound mail (once no operator needs it, and its
  ticket is finished);
- RETENTION_MAIL_BODY_DAYS: the bodies of mail sent (of a ticket once it is finished);
- ATTACHMENT_RETENTION_DAYS: the files' contents (backoffice.attachments);
- and always after a day: one-time password challenges (the address they went to) and 初回利用登録
  flows (the address typed), which work for minutes and are read for an hour at most.

A period of None keeps that kind for ever. A ticket counts as finished from its resolved_at, the moment
it was first 解決済, 完了, 却下 or スパム, as for attachments. Each batch is one transaction, so a run
that stops part-way has erased whole batches and the next run goes on; every run is in the audit log.
"""

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from backoffice.attachments import operations as attachments
from backoffice.attachments.models import Attachment
from backoffice.audit.operations import record
from backoffice.db import utcnow
from backoffice.extensions import db
from backoffice.inbound.models import NEEDS_OPERATOR, InboundEmail
from backoffice.inquiries.models import Inquiry, InquiryEvent
from backoffice.inquiries.search_index import inquiry_grams
from backoffice.inquiries.vocabulary import FINISHED
from backoffice.mail.models import EmailStatus, OutboundEmail
from backoffice.otp.models import OtpChallenge
from backoffice.registration.models import RegistrationFlow

# What a screen shows where the data was.
ERASED = "（保存期間を過ぎたため削除しました）"
ERASED_NAME = "（削除済み）"
ERASED_FILENAME = "添付ファイル"

_BATCH = 500
# The hourly cap of one-time password mails reads the last hour's challenges; a flow lasts 30 minutes.
CHALLENGE_KEPT = timedelta(days=1)


@dataclass
class RetentionReport:
    tickets: int = 0  # contact fields and bodies erased
    inbound_originals: int = 0
    mail_bodies: int = 0
    attachments: int = 0  # files whose contents were deleted
    challenges: int = 0  # one-time password challenges and registration flows deleted


def apply(now: datetime | None = None, batch: int = _BATCH) -> RetentionReport:
    """Erase everything past its period; returns how much of each. Idempotent."""
    now = now or utcnow()
    config = current_app.config
    report = RetentionReport()
    if (days := config["RETENTION_INQUIRY_DAYS"]) is not None:
        report.tickets = _erase_tickets(now - timedelta(days=days), now, batch)
    if (days := config["RETENTION_INBOUND_RAW_DAYS"]) is not None:
        report.inbound_originals = _erase_inbound_originals(now - timedelta(days=days), now, batch)
    if (days := config["RETENTION_MAIL_BODY_DAYS"]) is not None:
        report.mail_bodies = _erase_mail_bodies(now - timedelta(days=days), now, batch)
    report.attachments = attachments.purge_retained(now)
    report.challenges = _delete_challenges(now - CHALLENGE_KEPT)
    record(
        "retention.applied",
        actor_type="system",
        actor_label="flask retention apply",
        detail={
            **asdict(report),
            "periods_days": {
                key.lower(): config[key]
                for key in (
                    "RETENTION_INQUIRY_DAYS",
                    "RETENTION_INBOUND_RAW_DAYS",
                    "RETENTION_MAIL_BODY_DAYS",
                    "ATTACHMENT_RETENTION_DAYS",
                )
            },
        },
    )
    db.session.commit()
    return report


def _finished_before(cutoff: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(Inquiry.status.in_(FINISHED), Inquiry.resolved_at < cutoff)


def _erase_tickets(cutoff: datetime, now: datetime, batch: int) -> int:
    erased = 0
    while ids := db.session.scalars(
        sa.select(Inquiry.id)
        .where(Inquiry.anonymised_at.is_(None), _finished_before(cutoff))
        .order_by(Inquiry.resolved_at, Inquiry.id)
        .limit(batch)
    ).all():
        # Still finished and not erased: an operator may have reopened one since it was read.
        done = db.session.execute(
            sa.update(Inquiry)
            .where(Inquiry.id.in_(ids), Inquiry.anonymised_at.is_(None), _finished_before(cutoff))
            .values(
                requester_name=ERASED_NAME,
                requester_kana="",
                organization_name=None,
                email=None,
                phone="",
                body=ERASED,
                messages_text="",
                status_token_sealed=None,
                anonymised_at=now,
                # An operator's page opened before cannot save the erased fields back.
                version=Inquiry.version + 1,
            )
            .execution_options(synchronize_session=False)
        ).rowcount
        these = sa.select(Inquiry.id).where(Inquiry.id.in_(ids), Inquiry.anonymised_at == now)
        # The erased names' one- and two-character search grams.
        db.session.execute(sa.delete(inquiry_grams).where(inquiry_grams.c.inquiry_id.in_(these)))
        db.session.execute(
            sa.update(InquiryEvent)
            .where(InquiryEvent.inquiry_id.in_(these), InquiryEvent.body.is_not(None))
            .values(body=ERASED)
            .execution_options(synchronize_session=False)
        )
        db.session.execute(
            sa.update(InboundEmail)
            .where(InboundEmail.inquiry_id.in_(these))
            .values(from_address="", from_name="", subject="", body_text=ERASED, full_text=ERASED)
            .execution_options(synchronize_session=False)
        )
        db.session.execute(
            sa.update(OutboundEmail)
            .where(OutboundEmail.inquiry_id.in_(these), OutboundEmail.status != EmailStatus.QUEUED)
            .values(
                to_address="",
                reply_to=None,
                body_text=ERASED,
                body_html=ERASED,
                scrubbed_at=sa.func.coalesce(OutboundEmail.scrubbed_at, now),
            )
            .execution_options(synchronize_session=False)
        )
        db.session.execute(
            sa.update(Attachment)
            .where(Attachment.inquiry_id.in_(these))
            .values(
                filename=ERASED_FILENAME,
                uploaded_by=sa.case(
                    (Attachment.operator_id.is_(None), ERASED_NAME), else_=Attachment.uploaded_by
                ),
            )
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
        erased += done
    return erased


def _erase_inbound_originals(cutoff: datetime, now: datetime, batch: int) -> int:
    due = sa.and_(
        InboundEmail.raw_purged_at.is_(None),
        InboundEmail.received_at < cutoff,
        InboundEmail.state.not_in(NEEDS_OPERATOR),
        _unless_ticket_open(InboundEmail.inquiry_id, cutoff),
    )
    values = {"raw_sealed": b"", "raw_purged_at": now}
    return _in_batches(InboundEmail, due, InboundEmail.received_at, values, batch)


def _erase_mail_bodies(cutoff: datetime, now: datetime, batch: int) -> int:
    due = sa.and_(
        OutboundEmail.scrubbed_at.is_(None),
        OutboundEmail.created_at < cutoff,
        OutboundEmail.status != EmailStatus.QUEUED,
        _unless_ticket_open(OutboundEmail.inquiry_id, cutoff),
    )
    values = {"body_text": ERASED, "body_html": ERASED, "scrubbed_at": now}
    return _in_batches(OutboundEmail, due, OutboundEmail.created_at, values, batch)


def _unless_ticket_open(
    inquiry_id: sa.ColumnElement[int], cutoff: datetime
) -> sa.ColumnElement[bool]:
    """On no ticket, or on one finished before `cutoff`."""
    finished = sa.select(Inquiry.id).where(Inquiry.id == inquiry_id, _finished_before(cutoff))
    return sa.or_(inquiry_id.is_(None), finished.exists())


def _in_batches(
    model: type, due: sa.ColumnElement[bool], order: sa.ColumnElement, values: dict, batch: int
) -> int:
    """Update the rows that are `due`, `batch` per transaction, oldest first; how many. Each update
    checks `due` again, so a row changed since it was read is left alone."""
    erased = 0
    while ids := db.session.scalars(
        sa.select(model.id).where(due).order_by(order).limit(batch)
    ).all():
        erased += db.session.execute(
            sa.update(model)
            .where(model.id.in_(ids), due)
            .values(**values)
            .execution_options(synchronize_session=False)
        ).rowcount
        db.session.commit()
    return erased


def _delete_challenges(cutoff: datetime) -> int:
    deleted = db.session.execute(
        sa.delete(OtpChallenge).where(OtpChallenge.created_at < cutoff)
    ).rowcount
    deleted += db.session.execute(
        sa.delete(RegistrationFlow).where(RegistrationFlow.started_at < cutoff)
    ).rowcount
    db.session.commit()
    return deleted
