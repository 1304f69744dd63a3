"""Use cases of the public inquiry form: category tree, drafts between steps, and sending an inquiry.

Each function that writes owns its transaction: it commits on success and rolls back on failure, so an
inquiry is never half-saved.
"""

import logging
import secrets
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from backoffice.alerts import operations as alerts
from backoffice.attachments import operations as attachments
from backoffice.attachments.checks import Stored
from backoffice.business_days import due_date
from backoffice.db import utcnow
from backoffice.display import to_jst
from backoffice.extensions import db
from backoffice.inquiries import links, notifications, targets
from backoffice.inquiries.actors import REQUESTER, Actor
from backoffice.inquiries.drafts import InquiryDraft
from backoffice.inquiries.models import (
    AccountRequestDetails,
    Inquiry,
    InquiryCategory,
    InquiryEvent,
)
from backoffice.inquiries.vocabulary import PUBLIC_KINDS, EventKind, InquiryStatus
from backoffice.onboarding import progress

log = logging.getLogger(__name__)

# 受付番号: no 0/O, 1/I/L, so that it survives being read out on the phone.
REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


class CategoryUnavailable(Exception):
    """The chosen 中カテゴリー no longer takes inquiries (deactivated, or moved, since the form was shown)."""


@dataclass(frozen=True)
class AccountRequestInput:
    medical_code: str
    medical_code_check_ok: bool
    institution_name: str
    institution_kana: str
    postal_code: str
    address: str
    department: str | None


@dataclass(frozen=True)
class InquiryInput:
    """What `submit_inquiry` needs, already normalised and validated by the form."""

    category_id: int
    requester_name: str
    requester_kana: str
    organization_name: str | None
    # None only for a ticket an operator logs from a call, a fax or a visit.
    email: str | None
    phone: str
    body: str
    account_request: AccountRequestInput | None = None


@dataclass
class SubmitResult:
    inquiry: Inquiry
    created: bool
    # Read before the commit expires `inquiry`, so that showing it costs no further query.
    reference_number: str = ""


@dataclass(eq=False)
class CategoryNode:
    """A read-only copy of a category for the public form, shared between requests (see category_tree)."""

    id: int
    name: str
    is_active: bool
    is_account_request: bool
    parent: "CategoryNode | None" = None
    children: list["CategoryNode"] = field(default_factory=list)


_TREE_CACHE = "kip.category_tree"


def category_tree() -> list[CategoryNode]:
    """Active 大カテゴリー in order, each with its 中カテゴリー (empty ones left out).

    Every step of the form needs the tree, so each process keeps a copy for CATEGORY_CACHE_SECONDS: a
    category closed in the back office may still be offered for that long, and sending then answers
    with the usual message, because submit_inquiry checks the category in the database.
    """
    ttl = current_app.config["CATEGORY_CACHE_SECONDS"]
    cached = current_app.extensions.get(_TREE_CACHE)
    now = time.monotonic()
    if ttl and cached and cached[0] > now:
        return cached[1]
    majors = db.session.scalars(
        sa.select(InquiryCategory)
        .where(InquiryCategory.parent_id.is_(None), InquiryCategory.is_active)
        .order_by(InquiryCategory.position, InquiryCategory.id)
        .options(selectinload(InquiryCategory.children))
    ).all()
    tree = []
    for major in majors:
        if not any(c.is_active for c in major.children):
            continue
        node = CategoryNode(major.id, major.name, major.is_active, major.is_account_request)
        node.children = [
            CategoryNode(c.id, c.name, c.is_active, c.is_account_request, parent=node)
            for c in major.children
        ]
        tree.append(node)
    current_app.extensions[_TREE_CACHE] = (now + ttl, tree)
    return tree


def forget_category_tree() -> None:
    """Drop this process's copy of the tree (after a change made here)."""
    current_app.extensions.pop(_TREE_CACHE, None)


def save_draft(
    data: dict[str, Any],
    key: str | None,
    *,
    files: list[Stored] | None = None,
    remove: Iterable[int] = (),
) -> str:
    """Store what the requester typed, with the files taken at this step (backoffice/attachments:
    kept with the draft until 送信 or its expiry) and without those `remove` names; returns the
    draft's key (a fresh one unless `key` still exists)."""
    draft = db.session.get(InquiryDraft, key) if key else None
    listed = (draft.data.get(attachments.DRAFT_FILES) or []) if draft else []
    if draft is None:
        _purge_old_drafts()
        key = secrets.token_urlsafe(32)
        draft = InquiryDraft(key=key, data=data)
        db.session.add(draft)
    else:
        draft.created_at = utcnow()
    if files or remove or listed:
        data = {
            **data,
            attachments.DRAFT_FILES: attachments.keep_with_draft(key, files or [], remove, listed),
        }
    draft.data = data
    db.session.commit()
    return key


def load_draft(key: str | None) -> InquiryDraft | None:
    if not key:
        return None
    draft = db.session.get(InquiryDraft, key)
    if draft is None or draft.created_at < _draft_cutoff():
        return None
    return draft


