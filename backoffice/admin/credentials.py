"""An operator's own credentials: the page of a mailed enrolment link, and the password change.

The services are in backoffice/operators/enrolment.py; an admin's side (invite, resets) is on the
運営担当者 screen (backoffice/admin/settings.py).
"""

from flask import (
    Blueprint,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue

from backoffice.admin.access import SESSION_KEY, current_operator, requires
from backoffice.admin.auth import login_limit
from backoffice.domain_errors import DomainError
from backoffice.extensions import limiter
from backoffice.operators import enrolment, operations
from forms.errors import populate_errors
from forms.operators import EnrolmentLinkForm, OwnPasswordForm

bp = Blueprint("admin_credentials", __name__, url_prefix="/admin")

NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


@bp.route("/enrolment/<token>", methods=["GET", "POST"])
@limiter.limit(login_limit, methods=["POST"])
def enrolment_link(token: str) -> ResponseReturnValue:
    """パスワードの設定 / 認証アプリの登録 from a mailed link: works once, until it expires."""
    try:
        link = enrolment.open_link(token)
    except enrolment.LinkUnusable as unusable:
        return render_template("admin/enrolment_unusable.html", message=str(unusable)), 404
    wants = enrolment.needs(link)
    form = EnrolmentLinkForm()
    if not wants.new_password:
        del form.new
        del form.confirm
    if not wants.current_password:
        del form.current
    if form.validate_on_submit():
        try:
            enrolment.complete(
                token,
                new_password=form.new.data if wants.new_password else "",
                current_password=form.current.data if wants.current_password else "",
                code=form.code.data,
            )
        except enrolment.LinkUnusable as unusable:
            return render_template("admin/enrolment_unusable.html", message=str(unusable)), 404
        except DomainError as failure:
            populate_errors(form, failure, fallback="code")
        else:
            flash(
                "登録が完了しました。メールアドレス、パスワードと確認コードでログインしてください。",
                "info",
            )
            return redirect(url_for("admin_auth.login"))
    context: dict[str, object] = {"form": form, "wants": wants, "operator": link.operator}
    if wants.new_authenticator:
        uri = operations.provisioning_uri(link.operator.totp_secret, link.operator.email)
        context.update(
            uri=uri, secret=link.operator.totp_secret, qr=operations.qr_code_data_uri(uri)
        )
    status = 422 if form.errors else 200
    return render_template("admin/enrolment_link.html", **context), status, NO_STORE


@bp.route("/account/password", methods=["GET", "POST"])
@requires()
def change_password() -> ResponseReturnValue:
    """パスワードの変更: the current password and a code; every other session ends."""
    operator = current_operator()
    form = OwnPasswordForm()
    if form.validate_on_submit():
        try:
            key = enrolment.change_own_password(
                operator, form.current.data, form.code.data, form.new.data, request.remote_addr
            )
        except DomainError as failure:
            populate_errors(form, failure, fallback="new")
        else:
            session.clear()  # a new cookie session with the new key
            session[SESSION_KEY] = key
            flash("パスワードを変更しました。ほかの端末でのログインは終了しました。", "info")
            return redirect(url_for("admin.index"))
    status = 422 if form.errors else 200
    return render_template("admin/password_change.html", form=form), status
