"""マイページ「お問い合わせ」: the organization's inquiries, each with its thread and 「追加で連絡する」
(signed in, so without the mail's link). These routes join the portal blueprint, behind `signed_in`."""

from flask import abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue

from backoffice.accounts.views import bp, current_user, signed_in
from backoffice.inquiries import conversation, operations, portal
from backoffice.inquiries.models import Channel
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
def inquiry(reference_number: str) -> ResponseReturnValue:
    organization = current_user().organization
    found = portal.find(organization, reference_number)
    if found is None:
        abort(404)
    form = MessageForm()
    if form.validate_on_submit():
        try:
            delivered = conversation.add_message(
                found.id, form.body.data, channel=Channel.PORTAL, message_key=form.message_key.data
            )
        except conversation.MessageRefused as refused:
            populate_errors(form, refused)
        else:
            flash(conversation.notice(delivered), "info")
            number = delivered.reference_number if delivered.follow_up else reference_number
            return redirect(url_for(".inquiry", reference_number=number))
    return render_template(
        "portal/inquiry.html",
        inquiry=found,
        thread=operations.public_thread(found),
        form=form,
        finished=conversation.is_finished(found),
    ), (422 if form.errors else 200)
