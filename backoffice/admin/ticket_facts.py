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
from backoffice.mail.models import OutboundEmail
from backoffice.normalize import nfkc


class TicketFactsMixin:
    """Mixed into InquiryView: URLs under /admin/tickets/<id>/."""

    def facts_panel(self, inquiry: Inquiry) -> dict[str, Any] | None:
        """The panel's template arguments, or None for a 閲覧者 (who sees the ticket without it)."""
        if not self.can_write():  # type: ignore[attr-defined]
            return None
        typed = nfkc(request.args.get("lookup", "")).upper().replace("-", "")
        error = None
        if typed and not (ECLAIMS_ID_RE.match(typed) or CARE_OFFICE_NUMBER_RE.match(typed)):
            error = (
                "＊電子請求受付システムのID（KJから始まる14文字）か、"
                "10桁の事業所番号・医療機関コードを入力してください。"
            )
        found = facts.of_ticket(inquiry, extra_key=typed if typed and not error else None)
        return {"facts": found, "lookup": request.args.get("lookup", ""), "lookup_error": error}

    @expose("/<int:inquiry_id>/mails/<int:email_id>/resend", methods=("POST",))
    def resend_mail(self, inquiry_id: int, email_id: int) -> Any:
        """Send a mail the panel lists once more (only one whose body is kept)."""
        if not self.can_write():  # type: ignore[attr-defined]
            abort(403)
        inquiry = db.session.get(Inquiry, inquiry_id) or abort(404)
        shown = {f.email.id for f in facts.of_ticket(inquiry).mails}
        if email_id not in shown or db.session.get(OutboundEmail, email_id) is None:
            abort(404)
        try:
            outbox.resend(email_id, self.actor().audit())  # type: ignore[attr-defined]
        except outbox.NotResendable:
            flash("このメールは再送できません（本文を保存していないか、送信待ちです）。", "error")
        else:
            flash("メールを再送しました。", "success")
        return redirect(url_for(".ticket", inquiry_id=inquiry.id, _anchor="facts"))
