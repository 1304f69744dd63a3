"""マイページ「お問い合わせ」: the organization's inquiries, each with its thread and 「追加で連絡する」
(signed in, so without the mail's link). These routes join the portal blueprint, behind `signed_in`."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from backoffice.accounts.views import bp, current_user, signed_in
from backoffice.attachments import operations as attachments
from backoffice.attachments import web
from backoffice.attachments.checks import FileRefused
from backoffice.attachments.web import takes_files
from backoffice.inquiries import conversation, operations, portal
from backoffice.inquiries.vocabulary import Channel
from forms.conversation import MessageForm
from forms.errors import populate_errors


@bp.get("/mypage/inquiries")
@signed_in
def inquiries() -> ResponseReturnValue:
    organization = current_user().organization
    return render_template(
        "portal/inquiries.html",
        organization=organization,
        inquiries=portal.inquiries_of(organization),
        shown=portal.SHOWN,
    )


@bp.route("/mypage/inquiries/<reference_number>", methods=["GET", "POST"])
@signed_in
@takes_files
def inquiry(reference_number: str) -> ResponseReturnValue:
    organization = current_user().organization
    found = portal.find(organization, reference_number)
    if found is None:
        abort(404)
    form = MessageForm()
    if form.validate_on_submit():
        try:
            delivered = conversation.add_message(
                found.id,
                form.body.data,
                channel=Channel.PORTAL,
                message_key=form.message_key.data,
                uploads=form.attachments.uploads(),
            )
        except (conversation.MessageRefused, FileRefused) as refused:
            populate_errors(form, refused)
        else:
            flash(conversation.notice(delivered), "info")
            number = delivered.reference_number if delivered.follow_up else reference_number
            return redirect(url_for(".inquiry", reference_number=number))
    return render_template(
        "portal/inquiry.html",
        inquiry=found,
        thread=operations.public_thread(found),
        files=attachments.of_ticket(found, public=True),
        file_url=lambda row, **kw: url_for(
            ".inquiry_file", reference_number=reference_number, attachment_id=row.id, **kw
        ),
        form=form,
        finished=conversation.is_finished(found),
    ), (422 if form.errors else 200)


@bp.get("/mypage/inquiries/<reference_number>/files/<int:attachment_id>")
@signed_in
def inquiry_file(reference_number: str, attachment_id: int) -> ResponseReturnValue:
    """A file of the public thread of one of the organization's inquiries."""
    found = portal.find(current_user().organization, reference_number) or abort(404)
    row = attachments.find(found, attachment_id, public=True) or abort(404)
    try:
        return web.send(row, thumbnail="thumbnail" in request.args, inline="inline" in request.args)
    except FileNotFoundError:
        abort(404)
