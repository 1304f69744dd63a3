"""Publishing, changing and withdrawing お知らせ (管理者 only), and the notices a page shows now.

The public pages read the notices on every request, so each process keeps the ones not yet ended
for NOTICE_CACHE_SECONDS and picks those shown at the moment of each request: a notice starts and
ends on time, and a change made in the back office appears within that many seconds."""

import contextlib
import time
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask import current_app, request
from sqlalchemy.exc import SQLAlchemyError

from backoffice.audit.operations import record
from backoffice.db import utcnow
from backoffice.domain_errors import DomainError
from backoffice.extensions import db
from backoffice.notices.models import Notice
from backoffice.operators.operations import OperatorActor

TITLE_MAX = 60
BODY_MAX = 1000
# The pages of each place, by blueprint: the portal (login, 初回利用登録, マイページ) and the public
# ones (the top page, /flows, the お問い合わせフォーム and its status page).
PLACES = {"portal": "portal", "register": "portal", "public": "public", "inquiries": "public"}
_CACHE = "kip.notices"


@dataclass(frozen=True)
class NoticeInput:
    title: str
    body: str
    starts_at: datetime | None  # aware
    ends_at: datetime | None
    on_public: bool
    on_portal: bool
    important: bool = False


@dataclass(frozen=True)
class Shown:
    """A notice as a page shows it (no database row leaves the cache)."""

    id: int
    title: str
    body: str
    important: bool
    on_public: bool
    on_portal: bool
    starts_at: datetime
    ends_at: datetime | None


class NoticeRefused(DomainError):
    pass


class NoSuchNotice(LookupError):
    pass


def _check(data: NoticeInput) -> tuple[str, str]:
    title = " ".join((data.title or "").split())
    body = (data.body or "").strip().replace("\r\n", "\n")
    if not title:
        raise NoticeRefused("見出しを入力してください。", field="title")
    if len(title) > TITLE_MAX:
        raise NoticeRefused(f"見出しは{TITLE_MAX}文字以内で入力してください。", field="title")
    if not body:
        raise NoticeRefused("本文を入力してください。", field="body")
    if len(body) > BODY_MAX:
        raise NoticeRefused(f"本文は{BODY_MAX}文字以内で入力してください。", field="body")
    if data.starts_at is None:
        raise NoticeRefused("掲載開始の日時を入力してください。", field="starts_at")
    if data.ends_at is not None and data.ends_at <= data.starts_at:
        raise NoticeRefused("掲載終了は掲載開始より後の日時にしてください。", field="ends_at")
    if not (data.on_public or data.on_portal):
        raise NoticeRefused("掲載する画面を選んでください。", field="on_public")
    return title, body


def _apply(notice: Notice, data: NoticeInput, actor: OperatorActor) -> None:
    notice.title, notice.body = _check(data)
    notice.starts_at = data.starts_at  # type: ignore[assignment]
    notice.ends_at = data.ends_at
    notice.on_public, notice.on_portal = data.on_public, data.on_portal
    notice.important = data.important
    notice.updated_by = actor.label


def _record(action: str, notice_id: int, title: str, actor: OperatorActor) -> None:
    record(
        action, **actor.audit(), target_type="notice", target_id=notice_id, detail={"notice": title}
    )


def publish(data: NoticeInput, actor: OperatorActor) -> Notice:
    """A new notice, shown from its start. Raises NoticeRefused (naming its field)."""
    notice = Notice()
    _apply(notice, data, actor)
    db.session.add(notice)
    db.session.flush()
    _record("notice.published", notice.id, notice.title, actor)
    db.session.commit()
    forget()
    return notice


def change(notice_id: int, data: NoticeInput, actor: OperatorActor) -> Notice:
    """Raises NoSuchNotice, NoticeRefused."""
    notice = db.session.get(Notice, notice_id)
    if notice is None:
        raise NoSuchNotice(notice_id)
    _apply(notice, data, actor)
    _record("notice.changed", notice.id, notice.title, actor)
    db.session.commit()
    forget()
    return notice


def withdraw(notice_id: int, actor: OperatorActor) -> str:
    """Delete a notice (ended ones too); returns its title. Raises NoSuchNotice."""
    notice = db.session.get(Notice, notice_id)
    if notice is None:
        raise NoSuchNotice(notice_id)
    title = notice.title
    db.session.delete(notice)
    _record("notice.withdrawn", notice_id, title, actor)
    db.session.commit()
    forget()
    return title


def all_notices() -> list[Notice]:
    """Every notice, the latest start first (the back office's list)."""
    return list(db.session.scalars(sa.select(Notice).order_by(Notice.starts_at.desc(), Notice.id)))


def shown(place: str, now: datetime | None = None) -> list[Shown]:
    """The notices `place` ("public" or "portal") shows now: important ones first, then by start."""
    now = now or utcnow()
    return [
        n
        for n in _not_ended()
        if (n.on_public if place == "public" else n.on_portal)
        and n.starts_at <= now
        and (n.ends_at is None or now < n.ends_at)
    ]


def for_request() -> list[Shown]:
    """The notices of this request's page (none on the back office's or an unknown page's). A page
    is never refused for them: when the database cannot answer, the page shows none."""
    place = PLACES.get(request.blueprint or "")
    if place is None:
        return []
    try:
        return shown(place)
    except SQLAlchemyError:
        current_app.logger.warning("notices: not read, the page shows none", exc_info=True)
        with contextlib.suppress(SQLAlchemyError):
            db.session.rollback()  # the rest of the page may still read (PostgreSQL aborts the txn)
        return []


def _not_ended() -> list[Shown]:
    ttl = current_app.config["NOTICE_CACHE_SECONDS"]
    cached = current_app.extensions.get(_CACHE)
    clock = time.monotonic()
    if ttl and cached and cached[0] > clock:
        return cached[1]
    rows = db.session.scalars(
        sa.select(Notice)
        .where(sa.or_(Notice.ends_at.is_(None), Notice.ends_at > utcnow()))
        .order_by(Notice.important.desc(), Notice.starts_at.desc(), Notice.id)
    )
    notices = [
        Shown(n.id, n.title, n.body, n.important, n.on_public, n.on_portal, n.starts_at, n.ends_at)
        for n in rows
    ]
    current_app.extensions[_CACHE] = (clock + ttl, notices)
    return notices


def forget() -> None:
    """Drop this process's copy (the others keep theirs for at most NOTICE_CACHE_SECONDS)."""
    current_app.extensions.pop(_CACHE, None)
