"""Builds the Flask-Admin back office for one app (never at import time: test apps come and go)."""

from flask import Flask, has_request_context, request
from flask_admin import Admin
from flask_admin.theme import Bootstrap4Theme

from backoffice.admin import alert_settings, auth, credentials
from backoffice.admin.access import current_operator
from backoffice.admin.dashboard import DashboardView
from backoffice.admin.inquiry_list import InquiryView
from backoffice.admin.menu import views
from backoffice.audit import wording
from backoffice.extensions import babel
from backoffice.inquiries.corrections import FIELDS as CORRECTION_FIELDS
from backoffice.inquiries.vocabulary import InquiryStatus
from backoffice.saved_views import operations as saved_views
from backoffice.security import csp_nonce


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=lambda: "ja", timezone_selector=lambda: "Asia/Tokyo")
    app.register_blueprint(auth.bp)
    app.register_blueprint(credentials.bp)
    app.register_blueprint(alert_settings.bp)
    dashboard = DashboardView(name="ダッシュボード", url="/admin", endpoint="admin")
    admin = Admin(
        app,
        name="運営管理画面",
        index_view=dashboard,
        theme=Bootstrap4Theme(base_template="admin/base_ja.html", fluid=True),
        csp_nonce_generator=csp_nonce,
    )
    all_views = views()
    admin.add_views(*all_views)
    dashboard.inquiries = next(v for v in all_views if isinstance(v, InquiryView))

    app.jinja_env.globals["status_label"] = lambda value: (
        InquiryStatus(value).label if value else ""
    )
    app.jinja_env.globals["correction_labels"] = CORRECTION_FIELDS
    # A history entry's author: an operator by their name now (the entry keeps who it was then).
    app.jinja_env.globals["event_actor"] = lambda event: (
        wording.actor_name("operator", event.operator_id, event.actor)
        if event.operator_id is not None
        else event.actor
    )

    app.jinja_env.globals["saved_views_menu"] = _saved_views_menu

    @app.context_processor
    def inject_operator() -> dict[str, object]:
        return {"current_operator": current_operator() if _is_admin_request() else None}


def _saved_views_menu() -> list[tuple[int, str]]:
    """The signed-in operator's saved views, for the menu (read only on pages that show it)."""
    operator = current_operator()
    if operator is None:
        return []
    return [(view.id, view.name) for view in saved_views.views_of(operator.id)]


def _is_admin_request() -> bool:
    return has_request_context() and request.path.startswith("/admin")
