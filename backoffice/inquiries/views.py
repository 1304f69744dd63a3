"""The public お問い合わせフォーム: 入力 → 確認 → 完了, and the requester's status page.

The draft lives on the server between steps; its key is the ticket's submission key, so a form sent
twice (double click, back and send again) makes exactly one inquiry.
"""

import logging
from typing import Any

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

from backoffice.attachments import operations as attachments
from backoffice.attachments import web
from backoffice.attachments.checks import FileRefused
from backoffice.attachments.web import takes_files
from backoffice.extensions import limiter
from backoffice.inquiries import conversation, corrections, links, operations
from backoffice.inquiries.models import Inquiry
from backoffice.inquiries.vocabulary import Channel
from backoffice.urls import external_url
from forms.conversation import LinkRequestForm, MessageForm, correction_form
from forms.errors import populate_errors
from forms.inquiry import ConfirmForm, InquiryForm

log = logging.getLogger(__name__)

bp = Blueprint("inquiries", __name__, url_prefix="/inquiry")

DRAFT_KEY = "inquiry_draft"
LAST_SENT_KEY = "inquiry_last_sent"
# `/inquiry?kind=id-request` opens the form with その他 → 介護情報基盤ポータルのID発行申請 chosen: a link
# that survives the categories' ids changing (the pages' 「ID発行を申請する」).
ACCOUNT_REQUEST_KIND = "id-request"


def _form_limit() -> str:
    return current_app.config["INQUIRY_FORM_LIMIT"]


def _send_limit() -> str:
    return current_app.config["INQUIRY_SEND_LIMIT"]


@bp.route("", methods=["GET", "POST"])
@limiter.limit(_form_limit, methods=["POST"])
@takes_files
def form() -> ResponseReturnValue:
    """入力: show the form (refilled from the draft when coming back to change it), check it, keep the
    draft on the server, with the files chosen, and go on to 確認."""
    tree = operations.category_tree()
    draft = operations.load_draft(session.get(DRAFT_KEY))
    listed = (draft.data.get(attachments.DRAFT_FILES) or []) if draft else []
    if request.method == "GET":
        form = (
            InquiryForm.from_draft(tree, draft.data, for_display=True)
            if draft
            else InquiryForm(tree)
        )
        if request.args.get("kind") == ACCOUNT_REQUEST_KIND:
            form.choose_account_request()
        return render_template("inquiry/input.html", form=form, listed=listed)

    form = InquiryForm(tree)
    if form.honeypot_filled:
        # Answer as if all went well, so the bot learns nothing; nothing is stored.
        log.info("inquiry honeypot filled from %s", request.remote_addr)
        session.pop(DRAFT_KEY, None)
        session.pop(LAST_SENT_KEY, None)
        return redirect(url_for(".complete"))
    if not form.validate():
        return render_template("inquiry/input.html", form=form, listed=listed), 422
    remove = {
        int(v)
        for v in request.form.getlist("remove_attachment")
        if v.isascii() and v.isdigit() and len(v) <= 18
    }
    kept = [f for f in listed if f["id"] not in remove]
    try:
        files = attachments.take(
            form.attachments.uploads(),
            kept=len(kept),
            kept_bytes=sum(f["size"] for f in kept),
        )
    except FileRefused as refused:
        populate_errors(form, refused)
        return render_template("inquiry/input.html", form=form, listed=listed), 422
    session[DRAFT_KEY] = operations.save_draft(
        form.raw_input(), draft.key if draft else None, files=files, remove=remove
    )
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
    listed = draft.data.get(attachments.DRAFT_FILES) or []
    if not form.validate():
        # The category may have been closed since the 入力 step: show the form with the reason.
        return render_template("inquiry/input.html", form=form, listed=listed), 422

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
                draft_files=[f["id"] for f in draft.data.get(attachments.DRAFT_FILES) or []],
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
    return render_template(
        "inquiry/confirm.html",
        form=form,
        confirm_form=confirm_form,
        listed=listed,
    )


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
@takes_files
def status(token: str) -> ResponseReturnValue:
    """The requester's status page, reached through the link in every mail: the public thread,
    「追加で連絡する」, and the fields a 差し戻し asks to correct."""
    inquiry = links.find(token) or abort(404)
    form = MessageForm()
    if form.validate_on_submit():
        try:
            delivered = conversation.add_message(
                inquiry.id,
                form.body.data,
                channel=Channel.WEB,
                message_key=form.message_key.data,
                token=token,
                uploads=form.attachments.uploads(),
            )
        except (conversation.MessageRefused, FileRefused) as refused:
            populate_errors(form, refused)
        else:
            flash(conversation.notice(delivered), "info")
            return _private(redirect(url_for(".status", token=token)))
    return _status_page(inquiry, form=form)


