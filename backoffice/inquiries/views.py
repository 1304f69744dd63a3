"""The public お問い合わせフォーム: 入力 → 確認 → 完了, and the requester's status page.

The draft lives on the server between steps; its key is the ticket's submission key, so a form sent
twice (double click, back and send again) makes exactly one inquiry.
"""

import logging

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue

from backoffice.extensions import limiter
from backoffice.inquiries import operations
from backoffice.urls import external_url
from forms.inquiry import ConfirmForm, InquiryForm

log = logging.getLogger(__name__)

bp = Blueprint("inquiries", __name__, url_prefix="/inquiry")

DRAFT_KEY = "inquiry_draft"
LAST_SENT_KEY = "inquiry_last_sent"


def _form_limit() -> str:
    return current_app.config["INQUIRY_FORM_LIMIT"]


def _send_limit() -> str:
    return current_app.config["INQUIRY_SEND_LIMIT"]


@bp.route("", methods=["GET", "POST"])
@limiter.limit(_form_limit, methods=["POST"])
def form() -> ResponseReturnValue:
    """入力: show the form (refilled from the draft when coming back to change it), check it, keep the
    draft on the server and go on to 確認."""
    tree = operations.category_tree()
    draft = operations.load_draft(session.get(DRAFT_KEY))
    if request.method == "GET":
        form = (
            InquiryForm.from_draft(tree, draft.data, for_display=True)
            if draft
            else InquiryForm(tree)
        )
        return render_template("inquiry/input.html", form=form)

    form = InquiryForm(tree)
    if form.honeypot_filled:
        # Answer as if all went well, so the bot learns nothing; nothing is stored.
        log.info("inquiry honeypot filled from %s", request.remote_addr)
        session.pop(DRAFT_KEY, None)
        session.pop(LAST_SENT_KEY, None)
        return redirect(url_for(".complete"))
    if not form.validate():
        return render_template("inquiry/input.html", form=form), 422
    session[DRAFT_KEY] = operations.save_draft(form.raw_input(), draft.key if draft else None)
    return redirect(url_for(".confirm"))


@bp.route("/confirm", methods=["GET", "POST"])
@limiter.limit(_send_limit, methods=["POST"])
def confirm() -> ResponseReturnValue:
    """確認: show the normalised values with 「変更」 links; sending creates the inquiry."""
    confirm_form = ConfirmForm()
    draft = operations.load_draft(session.get(DRAFT_KEY))
    if draft is None:
        # Sending deletes the draft with the same commit that stores the inquiry: a draft that is gone
        # may have been sent already (a double click, or 送信 again after going back).
        if request.method == "POST" and (
            sent := operations.find_by_submission_key(confirm_form.submission_key.data)
        ):
            return _already_sent(sent.reference_number)
        flash("入力内容が見つかりませんでした。お手数ですが、もう一度入力してください。", "warning")
        return redirect(url_for(".form"))
    form = InquiryForm.from_draft(operations.category_tree(), draft.data)
    if not form.validate():
        # The category may have been closed since the 入力 step: show the form with the reason.
        return render_template("inquiry/input.html", form=form), 422

    if request.method == "POST":
        if confirm_form.submission_key.data != draft.key:
            flash(
                "入力内容が変更されています。内容をご確認のうえ、もう一度送信してください。",
                "warning",
            )
            return redirect(url_for(".confirm"))
        try:
            result = operations.submit_inquiry(
                form.to_input(),
                submission_key=draft.key,
                status_url_for=lambda token: external_url("inquiries.status", token=token),
            )
        except operations.CategoryUnavailable:
            flash(
                "選択したお問い合わせ区分は現在受け付けていません。区分を選び直してください。",
                "warning",
            )
            return redirect(url_for(".form"))
        if not result.created:
            return _already_sent(result.reference_number)
        session.pop(DRAFT_KEY, None)
        session[LAST_SENT_KEY] = result.reference_number
        return redirect(url_for(".complete"))

    confirm_form.submission_key.data = draft.key
    return render_template("inquiry/confirm.html", form=form, confirm_form=confirm_form)


def _already_sent(reference_number: str) -> ResponseReturnValue:
    flash("このお問い合わせは送信済みです。同じ内容を二重に受け付けることはありません。", "info")
    session.pop(DRAFT_KEY, None)
    session[LAST_SENT_KEY] = reference_number
    return redirect(url_for(".complete"))


@bp.get("/complete")
def complete() -> ResponseReturnValue:
    """完了: the 受付番号 of the inquiry this browser sent last; a bookmark of the page still explains."""
    return render_template("inquiry/complete.html", reference_number=session.get(LAST_SENT_KEY))


@bp.get("/status/<token>")
def status(token: str) -> ResponseReturnValue:
    """The requester's status page, reached only through the link in the acknowledgement email."""
    inquiry = operations.find_by_status_token(token)
    if inquiry is None:
        abort(404)
    response = current_app.make_response(
        render_template(
            "inquiry/status.html", inquiry=inquiry, replies=operations.public_replies(inquiry)
        )
    )
    # The token in the URL is a secret: never send it on in a Referer, never cache the page.
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response
