"""/register: 初回利用登録 for 介護事業所・みなし介護事業所, step by step (see registration.operations)."""

from flask import Blueprint, current_app, flash, redirect, render_template, session, url_for
from flask.typing import ResponseReturnValue

from backoffice.accounts.errors import EmailTaken
from backoffice.extensions import limiter
from backoffice.otp import operations as otp
from backoffice.otp.models import Purpose
from backoffice.registration import operations as registration
from backoffice.registration.models import Step
from forms.accounts import UserForm
from forms.errors import populate_errors
from forms.registration import EClaimsLoginForm, RegistrationOtpForm

bp = Blueprint("register", __name__, url_prefix="/register")

FLOW_KEY = "registration_flow"
OTP_KEY = "registration_otp"
MASKED_KEY = "registration_masked_email"
STEPS = ["電子請求受付システムの認証", "ワンタイムパスワード", "ユーザ登録", "完了"]
ENDPOINTS = {Step.OTP: ".otp_step", Step.DETAILS: ".details"}


def _limit() -> str:
    return current_app.config["REGISTRATION_LIMIT"]


def _elsewhere(error: registration.RegistrationError) -> ResponseReturnValue:
    """Where to go when this step is not the flow's: its current step, or the start."""
    if isinstance(error, registration.WrongStep) and error.at in ENDPOINTS:
        return redirect(url_for(ENDPOINTS[error.at]))
    if isinstance(error, registration.WrongStep):
        return redirect(url_for(".complete"))
    flash(str(error), "warning")
    return redirect(url_for(".start"))


@bp.route("", methods=["GET", "POST"])
@limiter.limit(_limit, methods=["POST"])
def start() -> ResponseReturnValue:
    """Step 1: 電子請求受付システムのID and パスワード."""
    form = EClaimsLoginForm()
    error = None
    if form.validate_on_submit():
        try:
            started = registration.start(
                form.eclaims_id.data, form.password.data or "", current=session.get(OTP_KEY)
            )
        except registration.NoSecurityEmail:
            return render_template("register/no_security_email.html")
        except registration.AlreadyRegistered as already:
            return render_template("register/already.html", masked=already.registrant_masked)
        except registration.CredentialsRejected as rejected:
            error = str(rejected)
        else:
            session[FLOW_KEY] = started.flow_key
            session[OTP_KEY] = started.otp_binding
            session[MASKED_KEY] = started.masked_email
            if started.notice:
                flash(started.notice, "warning")
            return redirect(url_for(".otp_step"))
    status = 422 if (error or form.errors) else 200
    return render_template("register/start.html", form=form, error=error, steps=STEPS), status


@bp.route("/otp", methods=["GET", "POST"])
@limiter.limit(_limit, methods=["POST"])
def otp_step() -> ResponseReturnValue:
    """Step 2: the one-time password sent to the セキュリティ用メールアドレス (and the セキュリティコード if set)."""
    try:
        _row, office = registration.flow(session.get(FLOW_KEY), Step.OTP)
    except registration.RegistrationError as error:
        return _elsewhere(error)
    form = RegistrationOtpForm()
    if form.validate_on_submit():
        try:
            registration.verify(
                session.get(FLOW_KEY),
                session.get(OTP_KEY),
                form.code.data,
                form.security_code.data or "",
            )
        except otp.OtpError as failure:
            populate_errors(form, failure)
        except registration.RegistrationError as error:
            return _elsewhere(error)
        else:
            return redirect(url_for(".details"))
    status = 422 if form.errors else 200
    return render_template(
        "register/otp.html",
        form=form,
        challenge=otp.find(session.get(OTP_KEY), Purpose.REGISTRATION),
        masked=session.get(MASKED_KEY),
        security_code=office.has_security_code,
        steps=STEPS,
    ), status


@bp.post("/otp/resend")
@limiter.limit(_limit)
def resend() -> ResponseReturnValue:
    try:
        registration.resend(session.get(FLOW_KEY), session.get(OTP_KEY))
    except otp.ResendRefused as refused:
        flash(str(refused).lstrip("＊"), "warning")
    except registration.RegistrationError as error:
        return _elsewhere(error)
    except otp.OtpError:
        return redirect(url_for(".start"))
    else:
        flash(
            "ワンタイムパスワードを再送しました。前に届いたワンタイムパスワードは使えません。",
            "info",
        )
    return redirect(url_for(".otp_step"))


@bp.route("/details", methods=["GET", "POST"])
@limiter.limit(_limit, methods=["POST"])
def details() -> ResponseReturnValue:
    """Step 3: the registrant's details; the initial password goes to the address entered here."""
    try:
        _row, office = registration.flow(session.get(FLOW_KEY), Step.DETAILS)
    except registration.RegistrationError as error:
        return _elsewhere(error)
    form = UserForm()
    if form.validate_on_submit():
        try:
            registration.register(session.get(FLOW_KEY), form.to_input())
        except registration.AlreadyRegistered as already:
            return render_template("register/already.html", masked=already.registrant_masked)
        except EmailTaken as taken:
            populate_errors(form, taken)
        except registration.RegistrationError as error:
            return _elsewhere(error)
        else:
            return redirect(url_for(".complete"))
    status = 422 if form.errors else 200
    return render_template("register/details.html", form=form, office=office, steps=STEPS), status


@bp.get("/complete")
def complete() -> ResponseReturnValue:
    """完了: where the initial password went, and what to do next."""
    row = registration.completed(session.get(FLOW_KEY))
    if row is None:
        return redirect(url_for(".start"))
    return render_template("register/complete.html", email=row.registered_email, steps=STEPS)