@bp.post("/status/<token>/correction")
@limiter.limit(_message_limit)
def correct(token: str) -> ResponseReturnValue:
    """修正をお願いしている項目: the corrected values of an ID request."""
    inquiry = links.find(token) or abort(404)
    asked = corrections.asked_fields(inquiry)
    if not asked:
        flash(str(corrections.CorrectionClosed()), "info")
        return _private(redirect(url_for(".status", token=token)))
    fix = correction_form(asked)
    if fix.validate_on_submit():
        try:
            corrections.apply_correction(inquiry.id, fix.values())
        except corrections.CorrectionClosed as closed:
            flash(str(closed), "info")
        except corrections.CorrectionChanged as changed:
            flash(str(changed), "warning")
        else:
            flash("修正内容を送信しました。担当者が確認のうえ、ご連絡します。", "info")
        return _private(redirect(url_for(".status", token=token)))
    return _status_page(inquiry, fix=fix)


def _status_page(
    inquiry: Inquiry, *, form: MessageForm | None = None, fix: Any | None = None
) -> Response:
    form = form or MessageForm(formdata=None)
    asked = corrections.asked_fields(inquiry)
    if fix is None and asked:
        fix = correction_form(asked, formdata=None, obj=inquiry.account_request)
    failed = bool(form.errors or (fix is not None and fix.errors))
    return _private(
        current_app.make_response(
            (
                render_template(
                    "inquiry/status.html",
                    inquiry=inquiry,
                    thread=operations.public_thread(inquiry),
                    files=attachments.of_ticket(inquiry, public=True),
                    file_url=lambda row, **kw: url_for(
                        ".file", token=request.view_args["token"], attachment_id=row.id, **kw
                    ),
                    form=form,
                    fix=fix,
                    finished=conversation.is_finished(inquiry),
                ),
                422 if failed else 200,
            )
        )
    )


@bp.get("/status/<token>/files/<int:attachment_id>")
def file(token: str, attachment_id: int) -> ResponseReturnValue:
    """A file of the public thread, to the holder of the status link (?thumbnail=1, ?inline=1)."""
    inquiry = links.find(token) or abort(404)
    row = attachments.find(inquiry, attachment_id, public=True) or abort(404)
    try:
        return web.send(row, thumbnail="thumbnail" in request.args, inline="inline" in request.args)
    except FileNotFoundError:
        abort(404)


def _link_limit() -> str:
    return current_app.config["INQUIRY_LINK_LIMIT"]


@bp.route("/link", methods=["GET", "POST"])
@limiter.limit(_link_limit, methods=["POST"])
def request_link() -> ResponseReturnValue:
    """確認ページのURLの再送: 受付番号 + メールアドレス; the same answer whether or not they match."""
    form = LinkRequestForm()
    if form.validate_on_submit():
        links.resend_link(form.reference_number.data, form.email.data)
        flash(
            "受付番号とメールアドレスがお問い合わせのものと一致する場合は、確認ページのURLをメールで"
            "お送りしました。届かない場合は、入力内容をご確認ください。",
            "info",
        )
        return redirect(url_for(".request_link"))
    status = 422 if form.errors else 200
    return render_template("inquiry/link_request.html", form=form), status


def _private(response: Response) -> Response:
    # The token in the URL is a secret: never send it on in a Referer, never cache the page.
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response
