"""Back-office sign-in (メールアドレス, パスワード, 確認コード), sign-out, and authenticator enrolment."""

from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue

from backoffice.admin.access import SESSION_KEY, current_operator, requires
from backoffice.extensions import limiter
from backoffice.normalize import InvalidInput
from backoffice.operators import operations
from backoffice.operators.models import Operator
from forms.errors import populate_errors
from forms.operators import CodeForm, EnrolForm, PasswordCheckForm, SignInForm

bp = Blueprint("admin_auth", __name__, url_prefix="/admin")

FAILED = "メールアドレス、パスワードまたは確認コードが正しくありません。"
ENROL_FAILED = (
    "メールアドレスまたはパスワードが正しくないか、この画面では登録できないアカウントです。"
)


def login_limit() -> str:
    return current_app.config["OPERATOR_LOGIN_LIMIT"]


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never an open redirect; anything else gives the dashboard.

    Browsers read a backslash as a slash and drop tabs and line breaks anywhere in a URL, so `/\\evil`
    or `/<TAB>/evil` would reach another host as `//evil`: a target with a backslash or any control
    character is refused outright rather than second-guessed. What is left must start with exactly one
    "/" and have no host."""
    if (
        target
        and target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
        and not any(ord(c) < 0x20 or ord(c) == 0x7F for c in target)
        and not urlsplit(target).netloc
    ):
        return target
    return url_for("admin.index")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(login_limit, methods=["POST"])
def login() -> ResponseReturnValue:
    """Sign-in: every failure gets the same message; the cookie session starts afresh on success."""
    if current_operator() is not None and request.method == "GET":
        return redirect(_safe_next(request.args.get("next")))
    form = SignInForm()
    error = None
    if form.validate_on_submit():
        try:
            operator = operations.sign_in(form.email.data, form.password.data or "", form.code.data)
        except operations.SignInFailed:
            error = FAILED
        else:
            session.clear()  # nothing from before sign-in survives into the signed-in session
            session[SESSION_KEY] = operations.start_session(operator, request.remote_addr)
            return redirect(_safe_next(request.args.get("next")))
    status = 422 if (error or form.errors) else 200
    return render_template("admin/login.html", form=form, error=error), status


@bp.post("/session/keepalive")
def keepalive() -> ResponseReturnValue:
    """「ログインを続ける」 before the idle limit: loading the session keeps it alive (204), or says it ended."""
    if current_operator() is None:
        return "", 403
    return "", 204


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    """Sign-out (POST only): the server-side session ends, the cookie session is cleared."""
    operations.end_session(session.get(SESSION_KEY))
    session.clear()
    flash("ログアウトしました。", "info")
    return redirect(url_for(".login"))


@bp.route("/enrol", methods=["GET", "POST"])
@limiter.limit(login_limit, methods=["POST"])
def enrol() -> ResponseReturnValue:
    """First enrolment of the authenticator app: after a password check, the QR code of the secret the
    operator was created with. Once a code has been used, this page no longer shows anything."""
    form = EnrolForm()
    error = None
    if form.validate_on_submit():
        try:
            operator = operations.first_enrolment(form.email.data, form.password.data or "")
        except operations.SignInFailed:
            error = ENROL_FAILED
        else:
            uri = operations.provisioning_uri(operator.totp_secret, operator.email)
            html = render_template(
                "admin/enrol_qr.html",
                uri=uri,
                secret=operator.totp_secret,
                qr=operations.qr_code_data_uri(uri),
            )
            return html, 200, {"Cache-Control": "no-store"}
    status = 422 if (error or form.errors) else 200
    return render_template("admin/enrol.html", form=form, error=error), status


@bp.route("/account/authenticator", methods=["GET", "POST"])
@requires()
def reenrol() -> ResponseReturnValue:
    """Replace the authenticator from inside the back office: password again, new QR code, one code."""
    operator = current_operator()
    password_form = PasswordCheckForm()
    code_form = CodeForm()
    stage = request.form.get("stage") if request.method == "POST" else None
    if stage == "password" and password_form.validate():
        try:
            operations.begin_reenrolment(operator, password_form.password.data or "")
        except operations.SignInFailed:
            password_form.password.errors.append("＊パスワードが正しくありません。")
        else:
            return _confirm_stage(operator, code_form, 200)
    elif stage == "confirm":
        if code_form.validate():
            try:
                operations.confirm_reenrolment(operator, code_form.code.data)
            except InvalidInput as invalid:
                populate_errors(code_form, invalid, fallback="code")
            else:
                flash(
                    "認証アプリを登録し直しました。次回から新しい確認コードを使ってください。",
                    "info",
                )
                return redirect(url_for("admin.index"))
        return _confirm_stage(operator, code_form, 422)
    status = 422 if password_form.errors else 200
    return render_template("admin/reenrol.html", stage="password", form=password_form), status


def _confirm_stage(operator: Operator, code_form: CodeForm, status: int) -> ResponseReturnValue:
    secret = operator.totp_pending_secret or ""
    uri = operations.provisioning_uri(secret, operator.email)
    html = render_template(
        "admin/reenrol.html",
        stage="confirm",
        form=code_form,
        uri=uri,
        secret=secret,
        qr=operations.qr_code_data_uri(uri),
    )
    return html, status, {"Cache-Control": "no-store"}
