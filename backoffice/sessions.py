"""Server-side sessions shared by operators and portal users.

The browser's (signed) cookie holds only a random key; the database holds its hash, when it was made and
last used, and whether it was revoked. Logout, a password change or disabling an account revokes rows, so a
copied cookie stops working at once. Sessions end after an idle time and an absolute time.
"""

import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Mapped, mapped_column

from backoffice.db import utcnow
from backoffice.extensions import db

# Kept this long after creation, then deleted when a new session starts (long past any limit), at most
# once per PURGE_SECONDS in each process: a login need not pay for the purge.
RETENTION = timedelta(days=30)
PURGE_SECONDS = 300


class SessionColumns:
    """The columns every session table has (mixed into a model with its owner's foreign key)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    key_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    ip_address: Mapped[str | None] = mapped_column(sa.String(45))


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class SessionStore:
    """Sessions of one kind of account: `model` has SessionColumns, an `owner_column` foreign key and an
    `owner` relationship; the owner is usable while `is_usable(owner)`; limits come from the config."""

    model: Any
    owner_column: str
    idle_minutes_key: str
    absolute_hours_key: str
    is_usable: Callable[[Any], bool]

    def start(self, owner: Any, ip_address: str | None) -> str:
        """A new session for `owner`; returns the key for the cookie. Commits."""
        key = self.begin(owner, ip_address)
        db.session.commit()
        return key

    def begin(self, owner: Any, ip_address: str | None) -> str:
        """A new session for `owner` in the caller's transaction (a login commits it with its own
        changes: one commit, not two); returns the key for the cookie."""
        key = secrets.token_urlsafe(32)
        self._purge_old()
        db.session.add(self.model(key_hash=hash_key(key), owner=owner, ip_address=ip_address))
        return key

    def _purge_old(self) -> None:
        marker = f"kip.next_session_purge.{self.model.__tablename__}"
        now = time.monotonic()
        if current_app.extensions.get(marker, 0.0) > now:
            return
        db.session.execute(
            sa.delete(self.model).where(self.model.created_at < utcnow() - RETENTION)
        )
        current_app.extensions[marker] = now + PURGE_SECONDS

    def find(self, key: str | None) -> Any | None:
        if not key:
            return None
        return db.session.scalar(sa.select(self.model).where(self.model.key_hash == hash_key(key)))

    def peek(self, key: str | None, *, now: datetime | None = None) -> Any | None:
        """The owner of a live session, or None, like `load` but writing nothing (a page's header
        must not commit the request's work, nor keep the session alive by being looked at)."""
        row = self.find(key)
        if row is None or row.revoked_at is not None:
            return None
        return row.owner if self._live(row, now or utcnow()) else None

    def _live(self, row: Any, now: datetime) -> bool:
        """Neither idle too long nor past its absolute limit, and its owner still usable."""
        config = current_app.config
        idle = now - row.last_seen_at > timedelta(minutes=config[self.idle_minutes_key])
        expired = now - row.created_at > timedelta(hours=config[self.absolute_hours_key])
        return not (idle or expired or not self.is_usable(row.owner))

    def load(self, key: str | None, *, now: datetime | None = None) -> Any | None:
        """The owner of a live session, or None (unknown, revoked, idle too long, past its absolute
        limit, owner no longer usable). Keeps a live session alive."""
        row = self.find(key)
        if row is None or row.revoked_at is not None:
            return None
        now = now or utcnow()
        if not self._live(row, now):
            row.revoked_at = now
            db.session.commit()
            return None
        if now - row.last_seen_at > timedelta(seconds=60):  # one write a minute is enough
            row.last_seen_at = now
            db.session.commit()
        return row.owner

    def end(self, key: str | None) -> Any | None:
        """Revoke this session (in the caller's transaction); returns its owner if it was live."""
        row = self.find(key)
        if row is None or row.revoked_at is not None:
            return None
        row.revoked_at = utcnow()
        return row.owner

    def revoke_all(self, owner: Any, *, keep: str | None = None) -> None:
        """Revoke every session of `owner` but the one with key `keep` (caller's transaction)."""
        query = sa.update(self.model).where(
            getattr(self.model, self.owner_column) == owner.id, self.model.revoked_at.is_(None)
        )
        if keep:
            query = query.where(self.model.key_hash != hash_key(keep))
        db.session.execute(
            query.values(revoked_at=utcnow()).execution_options(synchronize_session=False)
        )
