"""/register: 初回利用登録 for 介護事業所・みなし介護事業所, step by step (see onboarding.operations)."""

from flask import Blueprint, current_app, flash, redirect, render_template, session, url_for
from flask.typing import ResponseReturnValue

from backoffice.accounts import operations as accounts
from backoffice.extensions import limiter
from backoffice.mail.outbox import deliver_after_response
from backoffice.onboarding import operations as onboarding
from backoffice.onboarding.models import Step
from backoffice.otp import operations as otp
from forms.accounts import UserForm
from forms.registration import EClaimsLoginForm, RegistrationOtpForm

bp = Blueprint("register", __name__, url_prefix="/register")

FLOW_KEY = "registration_flow"
OTP_KEY = "registration_otp"
MASKED_KEY = "registration_masked_email"
STEPS = ["電子請求受付システムの認証", "ワンタイムパスワード", "ユーザ登録", "完了"]
ENDPOINTS = {Step.OTP: ".otp_step", Step.DETAILS: ".details"}


def _limit() -> str:
    return current_app.config["REGISTRATION_LIMIT"]


def _elsewhere(error: onboarding.RegistrationError) -> ResponseReturnValue:
    """Where to go when this step is not the flow's: its current step, or the start."""
    if isinstance(error, onboarding.WrongStep) and error.at in ENDPOINTS:
        return redirect(url_for(ENDPOINTS[error.at]))
    if isinstance(error, onboarding.WrongStep):
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
            started = onboarding.start(form.eclaims_id.data, form.password.data or "")
        except onboarding.NoSecurityEmail:
            return render_template("register/no_security_email.html")
        except onboarding.AlreadyRegistered as already:
            return render_template("register/already.html", masked=already.registrant_masked)
        except onboarding.CredentialsRejected as rejected:
            error = str(rejected)
        else:
            session[FLOW_KEY] = started.flow_key
            session[OTP_KEY] = started.otp_binding
            session[MASKED_KEY] = started.masked_email
            deliver_after_response([started.email_id])
            return redirect(url_for(".otp_step"))
    status = 422 if (error or form.errors) else 200
    return render_template("register/start.html", form=form, error=error, steps=STEPS), status


@bp.route("/otp", methods=["GET", "POST"])
@limiter.limit(_limit, methods=["POST"])
def otp_step() -> ResponseReturnValue:
    """Step 2: the one-time password sent to the セキュリティ用メールアドレス (and the セキュリティコード if set)."""
    try:
        _row, office = onboarding.flow(session.get(FLOW_KEY), Step.OTP)
    except onboarding.RegistrationError as error:
        return _elsewhere(error)
    form = RegistrationOtpForm()
    if form.validate_on_submit():
        try:
            onboarding.verify(
                session.get(FLOW_KEY),
                session.get(OTP_KEY),
                form.code.data,
                form.security_code.data or "",
            )
        except otp.OtpError as failure:
            form.code.errors.append(str(failure))
        except onboarding.RegistrationError as error:
            return _elsewhere(error)
        else:
            return redirect(url_for(".details"))
    status = 422 if form.errors else 200
    return render_template(
        "register/otp.html",
        form=form,
        masked=session.get(MASKED_KEY),
        security_code=office.has_security_code,
        steps=STEPS,
    ), status


@bp.post("/otp/resend")
@limiter.limit(_limit)
def resend() -> ResponseReturnValue:
    try:
        email_id = onboarding.resend(session.get(FLOW_KEY), session.get(OTP_KEY))
    except otp.ResendRefused as refused:
        flash(str(refused).lstrip("＊"), "warning")
    except onboarding.RegistrationError as error:
        return _elsewhere(error)
    except otp.OtpError:
        return redirect(url_for(".start"))
    else:
        deliver_after_response([email_id])
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
        _row, office = onboarding.flow(session.get(FLOW_KEY), Step.DETAILS)
    except onboarding.RegistrationError as error:
        return _elsewhere(error)
    form = UserForm()
    if form.validate_on_submit():
        try:
            _organization, email_id = onboarding.register(
                session.get(FLOW_KEY),
                accounts.UserDetails(
                    name=form.name.data,
                    name_kana=form.name_kana.data,
                    email=form.email.data,
                    phone=form.phone.data,
                    department=form.department.data or None,
                ),
            )
        except onboarding.AlreadyRegistered as already:
            return render_template("register/already.html", masked=already.registrant_masked)
        except accounts.EmailTaken as taken:
            form.email.errors.append(str(taken))
        except onboarding.RegistrationError as error:
            return _elsewhere(error)
        else:
            deliver_after_response([email_id])
            return redirect(url_for(".complete"))
    status = 422 if form.errors else 200
    return render_template("register/details.html", form=form, office=office, steps=STEPS), status


@bp.get("/complete")
def complete() -> ResponseReturnValue:
    """完了: where the initial password went, and what to do next."""
    row = onboarding.completed(session.get(FLOW_KEY))
    if row is None:
        return redirect(url_for(".start"))
    return render_template("register/complete.html", email=row.registered_email, steps=STEPS)
