"""マイページ: the organization's users (add, disable, resend, hand over the 登録者 role) and the user's own
details and email address.

These routes join the portal blueprint of backoffice/accounts/views.py, behind its `signed_in` gate.
"""

from flask import abort, current_app, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue

from backoffice.accounts import handover, members, reauth
from backoffice.accounts import profile as profiles
from backoffice.accounts.checklist import checklist, complete
from backoffice.accounts.errors import AccountError, UserLimitReached, UserNotFound
from backoffice.accounts.views import (
    EMAIL_KEY,
    HANDOVER_KEY,
    SESSION_KEY,
    bp,
    current_user,
    signed_in,
)
from backoffice.domain_errors import DomainError
from backoffice.otp import operations as otp
from backoffice.otp.models import Purpose
from forms.accounts import (
    DisableUserForm,
    EmailChangeForm,
    HandoverForm,
    NewUserForm,
    OtpForm,
    ProfileForm,
)
from forms.errors import populate_errors


@bp.get("/mypage")
@signed_in
def mypage() -> ResponseReturnValue:
    """マイページ: the organization, the user, the organization's users."""
    user = current_user()
    organization = user.organization
    steps = checklist(organization)
    return render_template(
        "portal/mypage.html",
        user=user,
        organization=organization,
        users=[u for u in organization.users if u.is_active],
        places_left=members.places_left(organization),
        can_hand_over=user.is_registrant and bool(handover.successors(user)),
        checklist=steps,
        checklist_complete=complete(steps),
        max_added=current_app.config["MAX_ADDED_USERS"],
    )


@bp.route("/mypage/users/new", methods=["GET", "POST"])
@signed_in
def add_user() -> ResponseReturnValue:
    """ユーザ新規登録 (the registrant only): the new user gets an initial password by email. The
    registrant's password is asked again on the same form when the session's is not recent."""
    user = current_user()
    if not user.is_registrant:
        return _registrant_only("ユーザを追加できません", "ユーザを追加できる")
    form = NewUserForm()
    if form.validate_on_submit():
        try:
            reauth.require(user, session.get(SESSION_KEY), form.password.data)
            added = members.add_user(user, form.to_input())
        except UserLimitReached as full:
            flash(str(full), "warning")
            return redirect(url_for(".mypage"))
        except AccountError as refused:
            if not populate_errors(form, refused):
                flash(str(refused), "warning")
                return redirect(url_for(".mypage"))
        else:
            flash(
                f"{added.name}さんを追加しました。{added.email} に初期パスワードをお送りしました。",
                "info",
            )
            return redirect(url_for(".mypage"))
    status = 422 if form.errors else 200
    return render_template(
        "portal/user_new.html",
        form=form,
        places_left=members.places_left(user.organization),
        ask_password=_asks_password(),
    ), status


@bp.route("/mypage/users/<int:user_id>/disable", methods=["GET", "POST"])
@signed_in
def disable_user(user_id: int) -> ResponseReturnValue:
    """Disable an added user (the registrant only); their sessions end at once. マイページ's button
    posts here directly; when the session's password is not recent the page asks for it."""
    registrant = current_user()
    try:
        target = members.member(registrant, user_id)
    except UserNotFound:
        abort(404)
    except AccountError as refused:
        flash(str(refused), "warning")
        return redirect(url_for(".mypage"))
    form = DisableUserForm()
    if form.validate_on_submit():
        try:
            reauth.require(registrant, session.get(SESSION_KEY), form.password.data)
            members.disable_user(registrant, user_id)
        except reauth.ReauthenticationRequired as needed:
            if "password" not in request.form:  # from マイページ's button: ask on this page
                return redirect(url_for(".disable_user", user_id=user_id))
            populate_errors(form, needed)
        except AccountError as refused:
            populate_errors(form, refused, fallback="password")
        else:
            flash(f"{target.name}さんを無効にしました。", "info")
            return redirect(url_for(".mypage"))
    if not target.is_active:
        return redirect(url_for(".mypage"))
    status = 422 if form.errors else 200
    return render_template(
        "portal/user_disable.html", form=form, target=target, ask_password=_asks_password()
    ), status


def _registrant_only(title: str, what: str) -> ResponseReturnValue:
    """The 403 page of what only the organization's registrant may do (`what`: 「…できる」)."""
    message = f"{what}のは、登録者の方だけです。"
    return render_template("errors/error.html", code=403, title=title, message=message), 403


def _asks_password() -> bool:
    return not reauth.is_recent(session.get(SESSION_KEY))


@bp.post("/mypage/users/<int:user_id>/resend")
@signed_in
def resend_initial_password(user_id: int) -> ResponseReturnValue:
    """Send a new initial password to an added user who has not logged in yet."""
    try:
        user = members.resend_initial_password(current_user(), user_id)
    except UserNotFound:
        abort(404)
    except AccountError as refused:
        flash(str(refused), "warning")
    else:
        flash(f"{user.email} に新しい初期パスワードをお送りしました。", "info")
    return redirect(url_for(".mypage"))


