"""The ticket page (お問い合わせの対応画面): every field, the history, and the forms that act on it —
ステータス/担当者/優先度/期限, a 回答 to the requester, a 内部メモ."""

from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose

from backoffice.attachments import operations as attachments
from backoffice.attachments import web
from backoffice.attachments.checks import FileRefused
from backoffice.attachments.web import takes_files
from backoffice.audit.operations import record
from backoffice.db import utcnow
from backoffice.extensions import db
from backoffice.inbound import filing
from backoffice.inquiries import corrections, links, replies, targets, triage
from backoffice.inquiries.models import Inquiry
from backoffice.inquiries.vocabulary import EventKind
from forms.errors import populate_errors
from forms.triage import (
    UNASSIGN,
    CorrectionRequestForm,
    NoteForm,
    ReplyForm,
    RevokeLinkForm,
    TriageForm,
)


class InquiryPageMixin:
    """The ticket page of the inquiry list (mixed into InquiryView: URLs under /admin/tickets/)."""

    @expose("/<int:inquiry_id>/", methods=("GET", "POST"))
    @takes_files
    def ticket(self, inquiry_id: int) -> Any:
        """An inquiry with every field, its history, and the forms to act on it."""
        inquiry = db.session.get(Inquiry, inquiry_id) or abort(404)
        statuses = [inquiry.status, *triage.allowed_transitions(inquiry.status)]
        reply_form = ReplyForm(replies.reply_statuses(inquiry.status), prefix="reply")
        note_form = NoteForm(prefix="note")
        link_form = RevokeLinkForm(prefix="link")
        fix_form = CorrectionRequestForm(prefix="fix")
        triage_form = TriageForm(statuses, triage.assignable_operators(), prefix="ticket")
        desk_forms = self.desk_forms(inquiry)  # type: ignore[attr-defined]
        status = 200
        if request.method == "POST":
            if not self.can_write():  # type: ignore[attr-defined]
                abort(403)
            if "link-revoke" in request.form:
                return self._revoke_link(inquiry, link_form)
            if self.is_desk_post():  # type: ignore[attr-defined]
                handled = self.desk_act(inquiry, desk_forms)  # type: ignore[attr-defined]
            else:
                handled = self._act(inquiry, reply_form, note_form, triage_form, fix_form)
            if not isinstance(handled, int):
                return handled
            status = handled
        if request.method == "GET" or not triage_form.is_submitted():
            triage_form.status.data = inquiry.status.value
            triage_form.assignee.data = (
                str(inquiry.assignee_id) if inquiry.assignee_id else UNASSIGN
            )
            triage_form.priority.data = inquiry.priority.value
            triage_form.due_on.data = inquiry.due_on
        triage_form.version.data = inquiry.version
        self.stamp_versions(desk_forms, inquiry)  # type: ignore[attr-defined]
        reply_form.version.data = inquiry.version
        fix_form.version.data = inquiry.version
        return self.render(  # type: ignore[attr-defined]
            "admin/tickets/ticket.html",
            inquiry=inquiry,
            reply_form=reply_form,
            note_form=note_form,
            link_form=link_form,
            fix_form=fix_form,
            can_ask_correction=inquiry.account_request is not None
            and inquiry.status in corrections.ASKABLE
            and bool(inquiry.email),
            asked_fields=[corrections.FIELDS[f] for f in corrections.asked_fields(inquiry)],
            ticket_form=triage_form,
            canned=triage.canned_replies(),
            overdue=triage.is_overdue(inquiry),
            targets=targets.states(inquiry, inquiry.category, utcnow()),
            follow_ups=triage.follow_ups(inquiry),
            last_reply_id=max(
                (e.id for e in inquiry.events if e.kind is EventKind.PUBLIC_REPLY), default=0
            ),
            writable=self.can_write(),  # type: ignore[attr-defined]
            mail=filing.on_ticket(inquiry),
            files=attachments.of_ticket(inquiry, public=False),
            limits=attachments.limits(),
            panel=self.facts_panel(inquiry),  # type: ignore[attr-defined]
            **desk_forms,
        ), status

    @expose("/<int:inquiry_id>/files/<int:attachment_id>")
    def file(self, inquiry_id: int, attachment_id: int) -> Any:
        """A file of the ticket (?thumbnail=1: its thumbnail; ?inline=1: an image shown as it was
        re-encoded). Every download or view of a whole file is in the audit log."""
        inquiry = db.session.get(Inquiry, inquiry_id) or abort(404)
        row = attachments.find(inquiry, attachment_id, public=False) or abort(404)
        thumbnail = "thumbnail" in request.args
        try:
            response = web.send(row, thumbnail=thumbnail, inline="inline" in request.args)
        except FileNotFoundError:
            abort(404)
        if not thumbnail:
            record(
                "attachment.downloaded",
                **self.actor().audit(),  # type: ignore[attr-defined]
                target_type="attachment",
                target_id=row.id,
                detail={"inquiry_id": inquiry.id, "filename": row.filename},
            )
            db.session.commit()
        return response

    def _revoke_link(self, inquiry: Inquiry, form: RevokeLinkForm) -> Any:
        """A leaked status link stops working; the requester is mailed a new one."""
        if not form.validate_on_submit():
            abort(400)
        links.revoke(inquiry.id, self.actor())  # type: ignore[attr-defined]
        flash(
            "確認ページのURLを再発行し、依頼者にメールで送りました。以前のURLは使えません。",
            "success",
        )
        return redirect(url_for(".ticket", inquiry_id=inquiry.id))

    def _act(
        self,
        inquiry: Inquiry,
        reply_form: ReplyForm,
        note_form: NoteForm,
        triage_form: TriageForm,
        fix_form: CorrectionRequestForm,
    ) -> Any:
        """Run the submitted form's service. Returns a redirect on success, else the status code for
        the page showing the errors: 409 when someone else changed the inquiry meanwhile, 422 else.
        An error that names no field of its form is shown on the form's first field."""
        actor = self.actor()  # type: ignore[attr-defined]
        form: ReplyForm | NoteForm | TriageForm | CorrectionRequestForm
        if "reply-body" in request.form:
            form, first = reply_form, "body"
        elif "fix-reason" in request.form:
            form, first = fix_form, "fields"
        elif "note-body" in request.form:
            form, first = note_form, "body"
        else:
            form, first = triage_form, "status"
        version = getattr(form, "version", None)
        if version is not None and version.data != inquiry.version:
            # Checked before the fields: the page's choices may no longer fit the inquiry.
            populate_errors(form, triage.StaleInquiry(), fallback=first)
            return 409
        if not form.validate_on_submit():
            return 422
        try:
            if form is reply_form and "reply-preview" in request.form:
                # The exact mail, nothing sent; files are not sent with a preview (the page says so).
                self._template_args["reply_preview"] = replies.preview_reply(  # type: ignore[attr-defined]
                    inquiry.id, reply_form.body.data or "", next_status=reply_form.chosen_status()
                )
                self._template_args["preview_dropped_files"] = bool(  # type: ignore[attr-defined]
                    reply_form.attachments.uploads()
                )
                return 200
            if form is reply_form:
                replies.reply(
                    inquiry.id,
                    reply_form.body.data or "",
                    actor,
                    expected_version=inquiry.version,
                    next_status=reply_form.chosen_status(),
                    uploads=reply_form.attachments.uploads(),
                )
                flash(
                    "回答を送信しました（依頼者にメールでお知らせします）。"
                    if inquiry.email
                    else "回答を記録しました（メールアドレスがないため、メールは送りません）。",
                    "success",
                )
            elif form is fix_form:
                corrections.request_correction(
                    inquiry.id,
                    fix_form.fields.data or [],
                    fix_form.reason.data or "",
                    actor,
                    expected_version=inquiry.version,
                )
                flash("差し戻しました（依頼者に修正をメールで依頼します）。", "success")
            elif form is note_form:
                triage.add_note(
                    inquiry.id, note_form.body.data or "", actor, note_form.attachments.uploads()
                )
                flash("内部メモを追加しました。", "success")
            else:
                triage.update_inquiry(
                    inquiry.id,
                    triage_form.to_changes(),
                    actor,
                    expected_version=triage_form.version.data,
                )
                flash("お問い合わせを更新しました。", "success")
        except (triage.TriageError, FileRefused) as error:
            populate_errors(form, error, fallback=first)
            return 409 if isinstance(error, triage.StaleInquiry) else 422
        return redirect(url_for(".ticket", inquiry_id=inquiry.id))
