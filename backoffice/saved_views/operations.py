"""Saving, listing and deleting an operator's own views of the ticket list. Each operator sees only
their own; nobody else's can be opened or deleted through these verbs."""

import unicodedata
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from backoffice.domain_errors import DomainError
from backoffice.extensions import db
from backoffice.saved_views.models import SavedView

MAX_VIEWS = 20
NAME_MAX = 40
SEARCH_MAX = 200


@dataclass(frozen=True)
class ListState:
    """What the ticket list shows: its filters (key, value), search text and sort."""

    filters: tuple[tuple[str, str], ...] = ()
    search: str | None = None
    sort: str | None = None
    sort_desc: bool = False

    @property
    def narrowed(self) -> bool:
        return bool(self.filters or self.search)


class SavedViewRefused(DomainError):
    field = "name"


class NoSuchView(LookupError):
    """Not a view of this operator's (theirs never existed, or belongs to someone else)."""


def views_of(operator_id: int) -> list[SavedView]:
    return list(
        db.session.scalars(
            sa.select(SavedView)
            .where(SavedView.operator_id == operator_id)
            .order_by(SavedView.name, SavedView.id)
        )
    )


def view_of(operator_id: int, view_id: int) -> SavedView:
    view = db.session.get(SavedView, view_id)
    if view is None or view.operator_id != operator_id:
        raise NoSuchView(view_id)
    return view


def state_of(view: SavedView) -> ListState:
    return ListState(
        filters=tuple((key, value) for key, value in view.filters),
        search=view.search,
        sort=view.sort,
        sort_desc=view.sort_desc,
    )


def save_view(operator_id: int, name: str, state: ListState) -> SavedView:
    """Save the list as `name`. Raises SavedViewRefused (on 「表示名」) for an empty or long name,
    one already used, more than MAX_VIEWS, or a list that is not narrowed at all."""
    name = " ".join(unicodedata.normalize("NFKC", name or "").split())
    if not name:
        raise SavedViewRefused("表示名を入力してください。")
    if len(name) > NAME_MAX:
        raise SavedViewRefused(f"表示名は{NAME_MAX}文字以内で入力してください。")
    if not state.narrowed:
        raise SavedViewRefused("絞り込みか検索をしてから保存してください。")
    if len(state.search or "") > SEARCH_MAX:
        raise SavedViewRefused(
            f"検索する文字が長すぎるため保存できません（{SEARCH_MAX}文字まで）。"
        )
    mine = SavedView.operator_id == operator_id
    if db.session.scalar(sa.select(sa.func.count()).where(mine)) >= MAX_VIEWS:
        raise SavedViewRefused(
            f"保存できる表示は{MAX_VIEWS}件までです。使わない表示を削除してください。"
        )
    view = SavedView(
        operator_id=operator_id,
        name=name,
        filters=[list(pair) for pair in state.filters],
        search=state.search or None,
        sort=state.sort,
        sort_desc=state.sort_desc,
    )
    db.session.add(view)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise SavedViewRefused(
            f"「{name}」という表示はすでにあります。別の名前にしてください。"
        ) from None
    return view


def delete_view(operator_id: int, view_id: int) -> str:
    """Delete one of the operator's views; returns its name. Raises NoSuchView."""
    view = view_of(operator_id, view_id)
    name = view.name
    db.session.delete(view)
    db.session.commit()
    return name
