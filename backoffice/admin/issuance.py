"""「アカウント発行」 on an ID発行申請 inquiry: the review form with what already exists, then issue; or
reject with a reason, or merge another open request for the same 医療機関コード."""

from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose

from backoffice.accounts import issuance
from backoffice.domain_errors import DomainError
from backoffice.extensions import db
from backoffice.inquiries import corrections, triage
from backoffice.inquiries.models import Inquiry
from forms.errors import populate_errors
from forms.issuance import IssuanceForm, RejectForm


class IssuanceMixin:
    """The issuance pages of the inquiry list (mixed into InquiryView: /admin/tickets/<id>/issue/…)."""

    def _request_inquiry(self, inquiry_id: int) -> Inquiry:
        if not self.can_write():  # type: ignore[attr-defined]
            abort(403)
        inquiry = db.session.get(Inquiry, inquiry_id) or abort(404)
        if inquiry.account_request is None:
            abort(404)
        return inquiry

    @expose("/<int:inquiry_id>/issue/", methods=("GET", "POST"))
    def issue(self, inquiry_id: int) -> Any:
        """The review form, pre-filled from the inquiry, with what already exists shown first."""
        inquiry = self._request_inquiry(inquiry_id)
        form = IssuanceForm.from_inquiry(inquiry) if request.method == "GET" else IssuanceForm()
        error = None
        status = 200
        if request.method == "POST" and "recheck" in request.form:
            form.validate_on_submit()  # the fields' messages; nothing is issued
        elif request.method == "POST":
            status = 422
            if form.validate_on_submit():
                try:
                    organization = issuance.issue_account(
                        inquiry.id,
                        form.to_input(),
                        self.actor(),  # type: ignore[attr-defined]
                        check_digit_acknowledged=bool(form.acknowledge_check_digit.data),
                    )
                except DomainError as refused:
                    # A field's error (the check digit, the email) keeps 422; an error of the whole
                    # request (already issued, no longer an ID発行申請) is a conflict.
                    if not populate_errors(form, refused):
                        error = str(refused)
                        status = 409
                else:
                    flash(
                        f"アカウントを発行しました（{organization.name}）。登録者に初期パスワードをお送りしました。",
                        "success",
                    )
                    return redirect(url_for(".ticket", inquiry_id=inquiry.id))
        duplicates = issuance.find_duplicates(
            inquiry,
            form.medical_code.data or "",
            form.email.data or "",
            form.institution_name.data or "",
        )
        return self.render(  # type: ignore[attr-defined]
            "admin/tickets/issue.html",
            inquiry=inquiry,
            form=form,
            duplicates=duplicates,
            error=error,
            reject_form=RejectForm(),
            canned=triage.canned_replies(),
            correction=corrections.latest_changes(inquiry),
            asked=[corrections.FIELDS[f] for f in corrections.asked_fields(inquiry)],
        ), status

    @expose("/<int:inquiry_id>/reject/", methods=("POST",))
    def reject(self, inquiry_id: int) -> Any:
        """却下 with a reason, mailed to the requester."""
        inquiry = self._request_inquiry(inquiry_id)
        form = RejectForm()
        try:
            issuance.reject_request(inquiry.id, form.body.data or "", self.actor())  # type: ignore[attr-defined]
        except issuance.IssuanceError as refused:
            flash(str(refused).lstrip("＊"), "error")
            return redirect(url_for(".issue", inquiry_id=inquiry.id))
        flash("ID発行申請を却下し、依頼者に理由をお送りしました。", "success")
        return redirect(url_for(".ticket", inquiry_id=inquiry.id))

    @expose("/<int:inquiry_id>/merge/<int:duplicate_id>/", methods=("POST",))
    def merge(self, inquiry_id: int, duplicate_id: int) -> Any:
        """Merge another open request for the same code into this inquiry."""
        inquiry = self._request_inquiry(inquiry_id)
        try:
            issuance.merge_into(duplicate_id, inquiry.id, self.actor())  # type: ignore[attr-defined]
        except issuance.IssuanceError as refused:
            flash(str(refused), "error")
        else:
            flash("重複したお問い合わせを統合しました。", "success")
        return redirect(url_for(".issue", inquiry_id=inquiry.id))