@bp.route("/mypage/handover", methods=["GET", "POST"])
@signed_in
def hand_over() -> ResponseReturnValue:
    """登録者の引き継ぎ (the registrant only): choose the successor; the password again when the session
    is not recent; then a one-time password to the registrant's own address."""
    user = current_user()
    if not user.is_registrant:
        return _registrant_only("登録者を引き継げません", "登録者を引き継げる")
    form = HandoverForm()
    candidates = handover.successors(user)
    form.successor.choices = [(str(u.id), u.name) for u in candidates]
    if candidates and form.validate_on_submit():
        current = session.get(HANDOVER_KEY) or {}
        try:
            reauth.require(user, session.get(SESSION_KEY), form.password.data)
            issued = handover.begin(user, form.successor_id(), current=current.get("binding"))
        except AccountError as refused:
            populate_errors(form, refused, fallback="successor")
        else:
            session[HANDOVER_KEY] = {"binding": issued.binding, "successor": form.successor_id()}
            if issued.notice:
                flash(issued.notice, "warning")
            return redirect(url_for(".confirm_hand_over"))
    status = 422 if form.errors else 200
    return render_template(
        "portal/handover.html",
        form=form,
        user=user,
        candidates=candidates,
        ask_password=_asks_password(),
    ), status


@bp.route("/mypage/handover/confirm", methods=["GET", "POST"])
@signed_in
def confirm_hand_over() -> ResponseReturnValue:
    """The one-time password sent to the registrant confirms the hand-over."""
    user = current_user()
    pending = session.get(HANDOVER_KEY) or {}
    challenge = otp.find(pending.get("binding"), Purpose.HANDOVER)
    if challenge is None or challenge.portal_user_id != user.id or not user.is_registrant:
        return redirect(url_for(".hand_over"))
    successor = next(
        (u for u in handover.successors(user) if u.id == pending.get("successor")), None
    )
    if successor is None:
        return _choose_again()
    form = OtpForm()
    if form.validate_on_submit():
        if request.form.get("successor") != str(successor.id):
            # Another tab chose someone else since this page was shown: confirm what is shown only.
            return _choose_again()
        try:
            handover.finish(user, pending["binding"], successor.id, form.code.data)
        except handover.NoSuchSuccessor:
            return _choose_again()
        except DomainError as failure:  # otp.OtpError, or the role already handed over
            populate_errors(form, failure, fallback="code")
        else:
            session.pop(HANDOVER_KEY, None)
            flash(
                f"登録者を{successor.name}さんに引き継ぎました。"
                f"これからは、ユーザの追加や無効化は{successor.name}さんが行います。",
                "info",
            )
            return redirect(url_for(".mypage"))
    status = 422 if form.errors else 200
    return render_template(
        "portal/handover_confirm.html",
        form=form,
        successor=successor,
        sent_to=challenge.sent_to,
    ), status


def _choose_again() -> ResponseReturnValue:
    """Back to the choice: the successor this browser chose can no longer be confirmed."""
    session.pop(HANDOVER_KEY, None)
    flash("引き継ぐユーザを、もう一度選んでください。", "warning")
    return redirect(url_for(".hand_over"))


@bp.route("/mypage/profile", methods=["GET", "POST"])
@signed_in
def profile() -> ResponseReturnValue:
    """ユーザ情報の変更: 氏名, フリガナ, 電話番号, 部署名."""
    user = current_user()
    form = ProfileForm(obj=user) if request.method == "GET" else ProfileForm()
    if form.validate_on_submit():
        profiles.update_profile(user, form.to_changes())
        flash("ユーザ情報を変更しました。", "info")
        return redirect(url_for(".mypage"))
    status = 422 if form.errors else 200
    return render_template("portal/profile.html", form=form), status


@bp.route("/mypage/email", methods=["GET", "POST"])
@signed_in
def change_email() -> ResponseReturnValue:
    """メールアドレス（ID）の変更: the password again, then a one-time password to the new address."""
    user = current_user()
    form = EmailChangeForm()
    if form.validate_on_submit():
        try:
            issued = profiles.begin_email_change(
                user, form.email.data, form.password.data or "", current=session.get(EMAIL_KEY)
            )
        except AccountError as failure:
            populate_errors(form, failure, fallback="email")
        else:
            session[EMAIL_KEY] = issued.binding
            if issued.notice:
                flash(issued.notice, "warning")
            return redirect(url_for(".confirm_email"))
    status = 422 if form.errors else 200
    return render_template("portal/email_change.html", form=form), status


@bp.route("/mypage/email/confirm", methods=["GET", "POST"])
@signed_in
def confirm_email() -> ResponseReturnValue:
    """The one-time password sent to the new address."""
    user = current_user()
    challenge = otp.find(session.get(EMAIL_KEY), Purpose.EMAIL_CHANGE)
    if challenge is None or challenge.portal_user_id != user.id:
        return redirect(url_for(".change_email"))
    form = OtpForm()
    if form.validate_on_submit():
        try:
            profiles.finish_email_change(user, session.get(EMAIL_KEY), form.code.data)
        except DomainError as failure:  # otp.OtpError, or EmailTaken (this form has only the code)
            populate_errors(form, failure, fallback="code")
        else:
            session.pop(EMAIL_KEY, None)
            flash(
                f"メールアドレスを {user.email} に変更しました。次回からこのメールアドレスでログインしてください。",
                "info",
            )
            return redirect(url_for(".mypage"))
    status = 422 if form.errors else 200
    return render_template(
        "portal/email_confirm.html", form=form, sent_to=challenge.sent_to
    ), status
