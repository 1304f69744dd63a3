"""保存した表示 on the ticket list: save what the list shows under a name, open it from the menu, and
delete it. Each operator has their own (backoffice.saved_views); 閲覧者 too, as views change nothing."""

from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose

from backoffice.saved_views import operations as saved
from forms.errors import populate_errors
from forms.saved_views import SaveViewForm


class SavedViewsMixin:
    """Mixed into the ticket list (InquiryView); uses its filters, columns and actor()."""

    def list_state(self) -> saved.ListState:
        """What the list at this request's query string shows, filters named by their key."""
        args = self._get_list_extra_args()  # type: ignore[attr-defined]
        filters = []
        for index, _name, value in args.filters or ():
            key = getattr(self._filters[index], "key", "")  # type: ignore[attr-defined]
            if key:
                filters.append((key, value))
        column = self._get_column_by_idx(args.sort)  # type: ignore[attr-defined]
        return saved.ListState(
            filters=tuple(filters),
            search=args.search or None,
            sort=column[0] if column else None,
            sort_desc=bool(args.sort_desc) if column else False,
        )

    def list_args(self) -> dict[str, str]:
        """This request's arguments that say what the list shows (filters, search, sort, page size),
        for links that keep it: never url_for's own keywords (`_external`, `_anchor`, `_method`…)."""
        return {
            key: value
            for key, value in request.args.items()
            if key.startswith("flt") or key in ("search", "sort", "desc", "page_size")
        }

    def state_url(self, state: saved.ListState) -> str:
        """The list showing `state`; filters or a sort column this release no longer has are left out."""
        by_key = {
            getattr(flt, "key", ""): (index, flt)
            for index, flt in enumerate(self._filters or [])  # type: ignore[attr-defined]
        }
        args: dict[str, Any] = {}
        for key, value in state.filters:
            if key in by_key:
                index, flt = by_key[key]
                arg = self.get_filter_arg(index, flt)  # type: ignore[attr-defined]
                args[f"flt{len(args)}_{arg}"] = value
        if state.search:
            args["search"] = state.search
        columns = [name for name, _label in self._list_columns]  # type: ignore[attr-defined]
        if state.sort in columns:
            args["sort"] = columns.index(state.sort)
            if state.sort_desc:
                args["desc"] = 1
        return url_for(f"{self.endpoint}.index_view", **args)  # type: ignore[attr-defined]

    @expose("/views/save", methods=("POST",))
    def save_view(self) -> Any:
        """Save the list of this request's query string (the form posts to the list's own args)."""
        form = SaveViewForm()
        if form.validate_on_submit():
            try:
                view = saved.save_view(self.actor().id, form.name.data, self.list_state())  # type: ignore[attr-defined]
            except saved.SavedViewRefused as failure:
                populate_errors(form, failure, fallback="name")
            else:
                flash(
                    f"「{view.name}」を保存しました。メニューの「保存した表示」から開けます。",
                    "success",
                )
                return redirect(self.state_url(saved.state_of(view)))
        self._template_args["save_form"] = form  # type: ignore[attr-defined]
        response = self.index_view()  # type: ignore[attr-defined]
        return response, 422

    @expose("/views/")
    def saved_views(self) -> Any:
        views = saved.views_of(self.actor().id)  # type: ignore[attr-defined]
        rows = [(view, self.state_url(saved.state_of(view))) for view in views]
        return self.render("admin/tickets/saved_views.html", rows=rows, limit=saved.MAX_VIEWS)  # type: ignore[attr-defined]

    @expose("/views/<int:view_id>")
    def open_view(self, view_id: int) -> Any:
        try:
            view = saved.view_of(self.actor().id, view_id)  # type: ignore[attr-defined]
        except saved.NoSuchView:
            abort(404)
        return redirect(self.state_url(saved.state_of(view)))

    @expose("/views/<int:view_id>/delete", methods=("POST",))
    def delete_view(self, view_id: int) -> Any:
        # CSRFProtect has checked the form's token before the view runs.
        try:
            name = saved.delete_view(self.actor().id, view_id)  # type: ignore[attr-defined]
        except saved.NoSuchView:
            abort(404)
        flash(f"「{name}」を削除しました。", "success")
        return redirect(url_for(".saved_views"))
