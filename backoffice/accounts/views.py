"""The portal's login and first-login steps, and the gate every signed-in page passes (マイページ's routes
are in mypage_views.py).

Login is a server-side state machine: ID and password → ワンタイムパスワード (bound to this browser) → a new
session; then, only while needed and in this order, the password change and the 利用規約. Until a step is
done every other portal page sends the user back to it, so nothing is reachable by skipping ahead.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import (
    Blueprint,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import SQLAlchemyError

from backoffice.accounts import first_login
from backoffice.accounts import login as account_login
from backoffice.accounts.errors import AccountError
from backoffice.accounts.models import PortalUser
from backoffice.domain_errors import DomainError
from backoffice.extensions import db, limiter
from backoffice.otp import operations as otp
from backoffice.otp.models import Purpose
from forms.accounts import (
    ForgotForm,
    LoginForm,
    OtpForm,
    PasswordChangeForm,
    ResetForm,
    TermsForm,
)
from forms.errors import populate_errors

bp = Blueprint("portal", __name__)

SESSION_KEY = "portal_session"
OTP_KEY = "portal_login_otp"
RESET_KEY = "portal_reset_otp"
EMAIL_KEY = "portal_email_otp"
HANDOVER_KEY = "portal_handover"  # {"binding": the OTP's, "successor": a user id}


def _login_limit() -> str:
    return current_app.config["PORTAL_LOGIN_LIMIT"]


def current_user() -> PortalUser | None:
    if "portal_user" not in g:
        g.portal_user = account_login.load_session(session.get(SESSION_KEY))
        if g.portal_user is None:
            session.pop(SESSION_KEY, None)
    return g.portal_user


@bp.app_template_global("header_user")
def header_user() -> PortalUser | None:
    """The signed-in user the page header names, or None: nobody is, or the database cannot say (an
    error page must still render)."""
    if SESSION_KEY not in session:
        return None
    if "portal_user" in g:  # a portal page loaded it already
        return g.portal_user
    try:
        return account_login.peek_session(session.get(SESSION_KEY))
    except SQLAlchemyError:
        db.session.rollback()
        return None


def pending_step(user: PortalUser) -> str | None:
    """The first-login step still to do, as an endpoint, or None."""
    if user.must_change_password:
        return "portal.change_password"
    if first_login.needs_consent(user):
        return "portal.terms"
    return None


def signed_in(view: Callable[..., Any]) -> Callable[..., Any]:
    """The view needs a signed-in user who has done every first-login step before it."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        user = current_user()
        if user is None:
            return redirect(url_for("portal.login"))
        step = pending_step(user)
        if step is not None and step != request.endpoint:
            return redirect(url_for(step))
        return view(*args, **kwargs)

    return wrapper


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login() -> ResponseReturnValue:
    """ログイン: ID（メールアドレス）とパスワード; then a one-time password goes to that address."""
    if current_user() is not None:
        return redirect(url_for(".mypage"))
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        try:
            issued = account_login.begin_login(
                form.email.data, form.password.data or "", current=session.get(OTP_KEY)
            )
        except AccountError as failure:
            error = str(failure)
        else:
            session[OTP_KEY] = issued.binding
            if issued.notice:
                flash(issued.notice, "warning")
            return redirect(url_for(".login_otp"))
    status = 422 if (error or form.errors) else 200
    return render_template("portal/login.html", form=form, error=error), status


