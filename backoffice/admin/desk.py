"""The ticket page's corrections — 区分の変更, メールアドレスの訂正, 統合 — and the page that logs a call,
a fax or a visit as a ticket (backoffice.inquiries.desk, merging)."""

import secrets
from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose

from backoffice.inquiries import desk, merging, triage
from backoffice.inquiries.models import Inquiry
from backoffice.inquiries.vocabulary import FINISHED, Intake
from forms.desk import EmailCorrectionForm, LogContactForm, MergeForm, RefileForm
from forms.errors import populate_errors

PREFIXES = ("refile-", "address-", "merge-")


class DeskMixin:
    """Mixed into InquiryView (URLs under /admin/tickets/)."""

    def desk_forms(self, inquiry: Inquiry) -> dict[str, Any]:
        categories = desk.categories()
        forms = {
            "refile_form": RefileForm(
                categories, needs_details=inquiry.account_request is None, prefix="refile"
            ),
            "address_form": EmailCorrectionForm(prefix="address"),
            "merge_form": MergeForm(prefix="merge"),
        }
        forms["can_correct_email"] = inquiry.status not in FINISHED
        forms["can_merge"] = inquiry.merged_into_id is None
        return forms

    @staticmethod
    def stamp_versions(forms: dict[str, Any], inquiry: Inquiry) -> None:
        """The version the page shows, set after a POST was handled (the posted one is checked)."""
        for key in ("refile_form", "address_form", "merge_form"):
            forms[key].version.data = inquiry.version

    @staticmethod
    def is_desk_post() -> bool:
        return any(key.startswith(PREFIXES) for key in request.form)

    def desk_act(self, inquiry: Inquiry, forms: dict[str, Any]) -> Any:
        """Run the submitted correction. Returns a redirect on success, else the status code for the
        ticket page showing the errors (409 when the ticket changed meanwhile)."""
        actor = self.actor()  # type: ignore[attr-defined]
        if any(key.startswith("refile-") for key in request.form):
            form, first = forms["refile_form"], "category"
        elif any(key.startswith("address-") for key in request.form):
            form, first = forms["address_form"], "email"
        else:
            form, first = forms["merge_form"], "into"
        if form.version.data != inquiry.version:
            populate_errors(form, triage.StaleInquiry(), fallback=first)
            return 409
        if not form.validate_on_submit():
            return 422
        target = inquiry.id
        try:
            if form is forms["refile_form"]:
                desk.change_category(
                    inquiry.id,
                    form.chosen.id,
                    form.details(),
                    actor,
                    expected_version=inquiry.version,
                )
                flash("区分を変更しました。", "success")
            elif form is forms["address_form"]:
                desk.correct_email(
                    inquiry.id, form.email.data, actor, expected_version=inquiry.version
                )
                flash(
                    "メールアドレスを訂正し、受付確認メールを新しいアドレスに送りました。"
                    "以前の確認ページのURLは使えません。",
                    "success",
                )
            else:
                survivor = merging.merge(
                    inquiry.id, form.into.data, actor, expected_version=inquiry.version
                )
                target = survivor.id
                flash(
                    f"受付番号 {inquiry.reference_number} を {survivor.reference_number} に"
                    "統合しました。",
                    "success",
                )
        except triage.TriageError as error:
            populate_errors(form, error, fallback=first)
            return 409 if isinstance(error, triage.StaleInquiry) else 422
        return redirect(url_for(".ticket", inquiry_id=target))

    @expose("/log/", methods=("GET", "POST"))
    def log_contact(self) -> Any:
        """電話・FAX・窓口のお問い合わせを登録する."""
        if not self.can_write():  # type: ignore[attr-defined]
            abort(403)
        form = LogContactForm(desk.categories())
        status = 200
        if request.method == "GET":
            form.intake.data = request.args.get("intake", Intake.PHONE.value)
            form.form_key.data = secrets.token_urlsafe(24)
        elif form.validate_on_submit():
            try:
                inquiry = desk.log_contact(
                    form.to_input(),
                    Intake(form.intake.data),
                    self.actor(),  # type: ignore[attr-defined]
                    acknowledge=bool(form.acknowledge.data),
                    form_key=form.form_key.data,
                )
            except triage.TriageError as error:
                populate_errors(form, error, fallback="category")
                status = 422
            else:
                flash(
                    f"受付番号 {inquiry.reference_number} で登録しました"
                    + (
                        "（受付確認メールを送ります）。"
                        if inquiry.email and form.acknowledge.data
                        else "（メールは送りません）。"
                    ),
                    "success",
                )
                return redirect(url_for(".ticket", inquiry_id=inquiry.id))
        else:
            status = 422
        return self.render(  # type: ignore[attr-defined]
            "admin/tickets/log_contact.html", form=form
        ), status
