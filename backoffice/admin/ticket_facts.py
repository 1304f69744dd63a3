"""The facts panel of the ticket page (backoffice.inquiries.facts) for 管理者 and 担当者, its look-up of
a KJ ID or 事業所番号 the requester gives on the phone, and the audited 再送 of a kept mail."""

from typing import Any

from flask import abort, flash, redirect, request, url_for
from flask_admin import expose

from backoffice.codes import CARE_OFFICE_NUMBER_RE, ECLAIMS_ID_RE
from backoffice.extensions import db
from backoffice.inquiries import facts
from backoffice.inquiries.models import Inquiry
from backoffice.mail import outbox
from backoffice.normalize import nfkc


def _lookup_key(value: str) -> tuple[str | None, str | None]:
    """The KJ ID or number typed into 「IDか事業所番号で調べる」, or the message for the field."""
    typed = nfkc(value).upper().replace("-", "")
    if not typed:
        return None, None
    if ECLAIMS_ID_RE.match(typed) or CARE_OFFICE_NUMBER_RE.match(typed):
        return typed, None
    return None, (
        "＊電子請求受付システムのID（KJから始まる12桁の英数字）か、"
        "10桁の事業所番号・医療機関コードを入力してください。"
    )


class TicketFactsMixin:
    """Mixed into InquiryView: URLs under /admin/tickets/<id>/."""

    def facts_panel(self, inquiry: Inquiry) -> dict[str, Any] | None:
        """The panel's template arguments, or None for a 閲覧者 (who sees the ticket without it)."""
        if not self.can_write():  # type: ignore[attr-defined]
            return None
        typed, error = _lookup_key(request.args.get("lookup", ""))
        found = facts.of_ticket(inquiry, extra_key=typed)
        return {"facts": found, "lookup": request.args.get("lookup", ""), "lookup_error": error}

    @expose("/<int:inquiry_id>/mails/<int:email_id>/resend", methods=("POST",))
    def resend_mail(self, inquiry_id: int, email_id: int) -> Any:
        """Send a mail the panel lists once more (only one whose body is kept)."""
        if not self.can_write():  # type: ignore[attr-defined]
            abort(403)
        inquiry = db.session.get(Inquiry, inquiry_id) or abort(404)
        typed, _error = _lookup_key(request.form.get("lookup", ""))
        shown = {f.email.id for f in facts.of_ticket(inquiry, extra_key=typed).mails}
        if email_id not in shown:
            abort(404)
        try:
            outbox.resend(email_id, self.actor().audit())  # type: ignore[attr-defined]
        except outbox.NotResendable as refused:
            flash(str(refused), "error")
        else:
            flash("メールを再送しました。", "success")
        return redirect(url_for(".ticket", inquiry_id=inquiry.id, _anchor="facts"))
