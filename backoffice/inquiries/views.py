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
from werkzeug.wrappers import Response

from backoffice.extensions import limiter
from backoffice.inquiries import conversation, links, operations
from backoffice.inquiries.models import Channel
from backoffice.urls import external_url
from forms.conversation import MessageForm
from forms.errors import populate_errors
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
        if request.method == "GET" and (number := session.get(LAST_SENT_KEY)):
            # Back after 送信: say it was sent, never invite a second one.
            return _already_sent(number)
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


def _message_limit() -> str:
    return current_app.config["INQUIRY_MESSAGE_LIMIT"]


@bp.route("/status/<token>", methods=["GET", "POST"])
@limiter.limit(_message_limit, methods=["POST"])
def status(token: str) -> ResponseReturnValue:
    """The requester's status page, reached through the link in every mail: the public thread, and
    「追加で連絡する」."""
    inquiry = links.find(token)
    if inquiry is None:
        abort(404)
    form = MessageForm()
    code = 200
    if form.validate_on_submit():
        try:
            delivered = conversation.add_message(
                inquiry.id, form.body.data, channel=Channel.WEB, message_key=form.message_key.data
            )
        except conversation.MessageRefused as refused:
            populate_errors(form, refused)
            code = 422
        else:
            flash(_delivered_notice(delivered), "info")
            return _private(redirect(url_for(".status", token=token)))
    elif form.errors:
        code = 422
    return _private(
        current_app.make_response(
            (
                render_template(
                    "inquiry/status.html",
                    inquiry=inquiry,
                    thread=operations.public_thread(inquiry),
                    form=form,
                    finished=conversation.is_finished(inquiry),
                ),
                code,
            )
        )
    )


def _delivered_notice(delivered: conversation.Delivered) -> str:
    if delivered.follow_up:
        return (
            "このお問い合わせは完了しているため、新しいお問い合わせ"
            f"（受付番号 {delivered.reference_number}）として受け付けました。"
            "新しいお問い合わせの確認ページのURLを、メールでお送りしました。"
        )
    if delivered.duplicate:
        return "このご連絡は送信済みです。同じ内容を二重に受け付けることはありません。"
    return "追加のご連絡を送信しました。担当者が確認のうえ、ご連絡します。"


def _private(response: Response) -> Response:
    # The token in the URL is a secret: never send it on in a Referer, never cache the page.
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response