def _draft_cutoff() -> datetime:
    return utcnow() - timedelta(hours=current_app.config["INQUIRY_DRAFT_TTL_HOURS"])


_NEXT_PURGE = "kip.next_draft_purge"


def _purge_old_drafts() -> None:
    """Delete expired drafts, at most once per INQUIRY_DRAFT_PURGE_SECONDS in each process (an expired
    draft is never used in between: load_draft checks its age)."""
    now = time.monotonic()
    if current_app.extensions.get(_NEXT_PURGE, 0.0) > now:
        return
    db.session.execute(sa.delete(InquiryDraft).where(InquiryDraft.created_at < _draft_cutoff()))
    current_app.extensions[_NEXT_PURGE] = now + current_app.config["INQUIRY_DRAFT_PURGE_SECONDS"]


def find_by_submission_key(key: str | None) -> Inquiry | None:
    if not key:
        return None
    return db.session.scalar(sa.select(Inquiry).where(Inquiry.submission_key == key))


def new_reference_number() -> str:
    chars = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(8))
    return f"{chars[:4]}-{chars[4:]}"


def submit_inquiry(
    data: InquiryInput,
    *,
    submission_key: str,
    status_url_for: Callable[[str], str],
    draft_files: Sequence[int] = (),
) -> SubmitResult:
    """Create the ticket (status 新規), its first history entry and the acknowledgement email in one
    transaction, and delete the draft it came from.

    Sending the same draft again returns the ticket already made (`created=False`), also when two sends race.
    `status_url_for(token)` builds the status-page link for the email; `draft_files`: the ids of
    the files the draft lists (shown on 確認), which become the ticket's.
    Raises CategoryUnavailable when the 中カテゴリー is no longer active.
    """
    # No look-up of the submission key first: its unique index turns a second send into an
    # IntegrityError below, which is rare, while the look-up would cost every send a query.
    category = db.session.get(
        InquiryCategory, data.category_id, options=[joinedload(InquiryCategory.parent)]
    )
    if (
        category is None
        or category.parent is None
        or not (category.is_active and category.parent.is_active)
    ):
        if existing := find_by_submission_key(submission_key):
            return _existing(existing)  # sent before the category was closed
        raise CategoryUnavailable
    if category.is_account_request != (data.account_request is not None):
        raise ValueError("account-request details must come with, and only with, that category")

    for _attempt in range(5):
        inquiry = build_inquiry(data, category, submission_key)
        token = links.new_token(inquiry)
        db.session.add(inquiry)
        try:
            db.session.flush()
        except IntegrityError:
            db.session.rollback()
            if existing := find_by_submission_key(submission_key):
                return _existing(existing)
            continue  # a 受付番号 collision: draw another
        if draft_files:
            attachments.move_draft_files(submission_key, inquiry, draft_files)
        alerts.note_new_ticket(inquiry, REQUESTER)
        notifications.queue_acknowledgement(inquiry, status_url_for(token))
        db.session.execute(sa.delete(InquiryDraft).where(InquiryDraft.key == submission_key))
        result = SubmitResult(inquiry, created=True, reference_number=inquiry.reference_number)
        try:
            db.session.commit()
        except IntegrityError:
            # Another request committed the same draft between our flush and commit.
            db.session.rollback()
            if existing := find_by_submission_key(submission_key):
                return _existing(existing)
            raise
        log.info("inquiry %s received (category %s)", result.reference_number, data.category_id)
        return result
    raise RuntimeError("could not draw a free 受付番号")


def _existing(inquiry: Inquiry) -> SubmitResult:
    return SubmitResult(inquiry, created=False, reference_number=inquiry.reference_number)


def build_inquiry(
    data: InquiryInput,
    category: InquiryCategory,
    submission_key: str,
    *,
    created_by: Actor = REQUESTER,
) -> Inquiry:
    """A new ticket (新規) with its first history entry, not yet added to the session; `created_by`
    an operator for a ticket made from a mail."""
    inquiry = Inquiry(
        due_on=due_date(to_jst(utcnow()).date(), category.target_business_days),
        reference_number=new_reference_number(),
        submission_key=submission_key,
        category=category,
        status=InquiryStatus.NEW,
        requester_name=data.requester_name,
        requester_kana=data.requester_kana,
        organization_name=data.organization_name,
        email=data.email,
        phone=data.phone,
        body=data.body,
        # Set even when there are none, so that reading it (the acknowledgement does) needs no query.
        account_request=(
            AccountRequestDetails(**asdict(details))
            if (details := data.account_request) is not None
            else None
        ),
    )
    targets.start(inquiry, category, utcnow())
    if (details := data.account_request) is not None:
        progress.requested(details.medical_code, details.institution_name)
    inquiry.events.append(
        InquiryEvent(
            kind=EventKind.CREATED,
            actor=created_by.label,
            operator_id=created_by.id,
            new_value=InquiryStatus.NEW.value,
        )
    )
    return inquiry


def public_thread(inquiry: Inquiry) -> list[InquiryEvent]:
    """What the requester may read: the operators' replies and their own messages, in order (internal
    notes and the history are never among them)."""
    return [e for e in inquiry.events if e.kind in PUBLIC_KINDS]
