"""The status-page link: a random token whose hash finds the ticket, sealed as well so that every
later mail to the requester can carry the same link. A new token (a revoked link, a ticket from
before tokens were sealed) makes the old one stop working."""

import hashlib
import secrets
from datetime import timedelta

import sqlalchemy as sa
from cryptography.fernet import InvalidToken
from flask import current_app
from sqlalchemy.orm.exc import StaleDataError

from backoffice import sealing
from backoffice.audit.models import Outcome
from backoffice.audit.operations import record
from backoffice.db import utcnow
from backoffice.extensions import db
from backoffice.inquiries.actors import Actor
from backoffice.inquiries.models import Inquiry
from backoffice.inquiries.requester_mail import queue_to_requester
from backoffice.normalize import nfkc, normalize_email
from backoffice.urls import external_url


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token(inquiry: Inquiry) -> str:
    """A fresh token for `inquiry` (in the caller's transaction); returns it."""
    token = secrets.token_urlsafe(32)
    inquiry.status_token_hash = hash_token(token)
    inquiry.status_token_sealed = sealing.seal(sealing.STATUS_TOKEN, token)
    return token


def void_merged(inquiry: Inquiry) -> None:
    """The links and reply addresses of the tickets merged into `inquiry` (which lead to it) stop
    working with its own old link (caller's transaction): after a leak or a corrected address."""
    parents = [inquiry.id]
    while parents:
        children = db.session.scalars(
            sa.select(Inquiry.id).where(Inquiry.merged_into_id.in_(parents))
        ).all()
        for child in children:
            db.session.execute(
                sa.update(Inquiry)
                .where(Inquiry.id == child)
                .values(
                    status_token_hash=hash_token(secrets.token_urlsafe(32)),
                    status_token_sealed=None,
                    reply_token=None,
                )
                .execution_options(synchronize_session=False)
            )
        parents = list(children)


def remember(inquiry: Inquiry, token: str) -> None:
    """Seal the token a requester came with, for a ticket from before tokens were sealed (caller's
    transaction), so that answering does not replace the link in their hands."""
    if inquiry.status_token_sealed is None and inquiry.status_token_hash == hash_token(token):
        inquiry.status_token_sealed = sealing.seal(sealing.STATUS_TOKEN, token)


def status_url(inquiry: Inquiry) -> str:
    """The link for a mail, built from PUBLIC_URL. Mints a token (caller's transaction) when none is
    sealed, or when no configured key opens it (SECRET_KEY rotated without `tickets reseal`): the mail
    goes out with a working link either way."""
    token = None
    if inquiry.status_token_sealed:
        try:
            token = sealing.unseal(sealing.STATUS_TOKEN, inquiry.status_token_sealed)
        except InvalidToken:
            token = None
    return url_for_token(token or new_token(inquiry))


def url_for_token(token: str) -> str:
    return external_url("inquiries.status", token=token)


def find(token: str) -> Inquiry | None:
    """The inquiry whose status-page token this is (for a merged one, the ticket it was merged
    into: the requester's link leads there); the 受付番号 alone never finds anything."""
    inquiry = db.session.scalar(
        sa.select(Inquiry).where(Inquiry.status_token_hash == hash_token(token))
    )
    return inquiry.surviving if inquiry is not None else None


def normalize_reference_number(value: str | None) -> str:
    """「k7qd3mwa」, 「Ｋ７ＱＤ－３ＭＷＡ」 → 「K7QD-3MWA」 (what is typed from a mail or read on the phone)."""
    text = nfkc(value).upper()
    chars = "".join(c for c in text if c.isalnum())
    return f"{chars[:4]}-{chars[4:]}" if len(chars) == 8 else text.strip()


def resend_link(reference_number: str, email: str) -> None:
    """Mail the status link again when the 受付番号 and the address belong together, at most once per
    INQUIRY_LINK_RESEND_MINUTES per ticket. The caller answers the same whatever happened, so the pair
    cannot be probed. Commits."""
    address = normalize_email(email).lower()
    inquiry = db.session.scalar(
        sa.select(Inquiry).where(Inquiry.reference_number == reference_number)
    )
    # A merged ticket's link leads to the survivor: the survivor's address decides, its link goes.
    inquiry = inquiry.surviving if inquiry is not None else None
    if inquiry is None or not inquiry.email or inquiry.email.lower() != address:
        record("ticket.link_requested", outcome=Outcome.FAILURE, detail={"reason": "no_match"})
        db.session.commit()
        return
    now = utcnow()
    cooldown = timedelta(minutes=current_app.config["INQUIRY_LINK_RESEND_MINUTES"])
    if inquiry.link_sent_at is not None and now - inquiry.link_sent_at < cooldown:
        record(
            "ticket.link_requested",
            outcome=Outcome.FAILURE,
            target_type="inquiry",
            target_id=inquiry.id,
            detail={"reason": "cooldown"},
        )
        db.session.commit()
        return
    inquiry.link_sent_at = now
    _queue_link(inquiry, status_url(inquiry), revoked=False)
    record("ticket.link_requested", target_type="inquiry", target_id=inquiry.id)
    try:
        db.session.commit()
    except StaleDataError:
        db.session.rollback()  # the ticket changed at this moment: the requester may ask again


def revoke(inquiry_id: int, actor: Actor) -> Inquiry:
    """A leaked link stops working: a new token, mailed to the requester. Commits; a change of the
    ticket at the same moment is retried over."""
    for _attempt in range(3):
        inquiry = db.session.get(Inquiry, inquiry_id, populate_existing=True)
        token = new_token(inquiry)
        inquiry.reply_token = None  # the leaked mail's reply address stops finding the ticket too
        void_merged(inquiry)
        _queue_link(inquiry, url_for_token(token), revoked=True)
        record("ticket.link_revoked", **actor.audit(), target_type="inquiry", target_id=inquiry.id)
        try:
            db.session.commit()
        except StaleDataError:
            db.session.rollback()
            continue
        return inquiry
    raise RuntimeError("the ticket kept changing while its link was re-issued")


def _queue_link(inquiry: Inquiry, url: str, *, revoked: bool) -> None:
    queue_to_requester("inquiry_link", inquiry, status_url=url, revoked=revoked)


def reseal_tokens(batch: int = 1000) -> int:
    """Seal every stored token under the current SECRET_KEY (after a rotation), `batch` per commit;
    a token no configured key opens is left for `status_url` to replace. Returns how many."""
    done, after = 0, 0
    while rows := db.session.execute(
        sa.select(Inquiry.id, Inquiry.status_token_sealed)
        .where(Inquiry.status_token_sealed.is_not(None), Inquiry.id > after)
        .order_by(Inquiry.id)
        .limit(batch)
    ).all():
        for row in rows:
            try:
                sealed = sealing.reseal(sealing.STATUS_TOKEN, row.status_token_sealed)
            except InvalidToken:
                continue
            db.session.execute(
                sa.update(Inquiry)
                .where(Inquiry.id == row.id)
                .values(status_token_sealed=sealed)
                .execution_options(synchronize_session=False)
            )
            done += 1
        db.session.commit()
        after = rows[-1].id
    return done
