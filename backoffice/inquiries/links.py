"""The status-page link: a random token whose hash finds the ticket, sealed as well so that every
later mail to the requester can carry the same link. A new token (a revoked link, a ticket from
before tokens were sealed) makes the old one stop working."""

import hashlib
import secrets

import sqlalchemy as sa
from cryptography.fernet import InvalidToken

from backoffice import sealing
from backoffice.extensions import db
from backoffice.inquiries.models import Inquiry
from backoffice.urls import external_url


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token(inquiry: Inquiry) -> str:
    """A fresh token for `inquiry` (in the caller's transaction); returns it."""
    token = secrets.token_urlsafe(32)
    inquiry.status_token_hash = hash_token(token)
    inquiry.status_token_sealed = sealing.seal(sealing.STATUS_TOKEN, token)
    return token


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
    """The inquiry whose status-page token this is; the 受付番号 alone never finds anything."""
    return db.session.scalar(
        sa.select(Inquiry).where(Inquiry.status_token_hash == hash_token(token))
    )


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
