"""「未振り分けメール」: mail that waits for an operator (no ticket of ours, another sender than the
requester, too many mails, unreadable), every other mail received for reference, and what an operator
does with each (backoffice/inbound/filing.py)."""

from typing import Any

import sqlalchemy as sa
from flask import Response, abort, flash, redirect, request, url_for
from flask_admin import BaseView, expose

from backoffice.admin.access import WORK
from backoffice.admin.base import SecuredMixin
from backoffice.extensions import db
from backoffice.inbound import filing
from backoffice.inbound.models import FILEABLE, NEEDS_OPERATOR, InboundEmail, InboundState
from backoffice.inbound.reasons import flag_labels, reason_label
from forms.errors import populate_errors
from forms.inbound import DismissForm, FileForm, NewTicketForm

PAGE_SIZE = 50
# The list's views: what waits for an operator, machines' mail, everything.
SHOWN = {
    "waiting": ("対応が必要", NEEDS_OPERATOR),
    "automatic": ("自動応答・不達通知", (InboundState.AUTOMATIC, InboundState.BOUNCE)),
    "all": ("すべて", tuple(InboundState)),
}


class InboundMailView(SecuredMixin, BaseView):
    write_roles = WORK

    @expose("/")
    def index(self) -> Any:
        shown = request.args.get("show", "waiting")
        if shown not in SHOWN:
            shown = "waiting"
        query = (
            sa.select(InboundEmail)
            .where(InboundEmail.state.in_(SHOWN[shown][1]))
            .order_by(InboundEmail.id.desc())
            .limit(PAGE_SIZE + 1)
        )
        before = request.args.get("before", type=int)
        if before:
            query = query.where(InboundEmail.id < before)
        rows = list(db.session.scalars(query))
        more = len(rows) > PAGE_SIZE
        rows = rows[:PAGE_SIZE]
        return self.render(
            "admin/inbound/list.html",
            rows=rows,
            shown=shown,
            views=SHOWN,
            waiting=filing.waiting_count(),
            next_before=rows[-1].id if more else None,
            reason_label=reason_label,
        )

    @expose("/<int:inbound_id>/", methods=("GET", "POST"))
    def detail(self, inbound_id: int) -> Any:
        row = db.session.get(InboundEmail, inbound_id) or abort(404)
        categories = filing.ticket_categories()
        file_form = FileForm(prefix="file")
        new_form = NewTicketForm(categories, prefix="new")
        status = 200
        if request.method == "POST":
            if not self.can_write():
                abort(403)
            handled = self._act(row, file_form, new_form)
            if not isinstance(handled, int):
                return handled
            status = handled
        else:
            suggested = row.inquiry if row.state is InboundState.HELD else row.header_inquiry
            if suggested is not None:
                file_form.reference_number.data = suggested.reference_number
            new_form.requester_name.data = row.from_name
            new_form.email.data = row.from_address
        return self.render(
            "admin/inbound/detail.html",
            row=row,
            file_form=file_form,
            new_form=new_form,
            dismiss_form=DismissForm(prefix="dismiss"),
            waits=row.state in FILEABLE,
            writable=self.can_write(),
            reason=reason_label(row.reason),
            flags=flag_labels(row.flags),
        ), status

    def _act(self, row: InboundEmail, file_form: FileForm, new_form: NewTicketForm) -> Any:
        actor = self.actor()
        try:
            if "file-reference_number" in request.form:
                if not file_form.validate_on_submit():
                    return 422
                inquiry = filing.file_to_ticket(row.id, file_form.reference_number.data, actor)
                flash(f"受付番号 {inquiry.reference_number} に追加しました。", "success")
                return redirect(self._back(inquiry.id))
            if "new-category" in request.form:
                if not new_form.validate_on_submit():
                    return 422
                inquiry = filing.make_ticket(
                    row.id,
                    filing.NewTicket(
                        category_id=int(new_form.category.data or 0),
                        requester_name=new_form.requester_name.data,
                        email=new_form.email.data,
                        organization_name=new_form.organization_name.data or None,
                        acknowledge=bool(new_form.acknowledge.data),
                    ),
                    actor,
                )
                flash(
                    f"新しいお問い合わせ（受付番号 {inquiry.reference_number}）にしました。",
                    "success",
                )
                return redirect(url_for("tickets.ticket", inquiry_id=inquiry.id))
            if not DismissForm(prefix="dismiss").validate_on_submit():
                abort(400)
            filing.dismiss(row.id, actor)
            flash("対応不要にしました。", "success")
            return redirect(self._back(None))
        except filing.FilingError as error:
            if isinstance(error, filing.NewTicketRefused):
                new_form.category.errors = [str(error)]
                return 422
            if isinstance(error, filing.AlreadyHandled):
                flash(str(error), "error")
                return redirect(url_for(".detail", inbound_id=row.id))
            populate_errors(file_form, error, fallback="reference_number")
            return 422

    def _back(self, inquiry_id: int | None) -> str:
        """After acting: the ticket page it was done from (a held mail), else the list."""
        if request.form.get("next") == "ticket":
            ticket = inquiry_id or request.form.get("ticket", type=int)
            return url_for("tickets.ticket", inquiry_id=ticket)
        return url_for(".index")

    @expose("/<int:inbound_id>/original.eml")
    def original(self, inbound_id: int) -> Any:
        """The message as received, for the operator's mail program (it holds the status link)."""
        if not self.can_write():
            abort(403)
        try:
            raw = filing.original(inbound_id, self.actor())
        except filing.FilingError:
            abort(404)
        return Response(
            raw,
            mimetype="message/rfc822",
            headers={
                "Content-Disposition": f'attachment; filename="mail-{inbound_id}.eml"',
                "Cache-Control": "no-store",
            },
        )
