"""通知の設定: an operator's own choice of alerts by mail (backoffice/alerts)."""

from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue

from backoffice.admin.access import current_operator, requires
from backoffice.alerts import operations as alerts
from backoffice.inquiries.operations import category_tree
from backoffice.operators.models import Role
from forms.alerts import AlertSettingsForm
from forms.errors import populate_errors

bp = Blueprint("admin_alerts", __name__, url_prefix="/admin")


@bp.route("/account/alerts", methods=["GET", "POST"])
@requires(Role.ADMIN, Role.AGENT)
def settings() -> ResponseReturnValue:
    """Which alerts the signed-in operator gets: the form filled with their choices, saved on POST."""
    operator = current_operator()
    form = AlertSettingsForm(data=alerts.settings_of(operator).__dict__)
    tree = category_tree()
    form.watched.choices = [(c.id, c.name) for major in tree for c in major.children]
    if form.validate_on_submit():
        try:
            alerts.save_settings(operator, form.to_choices())
        except alerts.UnknownCategory as failure:
            populate_errors(form, failure, fallback="watched")
        else:
            flash("通知の設定を保存しました。", "info")
            return redirect(url_for("admin_alerts.settings"))
    status = 422 if form.errors else 200
    return render_template("admin/alert_settings.html", form=form, tree=tree), status