@bp.route("/login/otp", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login_otp() -> ResponseReturnValue:
    """ワンタイムパスワード: the code mailed at the previous step, in this browser only."""
    challenge = otp.find(session.get(OTP_KEY), Purpose.LOGIN)
    if challenge is None:
        flash("はじめからログインしてください。", "warning")
        return redirect(url_for(".login"))
    form = OtpForm()
    if form.validate_on_submit():
        try:
            user, key = account_login.finish_login(
                session.get(OTP_KEY), form.code.data, request.remote_addr, challenge=challenge
            )
        except otp.OtpError as failure:
            populate_errors(form, failure)
        else:
            session.clear()  # a new cookie session for the signed-in user
            session[SESSION_KEY] = key
            return redirect(url_for(pending_step(user) or ".mypage"))
    status = 422 if form.errors else 200
    return render_template("portal/otp.html", form=form, challenge=challenge), status


@bp.post("/login/otp/resend")
@limiter.limit(_login_limit)
def login_otp_resend() -> ResponseReturnValue:
    """ワンタイムパスワードを再送する (after a cooldown, within an hourly cap)."""
    try:
        otp.resend(session.get(OTP_KEY), Purpose.LOGIN)
    except otp.ResendRefused as refused:
        flash(str(refused).lstrip("＊"), "warning")
    except otp.OtpUnavailable:
        return redirect(url_for(".login"))
    else:
        flash(
            "ワンタイムパスワードを再送しました。前に届いたワンタイムパスワードは使えません。",
            "info",
        )
    return redirect(url_for(".login_otp"))


@bp.post("/session/keepalive")
def keepalive() -> ResponseReturnValue:
    """「ログインを続ける」 before the idle limit: loading the session keeps it alive (204), or says it ended."""
    if current_user() is None:
        return "", 403
    return "", 204


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    """ログアウト: the session ends on the server (a copied cookie stops working)."""
    account_login.logout(session.get(SESSION_KEY))
    session.clear()
    flash("ログアウトしました。", "info")
    return redirect(url_for(".login"))


@bp.route("/password/change", methods=["GET", "POST"])
@signed_in
def change_password() -> ResponseReturnValue:
    """パスワード変更 (required at the first login: an initial password can't be kept). The browser
    stays signed in under a new session key; every other session ends."""
    user = current_user()
    form = PasswordChangeForm()
    if form.validate_on_submit():
        try:
            key = first_login.change_password(
                user,
                form.current.data or "",
                form.new.data or "",
                keep_session=session.get(SESSION_KEY),
            )
        except DomainError as failure:
            populate_errors(form, failure, fallback="new")
        else:
            session.clear()  # a new cookie session under the new key, as after the login
            if key is None:
                return redirect(url_for(".login"))
            session[SESSION_KEY] = key
            flash("パスワードを変更しました。", "info")
            return redirect(url_for(pending_step(user) or ".mypage"))
    status = 422 if form.errors else 200
    return render_template(
        "portal/password_change.html", form=form, first=user.must_change_password
    ), status


@bp.route("/terms", methods=["GET", "POST"])
@signed_in
def terms() -> ResponseReturnValue:
    """利用規約: consent to the current version; declining signs out."""
    user = current_user()
    current = first_login.current_terms()
    if current is None:
        return redirect(url_for(".mypage"))
    form = TermsForm()
    if form.validate_on_submit():
        if request.form.get("decision") == "decline":
            first_login.decline_terms(user, current, session.get(SESSION_KEY))
            session.clear()
            flash(
                "利用規約に同意いただけない場合は、介護情報基盤ポータルを利用できません。ログアウトしました。",
                "info",
            )
            return redirect(url_for(".login"))
        if form.agree.data:
            first_login.accept_terms(user, current)
            return redirect(url_for(".mypage"))
        form.agree.errors.append(
            "＊利用規約を確認し、「利用規約に同意する」にチェックを入れてください。"
        )
    status = 422 if form.errors else 200
    return render_template(
        "portal/terms.html", form=form, terms=current, again=user.terms_version_id is not None
    ), status


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def forgot_password() -> ResponseReturnValue:
    """パスワードを忘れた方: a one-time password to the registered address; the same answer for any
    address, registered or not."""
    form = ForgotForm()
    if form.validate_on_submit():
        issued = account_login.begin_password_reset(form.email.data, current=session.get(RESET_KEY))
        session[RESET_KEY] = issued.binding
        if issued.notice:
            flash(issued.notice, "warning")
        return redirect(url_for(".reset_password"))
    status = 422 if form.errors else 200
    return render_template("portal/forgot.html", form=form), status


@bp.route("/password/reset", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def reset_password() -> ResponseReturnValue:
    """The one-time password and the new password; every session of the user ends."""
    challenge = otp.find(session.get(RESET_KEY), Purpose.PASSWORD_RESET)
    if challenge is None:
        flash("はじめからやり直してください。", "warning")
        return redirect(url_for(".forgot_password"))
    form = ResetForm()
    if form.validate_on_submit():
        try:
            account_login.finish_password_reset(
                session.get(RESET_KEY), form.code.data, form.new.data or ""
            )
        except DomainError as failure:  # PasswordRejected (`new`) or otp.OtpError (`code`)
            populate_errors(form, failure, fallback="code")
        else:
            session.clear()
            flash("パスワードを再設定しました。新しいパスワードでログインしてください。", "info")
            return redirect(url_for(".login"))
    status = 422 if form.errors else 200
    return render_template("portal/reset.html", form=form), status
