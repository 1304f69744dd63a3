"""The secured base of every back-office screen: who may open it, who may change anything in it, and an
audit event for every change made through a Flask-Admin form.

Access is checked here and nowhere else: every view and the index answer 403 to a signed-in operator
without the role and send anyone else to sign-in. Changes go through services, never through editable
columns of state.
"""

from typing import Any

from flask import abort, url_for
from flask_admin import expose
from flask_admin.contrib.sqla import ModelView
from flask_admin.contrib.sqla.typefmt import DEFAULT_FORMATTERS
from flask_wtf import FlaskForm
from markupsafe import Markup

from backoffice.admin.access import MANAGE, READ, current_operator, refuse
from backoffice.audit.operations import record
from backoffice.operators.models import Role
from backoffice.operators.operations import OperatorActor


class SecuredMixin:
    """Who may open the view (`roles`) and who may change anything in it (`write_roles`)."""

    roles: tuple[Role, ...] = READ
    write_roles: tuple[Role, ...] = MANAGE

    def is_accessible(self) -> bool:
        operator = current_operator()
        return operator is not None and operator.can(*self.roles)

    def inaccessible_callback(self, name: str, **kwargs: Any) -> Any:
        return refuse(self.roles)

    def can_write(self) -> bool:
        operator = current_operator()
        return operator is not None and operator.can(*self.write_roles)

    def actor(self) -> OperatorActor:
        operator = current_operator()
        if operator is None:  # is_accessible() ran first; this only guards misuse
            abort(403)
        return OperatorActor.of(operator)


def _yes_no(view: Any, value: bool, name: str) -> Markup:
    """A boolean cell: the icon for sight, はい／いいえ for screen readers (Flask-Admin's has no text)."""
    if value:
        return Markup(
            '<span class="fa fa-check-circle" aria-hidden="true"></span><span class="sr-only">はい</span>'
        )
    return Markup(
        '<span class="fa fa-minus-circle" aria-hidden="true"></span><span class="sr-only">いいえ</span>'
    )


class SecuredModelView(SecuredMixin, ModelView):
    form_base_class = FlaskForm  # Flask-WTF: every form carries the CSRF token
    can_view_details = False
    page_size = 50
    can_set_page_size = True
    list_template = "admin/list_ja.html"
    column_type_formatters = {**DEFAULT_FORMATTERS, bool: _yes_no}

    @property
    def column_display_actions(self) -> bool:  # type: ignore[override]
        # The buttons column only where a row has buttons (for this operator): no empty column.
        return bool(self.get_list_row_actions())

    # Create/edit/delete follow the operator's role on every request.
    @property
    def can_create(self) -> bool:  # type: ignore[override]
        return self.allow_create and self.can_write()

    @property
    def can_edit(self) -> bool:  # type: ignore[override]
        return self.allow_edit and self.can_write()

    @property
    def can_delete(self) -> bool:  # type: ignore[override]
        return self.allow_delete and self.can_write()

    allow_create = True
    allow_edit = True
    allow_delete = False

    def get_empty_list_message(self) -> str:
        return "該当するものはありません。"

    def row_label(self, row: Any) -> str:
        """What names a row for a screen reader beside its icon-only buttons."""
        for attribute in ("name", "title", "subject", "email"):
            if value := getattr(row, attribute, None):
                return str(value)
        return f"ID {getattr(row, 'id', '')}"

    def is_action_allowed(self, name: str) -> bool:
        return self.can_write() and super().is_action_allowed(name)

    @expose("/action/", methods=("POST",))
    def action_view(self) -> Any:
        # Refuse outright rather than redirecting back silently, as Flask-Admin would.
        if not self.can_write():
            abort(403)
        return super().action_view()

    def on_model_change(self, form: Any, model: Any, is_created: bool) -> None:
        # Flask-Admin commits the form's change; its audit event goes into the same transaction.
        changed = {
            f.name: _plain(f.data)
            for f in form
            if f.name != "csrf_token" and f.object_data != f.data
        }
        record(
            f"{self.endpoint}.{'created' if is_created else 'updated'}",
            **self.actor().audit(),
            target_type=self.endpoint,
            target_id=getattr(model, "id", None),
            detail={"fields": changed} if changed else None,
        )

    def filter_url(self, **values: str | None) -> str:
        """The list filtered by the named filters (their `key`, see backoffice.admin.filters), e.g.
        `filter_url(status="new")`; None values are left out."""
        args = {}
        position = 0
        for index, flt in enumerate(self._filters or []):
            value = values.get(getattr(flt, "key", ""))
            if value is not None:
                args[f"flt{position}_{self.get_filter_arg(index, flt)}"] = value
                position += 1
        return url_for(f"{self.endpoint}.index_view", **args)


def _plain(value: Any) -> Any:
    if isinstance(value, str | int | bool | float) or value is None:
        return value
    return str(value)


def ids_of(ids: list[str]) -> list[int]:
    """The row ids an @action receives (Flask-Admin passes them as strings)."""
    return [int(i) for i in ids]
