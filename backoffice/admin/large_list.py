"""List tuning for tables of national size (a million inquiries; hundreds of thousands of users): the
search box's own WHERE clause, counts that never read every match, and far pages loaded by id.

Made from the inquiry list's tuning (docs/performance.md); a view opts in by mixing `LargeListMixin`
(or only `SearchHookMixin`) in before `SecuredModelView`.
"""

from typing import Any

import sqlalchemy as sa
from flask import g

from backoffice.extensions import db


class SearchHookMixin:
    """The search box through `search_clause` instead of Flask-Admin's `ILIKE '%term%'` per column."""

    def search_clause(self, text: str) -> Any | None:
        """The WHERE clause for what was typed in the search box, shaped for the table's indexes, or
        None to search as Flask-Admin does (`ILIKE '%term%'` over each column of
        `column_searchable_list`, which reads the whole table)."""
        return None

    def _apply_search(
        self, query: Any, count_query: Any, joins: Any, count_joins: Any, search: str
    ) -> tuple[Any, Any, Any, Any]:
        clause = self.search_clause(search)
        if clause is None:
            return super()._apply_search(query, count_query, joins, count_joins, search)  # type: ignore[misc]
        query = query.filter(clause)
        if count_query is not None:
            count_query = count_query.filter(clause)
        return query, count_query, joins, count_joins


class _CappedCount(sa.orm.Query[Any]):
    """The count query Flask-Admin filters and then reads with `.scalar()`: here that counts at most
    `cap` + 1 matches, so a broad search (a common surname, 25,000 of a million inquiries) costs what a
    narrow one does instead of reading every match."""

    cap = 1000

    def scalar(self) -> Any:
        matches = self.order_by(None).limit(self.cap + 1).subquery()
        return self.session.scalar(sa.select(sa.func.count()).select_from(matches))


class LargeListMixin(SearchHookMixin):
    """Counted without reading every row, and far or filtered pages loaded by id.

    - The whole list is counted by `whole_count_query()` (a counter), and a list filtered by one filter
      alone by `counted_total()` where a counter keeps that number (the same numbers as the dashboard).
    - Any other filter or search, and the whole list when no counter keeps its size, counts its matches
      only up to `count_cap`; a list with more shows 「1,000件以上」 and a previous/next pager instead of
      page numbers.
    - From `deferred_join_from` rows on, and on every filtered page, the page's ids are read first and
      the rows loaded by primary key (see `_apply_pagination`).
    """

    count_cap = 1000
    deferred_join_from = 1000

    def whole_count_query(self) -> Any | None:
        """A query whose scalar is the number of rows of the unfiltered list, or None to count them."""
        return None

    def counted_total(self, flt: Any, value: Any) -> int | None:
        """The number of rows of the list filtered by `flt` alone (with its raw `value`), from a
        counter; None when no counter keeps it."""
        return None

    def get_list(
        self,
        page: Any,
        sort_column: Any,
        sort_desc: Any,
        search: Any,
        filters: Any,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        searched = bool(search and search.strip())
        total = None
        if not searched and len(filters or ()) == 1:
            index, _name, value = filters[0]
            total = self.counted_total(self._filters[index], value)  # type: ignore[attr-defined]
        g.large_list_count = (
            "counter"
            if total is not None
            else "whole"
            if not searched and not filters and self.whole_count_query() is not None
            else "capped"
        )
        g.large_list_filtered = bool(filters)
        count, data = super().get_list(  # type: ignore[misc]
            page, sort_column, sort_desc, search, filters, *args, **kwargs
        )
        g.large_list_over_cap = False
        if total is not None:
            count = total
        elif g.large_list_count == "capped" and count is not None and count > self.count_cap:
            g.large_list_over_cap = True
            count = None  # Flask-Admin then shows its previous/next pager
        return count, data

    def get_count_query(self) -> Any:
        mode = g.get("large_list_count")
        if mode == "whole":
            return self.whole_count_query()
        if mode == "counter":
            return None  # get_list reads the counter
        query = _CappedCount([self.model.id], db.session())  # type: ignore[attr-defined]
        query.cap = self.count_cap
        return query

    def render(self, template: str, **kwargs: Any) -> Any:
        if template == self.list_template and g.get("large_list_over_cap"):  # type: ignore[attr-defined]
            kwargs["count"] = f"{self.count_cap:,}件以上"
        return super().render(template, **kwargs)  # type: ignore[misc]

    def _apply_pagination(self, query: Any, page: int | None, page_size: int | None) -> Any:
        """Far pages and filtered pages read the page's ids first, from an index alone (an index-only
        scan), then load exactly those rows, by primary key, in that order.

        Asked for whole rows at once, PostgreSQL may walk the wrong index: (created_at, id) for 完了,
        skipping the 46,000 newest inquiries that are still open; for 未回答 the partial index of open
        inquiries whole (20,000 rows) because it misjudges how many it holds. The second statement keeps
        none of the filters, so it has nothing to misjudge."""
        size = self.page_size if page_size is None else page_size  # type: ignore[attr-defined]
        skipped = (page or 0) * (size or 0)
        if not size or not (skipped >= self.deferred_join_from or g.get("large_list_filtered")):
            return super()._apply_pagination(query, page, page_size)  # type: ignore[misc]
        model_id = self.model.id  # type: ignore[attr-defined]
        ids = [i for (i,) in query.with_entities(model_id).limit(size).offset(skipped)]
        if not ids:
            return self.get_query().filter(sa.false())  # type: ignore[attr-defined]
        position = sa.case({row_id: n for n, row_id in enumerate(ids)}, value=model_id)
        return self.get_query().filter(model_id.in_(ids)).order_by(position)  # type: ignore[attr-defined]
