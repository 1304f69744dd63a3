"""The Flask-Admin views: dashboard, tickets, and the admins' management screens.

Access is checked in one place (`SecuredMixin`): every view and the index answer 403 to a signed-in
operator without the role and send anyone else to sign-in. Changes go through services, never through
editable columns, and every change made here writes an audit event.
"""

from datetime import date
from typing import Any

import sqlalchemy as sa
from flask import Response, abort, flash, g, redirect, request, stream_with_context, url_for
from flask_admin import AdminIndexView, BaseView, expose
from flask_admin.actions import action
from flask_admin.contrib.sqla import ModelView
from flask_admin.contrib.sqla.filters import BaseSQLAFilter
from flask_wtf import FlaskForm
from markupsafe import Markup, escape
from wtforms.fields.choices import SelectChoice
from wtforms.validators import ValidationError

from backoffice.accounts import issuance
from backoffice.accounts import operations as accounts
from backoffice.accounts import search as account_search
from backoffice.accounts.models import Organization, PortalUser, TermsVersion
from backoffice.admin.access import MANAGE, READ, WORK, current_operator, refuse
from backoffice.admin.filters import DayFromFilter, DayUntilFilter, StatusFilter, ticket_filters
from backoffice.audit.models import AuditEvent
from backoffice.audit.operations import record
from backoffice.db import utcnow
from backoffice.display import format_date, format_datetime
from backoffice.extensions import db
from backoffice.inquiries import counts, triage
from backoffice.inquiries import operations as inquiry_operations
from backoffice.inquiries.export import stream_csv
from backoffice.inquiries.models import (
    CannedReply,
    CategoryKind,
    Inquiry,
    InquiryCategory,
    InquiryStatus,
    InquiryStatusCount,
    Priority,
)
from backoffice.inquiries.search import search_clause as ticket_search_clause
from backoffice.mail.outbox import deliver_after_response
from backoffice.operators import operations as operator_ops
from backoffice.operators.models import Operator, Role
from backoffice.operators.operations import OperatorActor
from forms.issuance import IssuanceForm, RejectForm
from forms.tickets import (
    UNASSIGN,
    BulkForm,
    NoteForm,
    ReplyForm,
    TicketForm,
    assignee_choices,
)


class SecuredMixin:
    """Who may open the view (`roles`) and who may change anything in it (`write_roles`)."""

    roles: tuple[Role, ...] = READ
    write_roles: tuple[Role, ...] = MANAGE

    def is_accessible(self) -> bool:
        operator = current_operator()
        return operator is not None and operator.can(*self.roles)

    def inaccessible_callback(self, name: str, **kwargs: Any) -> Any:
        return refuse(self.roles)

    def can_write(self) -> bool:
        operator = current_operator()
        return operator is not None and operator.can(*self.write_roles)

    def actor(self) -> OperatorActor:
        operator = current_operator()
        if operator is None:  # is_accessible() ran first; this only guards misuse
            abort(403)
        return OperatorActor.of(operator)


class SecuredModelView(SecuredMixin, ModelView):
    form_base_class = FlaskForm  # Flask-WTF: every form carries the CSRF token
    can_view_details = False
    page_size = 50
    can_set_page_size = True

    def search_clause(self, text: str) -> Any | None:
        """The WHERE clause for what was typed in the search box, shaped for the table's indexes, or
        None to search as Flask-Admin does (`ILIKE '%term%'` over each column of
        `column_searchable_list`, which reads the whole table)."""
        return None

    def _apply_search(
        self, query: Any, count_query: Any, joins: Any, count_joins: Any, search: str
    ) -> tuple[Any, Any, Any, Any]:
        clause = self.search_clause(search)
        if clause is None:
            return super()._apply_search(query, count_query, joins, count_joins, search)
        query = query.filter(clause)
        if count_query is not None:
            count_query = count_query.filter(clause)
        return query, count_query, joins, count_joins

    # Create/edit/delete follow the operator's role on every request.
    @property
    def can_create(self) -> bool:  # type: ignore[override]
        return self.allow_create and self.can_write()

    @property
    def can_edit(self) -> bool:  # type: ignore[override]
        return self.allow_edit and self.can_write()

    @property
    def can_delete(self) -> bool:  # type: ignore[override]
        return self.allow_delete and self.can_write()

    allow_create = True
    allow_edit = True
    allow_delete = False

    def is_action_allowed(self, name: str) -> bool:
        return self.can_write() and super().is_action_allowed(name)

    @expose("/action/", methods=("POST",))
    def action_view(self) -> Any:
        # Refuse outright rather than redirecting back silently, as Flask-Admin would.
        if not self.can_write():
            abort(403)
        return super().action_view()

    def on_model_change(self, form: Any, model: Any, is_created: bool) -> None:
        changed = {
            f.name: _plain(f.data)
            for f in form
            if f.name != "csrf_token" and f.object_data != f.data
        }
        record(
            f"{self.endpoint}.{'created' if is_created else 'updated'}",
            **self.actor().audit(),
            target_type=self.endpoint,
            target_id=getattr(model, "id", None),
            detail={"fields": changed} if changed else None,
        )


def _plain(value: Any) -> Any:
    if isinstance(value, str | int | bool | float) or value is None:
        return value
    return str(value)


# --- dashboard ------------------------------------------------------------------------------------


class DashboardView(SecuredMixin, AdminIndexView):
    """The admin index: counts that link to the filtered list, and the oldest unanswered tickets."""

    tickets: "TicketView"  # set by backoffice.admin.setup

    @expose("/")
    def index(self) -> Any:
        # Every count here reads a counter or a partial index of open tickets (migration 0005).
        status_counts = counts.status_counts(db.session)
        open_by_category = (
            sa.select(Inquiry.category_id, sa.func.count().label("open"))
            .where(Inquiry.status.in_(triage.OPEN_STATUSES))
            .group_by(Inquiry.category_id)
            .subquery()
        )
        category_counts = db.session.execute(
            sa.select(InquiryCategory, open_by_category.c.open)
            .join(open_by_category, open_by_category.c.category_id == InquiryCategory.id)
            .order_by(open_by_category.c.open.desc(), InquiryCategory.id)
        ).all()
        requests = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Inquiry)
            .join(InquiryCategory, Inquiry.category_id == InquiryCategory.id)
            .where(
                InquiryCategory.kind == CategoryKind.ACCOUNT_REQUEST,
                Inquiry.status.in_(triage.OPEN_STATUSES),
            )
        )
        request_category = db.session.scalar(
            sa.select(InquiryCategory.id)
            .where(InquiryCategory.kind == CategoryKind.ACCOUNT_REQUEST)
            .order_by(InquiryCategory.id)
            .limit(1)
        )
        overdue = db.session.scalar(
            sa.select(sa.func.count()).select_from(Inquiry).where(triage.overdue_clause())
        )
        oldest = db.session.scalars(
            sa.select(Inquiry)
            .where(Inquiry.first_response_at.is_(None), Inquiry.status.in_(triage.OPEN_STATUSES))
            .order_by(Inquiry.created_at)
            .limit(10)
        ).all()
        return self.render(
            "admin/dashboard.html",
            statuses=[(s, status_counts.get(s, 0)) for s in InquiryStatus],
            category_counts=category_counts,
            requests=requests,
            requests_url=self.tickets.filter_url(category=str(request_category))
            if request_category
            else None,
            overdue=overdue,
            oldest=oldest,
            tickets=self.tickets,
        )


# --- tickets --------------------------------------------------------------------------------------


def _reference_link(view: "TicketView", context: Any, model: Inquiry, name: str) -> Markup:
    return Markup('<a href="{}">{}</a>').format(
        url_for(".ticket", inquiry_id=model.id), model.reference_number
    )


def _summary(view: Any, context: Any, model: Inquiry, name: str) -> str:
    text = " ".join((model.body or "").split())
    if model.account_request:
        text = f"【ID発行申請】{model.account_request.institution_name} {text}"
    return text[:40] + ("…" if len(text) > 40 else "")


def _requester(view: Any, context: Any, model: Inquiry, name: str) -> Markup:
    org = model.organization_name
    return Markup("{}<br><small>{}</small>").format(model.requester_name, org or "")


def _due(view: Any, context: Any, model: Inquiry, name: str) -> Markup:
    if model.due_on is None:
        return Markup("")
    text = format_date(model.due_on)
    if triage.is_overdue(model):
        return Markup('<span class="overdue">{}（期限切れ）</span>').format(text)
    return Markup("{}").format(text)


# From this offset on, a page is loaded with a deferred join (see TicketView._apply_pagination).
DEFERRED_JOIN_FROM = 1000
# A filtered or searched list counts its matches up to this many (see TicketView.get_list).
COUNT_CAP = 1000


class _CappedCount(sa.orm.Query[Any]):
    """The count query Flask-Admin filters and then reads with `.scalar()`: here that counts at most
    COUNT_CAP + 1 matches, so a broad search (a common surname, 25,000 of a million tickets) costs what
    a narrow one does instead of reading every match."""

    def scalar(self) -> Any:
        matches = self.order_by(None).limit(COUNT_CAP + 1).subquery()
        return self.session.scalar(sa.select(sa.func.count()).select_from(matches))


class TicketView(SecuredModelView):
    """お問い合わせ一覧 and each ticket's page."""

    roles = READ
    write_roles = WORK
    allow_create = False
    allow_edit = False
    list_template = "admin/tickets/list.html"
    column_auto_select_related = False  # get_query() loads the relations

    column_list = [
        "reference_number",
        "created_at",
        "category",
        "body",
        "requester_name",
        "status",
        "assignee",
        "due_on",
    ]
    column_labels = {
        "reference_number": "受付番号",
        "created_at": "受付日時",
        "category": "区分",
        "body": "要約",
        "requester_name": "依頼者",
        "status": "ステータス",
        "assignee": "担当者",
        "due_on": "期限",
        "priority": "優先度",
    }
    column_sortable_list = [
        "reference_number",
        "created_at",
        "status",
        "due_on",
        ("assignee", "assignee.name"),
        ("category", "category.position"),
    ]
    # id breaks ties, so pages never overlap or skip tickets received in the same instant.
    column_default_sort = [("created_at", True), ("id", True)]
    column_searchable_list = [
        "reference_number",
        "requester_name",
        "email",
        "account_request.medical_code",
        "account_request.institution_name",
    ]
    column_formatters = {
        "reference_number": _reference_link,
        "created_at": lambda v, c, m, n: format_datetime(m.created_at),
        "category": lambda v, c, m, n: m.category.path,
        "body": _summary,
        "requester_name": _requester,
        "status": lambda v, c, m, n: m.status.label,
        "assignee": lambda v, c, m, n: m.assignee.name if m.assignee else "（未割り当て）",
        "due_on": _due,
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.column_filters = ticket_filters()
        super().__init__(*args, **kwargs)

    @expose("/")
    def index_view(self) -> Any:
        self._refresh_filters_cache()  # category and operator options change while the app runs
        return super().index_view()

    def search_placeholder(self) -> str:
        return "受付番号・氏名・メール・医療機関コード・医療機関名"

    # Searching, counting and deep pages, shaped for a million tickets (docs/performance.md).

    def search_clause(self, text: str) -> Any | None:
        return ticket_search_clause(text)

    def get_list(
        self,
        page: Any,
        sort_column: Any,
        sort_desc: Any,
        search: Any,
        filters: Any,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        """Counted without reading a million rows: the whole list and a list filtered by status alone
        from the per-status counters (the same numbers as the dashboard); any other filter or search
        counts its matches only up to COUNT_CAP, and a list with more shows 「1,000件以上」 and a
        previous/next pager instead of page numbers."""
        searched = bool(search and search.strip())
        only_status = (
            not searched
            and len(filters or ()) == 1
            and isinstance(self._filters[filters[0][0]], StatusFilter)
        )
        g.tickets_count = (
            "whole" if not searched and not filters else "status" if only_status else "capped"
        )
        g.tickets_filtered = bool(filters)
        count, data = super().get_list(
            page, sort_column, sort_desc, search, filters, *args, **kwargs
        )
        g.tickets_over_cap = False
        if only_status:
            index, _name, value = filters[0]
            count = counts.status_counts(db.session).get(self._filters[index].clean(value), 0)
        elif g.tickets_count == "capped" and count is not None and count > COUNT_CAP:
            g.tickets_over_cap = True
            count = None  # Flask-Admin then shows its previous/next pager
        return count, data

    def get_count_query(self) -> Any:
        mode = g.get("tickets_count")
        if mode == "whole":
            total = sa.func.coalesce(sa.func.sum(InquiryStatusCount.count), 0)
            return db.session.query(sa.cast(total, sa.BigInteger))
        if mode == "status":
            return None  # get_list reads that status's counter
        return _CappedCount([Inquiry.id], db.session())

    def render(self, template: str, **kwargs: Any) -> Any:
        if template == self.list_template and g.get("tickets_over_cap"):
            kwargs["count"] = f"{COUNT_CAP:,}件以上"
        return super().render(template, **kwargs)

    def _apply_pagination(self, query: Any, page: int | None, page_size: int | None) -> Any:
        """Far pages and filtered pages read the page's ids first, from an index alone (an index-only
        scan), then load exactly those rows, by primary key, in that order.

        Asked for whole rows at once, PostgreSQL may walk the wrong index: (created_at, id) for 完了,
        skipping the 46,000 newest tickets that are still open; for 未回答 the partial index of open
        tickets whole (20,000 rows) because it misjudges how many it holds. The second statement keeps
        none of the filters, so it has nothing to misjudge."""
        size = self.page_size if page_size is None else page_size
        skipped = (page or 0) * (size or 0)
        if not size or not (skipped >= DEFERRED_JOIN_FROM or g.get("tickets_filtered")):
            return super()._apply_pagination(query, page, page_size)
        ids = [i for (i,) in query.with_entities(Inquiry.id).limit(size).offset(skipped)]
        if not ids:
            return self.get_query().filter(sa.false())
        position = sa.case({inquiry_id: n for n, inquiry_id in enumerate(ids)}, value=Inquiry.id)
        return self.get_query().filter(Inquiry.id.in_(ids)).order_by(position)

    def get_query(self) -> Any:
        """Category, its parent and assignee joined (one row each: no extra round trips); the
        ID-issuance details, which most tickets lack, in a batch. Of the assignee only what lists and
        the CSV show: its password hash and TOTP secrets stay in the database."""
        return (
            super()
            .get_query()
            .options(
                sa.orm.joinedload(Inquiry.category).joinedload(InquiryCategory.parent),
                sa.orm.joinedload(Inquiry.assignee).load_only(Operator.id, Operator.name),
                sa.orm.selectinload(Inquiry.account_request),
            )
        )

    def filter_url(self, **values: str | None) -> str:
        """The list filtered by the named filters (`key` of backoffice.admin.filters), e.g.
        `filter_url(status="new")`; None values are left out."""
        args = {}
        position = 0
        for index, flt in enumerate(self._filters or []):
            value = values.get(getattr(flt, "key", ""))
            if value is not None:
                args[f"flt{position}_{self.get_filter_arg(index, flt)}"] = value
                position += 1
        return url_for(f"{self.endpoint}.index_view", **args)

    # Bulk actions: each goes through the same service rules as the ticket page.

    @action("assign_me", "自分を担当者にする")
    def assign_me(self, ids: list[str]) -> Any:
        actor = self.actor()
        result = triage.bulk_update(
            map(int, ids), triage.TicketChanges(assignee_id=actor.id), actor
        )
        self._report(result)

    @action("mark_spam", "スパムにする", "選択したお問い合わせをスパムにします。よろしいですか？")
    def mark_spam(self, ids: list[str]) -> Any:
        result = triage.bulk_update(
            map(int, ids), triage.TicketChanges(status=InquiryStatus.SPAM), self.actor()
        )
        self._report(result)

    @action("assign_to", "担当者を割り当てる…")
    def assign_to(self, ids: list[str]) -> Any:
        return redirect(url_for(".bulk", kind="assign", ids=",".join(ids)))

    @action("change_status", "ステータスを変更する…")
    def change_status(self, ids: list[str]) -> Any:
        return redirect(url_for(".bulk", kind="status", ids=",".join(ids)))

    def _report(self, result: triage.BulkResult) -> None:
        if result.changed:
            flash(f"{result.changed}件のお問い合わせを更新しました。", "success")
        for line in result.refused:
            flash(f"更新できませんでした：{line}", "error")

    @expose("/bulk/", methods=("GET", "POST"))
    def bulk(self) -> Any:
        """The second step of 「担当者を割り当てる…」 and 「ステータスを変更する…」: choose the value."""
        if not self.can_write():
            abort(403)
        kind = request.values.get("kind")
        if kind not in ("assign", "status"):
            abort(404)
        form = BulkForm()
        if kind == "assign":
            form.target.label.text = "担当者"
            form.target.choices = assignee_choices(
                [o for o in _active_operators() if o.role is not Role.VIEWER]
            )
        else:
            form.target.label.text = "ステータス"
            form.target.choices = [SelectChoice(s.value, s.label) for s in InquiryStatus]
        if request.method == "GET":
            form.ids.data = request.args.get("ids", "")
        ids = [int(i) for i in (form.ids.data or "").split(",") if i.isdigit()]
        if form.validate_on_submit() and ids:
            if kind == "assign":
                changes = (
                    triage.TicketChanges(unassign=True)
                    if form.target.data == UNASSIGN
                    else triage.TicketChanges(assignee_id=int(form.target.data))
                )
            else:
                changes = triage.TicketChanges(status=InquiryStatus(form.target.data))
            self._report(triage.bulk_update(ids, changes, self.actor()))
            return redirect(url_for(".index_view"))
        numbers = db.session.scalars(
            sa.select(Inquiry.reference_number).where(Inquiry.id.in_(ids)).order_by(Inquiry.id)
        ).all()
        return self.render("admin/tickets/bulk.html", form=form, kind=kind, numbers=numbers)

    @expose("/<int:inquiry_id>/", methods=("GET", "POST"))
    def ticket(self, inquiry_id: int) -> Any:
        """A ticket with every field, its history, and the forms to act on it."""
        inquiry = db.session.get(Inquiry, inquiry_id) or abort(404)
        operators = [o for o in _active_operators() if o.role is not Role.VIEWER]
        statuses = [inquiry.status, *triage.allowed_transitions(inquiry.status)]
        reply_form = ReplyForm(prefix="reply")
        note_form = NoteForm(prefix="note")
        ticket_form = TicketForm(statuses, operators, prefix="ticket")
        status = 200
        if request.method == "POST":
            if not self.can_write():
                abort(403)
            handled = self._act(inquiry, reply_form, note_form, ticket_form)
            if not isinstance(handled, int):
                return handled
            status = handled
        if request.method == "GET" or not ticket_form.is_submitted():
            ticket_form.status.data = inquiry.status.value
            ticket_form.assignee.data = (
                str(inquiry.assignee_id) if inquiry.assignee_id else UNASSIGN
            )
            ticket_form.priority.data = inquiry.priority.value
            ticket_form.due_on.data = inquiry.due_on
        ticket_form.version.data = inquiry.version
        reply_form.version.data = inquiry.version
        return self.render(
            "admin/tickets/ticket.html",
            inquiry=inquiry,
            reply_form=reply_form,
            note_form=note_form,
            ticket_form=ticket_form,
            canned=triage.canned_replies(),
            overdue=triage.is_overdue(inquiry),
            writable=self.can_write(),
        ), status

    def _act(
        self, inquiry: Inquiry, reply_form: ReplyForm, note_form: NoteForm, ticket_form: TicketForm
    ) -> Any:
        """Run the submitted form's service. Returns a redirect on success, else the status code for
        the page showing the errors: 409 when someone else changed the ticket meanwhile, 422 else."""
        actor = self.actor()
        back = redirect(url_for(".ticket", inquiry_id=inquiry.id))
        if "reply-body" in request.form:
            form, field = reply_form, reply_form.body
        elif "note-body" in request.form:
            form, field = note_form, note_form.body
        else:
            form, field = ticket_form, ticket_form.status
        version = getattr(form, "version", None)
        if version is not None and version.data != inquiry.version:
            # Checked before the fields: the page's choices may no longer fit the ticket.
            field.errors = [triage.StaleTicket().args[0]]
            return 409
        if not form.validate_on_submit():
            return 422
        try:
            if form is reply_form:
                email_ids = triage.reply(
                    inquiry.id, reply_form.body.data or "", actor, expected_version=inquiry.version
                )
                deliver_after_response(email_ids)
                flash("回答を送信しました（依頼者にメールでお知らせします）。", "success")
            elif form is note_form:
                triage.add_note(inquiry.id, note_form.body.data or "", actor)
                flash("内部メモを追加しました。", "success")
            else:
                assignee = ticket_form.assignee.data
                triage.update_ticket(
                    inquiry.id,
                    triage.TicketChanges(
                        status=InquiryStatus(ticket_form.status.data),
                        assignee_id=int(assignee) if assignee and assignee != UNASSIGN else None,
                        unassign=assignee == UNASSIGN,
                        priority=Priority(ticket_form.priority.data),
                        due_on=ticket_form.due_on.data,
                    ),
                    actor,
                    expected_version=ticket_form.version.data,
                )
                flash("お問い合わせを更新しました。", "success")
        except triage.TriageError as error:
            field.errors = [*field.errors, str(error)]
            db.session.rollback()
            db.session.refresh(inquiry)
            return 409 if isinstance(error, triage.StaleTicket) else 422
        return back

    # 「アカウント発行」 (issue 5): review, duplicates, issue; or reject, or merge a duplicate request.

    def _request_ticket(self, inquiry_id: int) -> Inquiry:
        if not self.can_write():
            abort(403)
        inquiry = db.session.get(Inquiry, inquiry_id) or abort(404)
        if inquiry.account_request is None:
            abort(404)
        return inquiry

    @expose("/<int:inquiry_id>/issue/", methods=("GET", "POST"))
    def issue(self, inquiry_id: int) -> Any:
        """The review form, pre-filled from the inquiry, with what already exists shown first."""
        inquiry = self._request_ticket(inquiry_id)
        form = IssuanceForm.from_inquiry(inquiry) if request.method == "GET" else IssuanceForm()
        error = None
        status = 200
        if request.method == "POST":
            status = 422
            if form.validate_on_submit():
                try:
                    organization, email_ids = issuance.issue_account(
                        inquiry.id,
                        form.to_input(),
                        self.actor(),
                        check_digit_acknowledged=bool(form.acknowledge_check_digit.data),
                    )
                except issuance.NeedsAcknowledgement as missing:
                    form.acknowledge_check_digit.errors.append(str(missing))
                except accounts.EmailTaken as taken:
                    form.email.errors.append(str(taken))
                except issuance.IssuanceError as refused:
                    error = str(refused)
                    status = 409
                else:
                    deliver_after_response(email_ids)
                    flash(
                        f"アカウントを発行しました（{organization.name}）。登録者に初期パスワードをお送りしました。",
                        "success",
                    )
                    return redirect(url_for(".ticket", inquiry_id=inquiry.id))
        duplicates = issuance.find_duplicates(
            inquiry, form.medical_code.data or "", form.email.data or ""
        )
        return self.render(
            "admin/tickets/issue.html",
            inquiry=inquiry,
            form=form,
            duplicates=duplicates,
            error=error,
            reject_form=RejectForm(),
            canned=triage.canned_replies(),
        ), status

    @expose("/<int:inquiry_id>/reject/", methods=("POST",))
    def reject(self, inquiry_id: int) -> Any:
        """却下 with a reason, mailed to the requester."""
        inquiry = self._request_ticket(inquiry_id)
        form = RejectForm()
        try:
            email_ids = issuance.reject_request(inquiry.id, form.body.data or "", self.actor())
        except issuance.IssuanceError as refused:
            flash(str(refused).lstrip("＊"), "error")
            return redirect(url_for(".issue", inquiry_id=inquiry.id))
        deliver_after_response(email_ids)
        flash("ID発行申請を却下し、依頼者に理由をお送りしました。", "success")
        return redirect(url_for(".ticket", inquiry_id=inquiry.id))

    @expose("/<int:inquiry_id>/merge/<int:duplicate_id>/", methods=("POST",))
    def merge(self, inquiry_id: int, duplicate_id: int) -> Any:
        """Merge another open request for the same code into this ticket."""
        inquiry = self._request_ticket(inquiry_id)
        try:
            issuance.merge_into(duplicate_id, inquiry.id, self.actor())
        except issuance.IssuanceError as refused:
            flash(str(refused), "error")
        else:
            flash("重複したお問い合わせを統合しました。", "success")
        return redirect(url_for(".issue", inquiry_id=inquiry.id))

    @expose("/export.csv")
    def export(self) -> Response:
        """The current filtered, searched and sorted list as CSV, streamed."""
        view_args = self._get_list_extra_args()
        sort_column = self._get_column_by_idx(view_args.sort)
        if sort_column is not None:
            sort_column = sort_column[0]
        _count, query = self.get_list(
            0,
            sort_column,
            view_args.sort_desc,
            view_args.search,
            view_args.filters,
            execute=False,
            page_size=False,
        )
        record(
            "ticket.exported",
            **self.actor().audit(),
            target_type="inquiry",
            detail={
                "search": view_args.search,
                "filters": [str(f) for f in view_args.filters or []],
            },
        )
        db.session.commit()
        filename = f"tickets-{date.today().isoformat()}.csv"
        return Response(
            stream_with_context(stream_csv(query)),
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )


def _active_operators() -> list[Operator]:
    return list(
        db.session.scalars(sa.select(Operator).where(Operator.is_active).order_by(Operator.name))
    )


# --- management (admins) --------------------------------------------------------------------------


class OperatorView(SecuredModelView):
    """運営担当者: roles and who is active. New operators are created with `flask operators create`."""

    roles = MANAGE
    allow_create = False
    column_list = ["email", "name", "role", "is_active", "last_login_at", "locked_until"]
    column_labels = {
        "email": "メールアドレス",
        "name": "氏名",
        "role": "権限",
        "is_active": "有効",
        "last_login_at": "最終ログイン",
        "locked_until": "ロック解除予定",
    }
    column_formatters = {
        "role": lambda v, c, m, n: m.role.label,
        "last_login_at": lambda v, c, m, n: format_datetime(m.last_login_at),
        "locked_until": lambda v, c, m, n: format_datetime(m.locked_until),
    }
    column_searchable_list = ["email", "name"]
    form_columns = ["name", "role", "is_active"]

    def on_model_change(self, form: Any, model: Operator, is_created: bool) -> None:
        if not model.is_active:
            operator_ops.revoke_sessions(model)
        super().on_model_change(form, model, is_created)

    @action("unlock", "ロックを解除する")
    def unlock(self, ids: list[str]) -> None:
        for operator in db.session.scalars(
            sa.select(Operator).where(Operator.id.in_(map(int, ids)))
        ):
            operator.failed_attempts = 0
            operator.locked_until = None
            record(
                "operators.unlocked",
                **self.actor().audit(),
                target_type="operators",
                target_id=operator.id,
            )
        db.session.commit()
        flash("ロックを解除しました。", "success")

    @action(
        "reset_authenticator",
        "認証アプリをリセットする",
        "認証アプリの登録をリセットします。本人がログイン画面の「認証アプリを登録する」から登録し直すまでログインできません。よろしいですか？",
    )
    def reset_authenticator(self, ids: list[str]) -> None:
        for operator in db.session.scalars(
            sa.select(Operator).where(Operator.id.in_(map(int, ids)))
        ):
            operator_ops.reset_authenticator(operator)
            record(
                "operators.authenticator_reset",
                **self.actor().audit(),
                target_type="operators",
                target_id=operator.id,
            )
        db.session.commit()
        flash("認証アプリの登録をリセットしました。", "success")


class CategoryView(SecuredModelView):
    """お問い合わせ区分: the 大/中カテゴリー tree. Categories are closed (有効 off), never deleted."""

    roles = MANAGE
    column_list = ["parent", "name", "position", "is_active", "kind", "target_business_days"]
    column_labels = {
        "parent": "大カテゴリー",
        "name": "名称",
        "position": "表示順",
        "is_active": "有効",
        "kind": "種類",
        "target_business_days": "回答目標（営業日）",
    }
    column_formatters = {
        "parent": lambda v, c, m, n: m.parent.name if m.parent else "（大カテゴリー）",
        "kind": lambda v, c, m, n: "ID発行申請" if m.is_account_request else "一般",
    }
    column_default_sort = [("parent_id", False), ("position", False)]
    form_columns = ["parent", "name", "position", "is_active", "kind", "target_business_days"]
    form_args = {
        "parent": {
            "label": "大カテゴリー（空欄なら大カテゴリー）",
            "query_factory": lambda: db.session.scalars(
                sa.select(InquiryCategory).where(InquiryCategory.parent_id.is_(None))
            ).all(),
        },
    }

    def after_model_change(self, form: Any, model: Any, is_created: bool) -> None:
        # This process shows the change at once; the others within CATEGORY_CACHE_SECONDS.
        inquiry_operations.forget_category_tree()

    def after_model_delete(self, model: Any) -> None:
        inquiry_operations.forget_category_tree()


class CannedReplyView(SecuredModelView):
    """定型文."""

    roles = MANAGE
    column_list = ["title", "position", "is_active"]
    column_labels = {"title": "件名", "body": "本文", "position": "表示順", "is_active": "有効"}
    form_columns = ["title", "body", "position", "is_active"]


class AuditView(SecuredModelView):
    """監査ログ: read only."""

    roles = MANAGE
    allow_create = False
    allow_edit = False
    column_list = [
        "occurred_at",
        "actor_label",
        "ip_address",
        "action",
        "target_type",
        "target_id",
        "outcome",
        "detail",
    ]
    column_labels = {
        "occurred_at": "日時",
        "actor_label": "操作者",
        "ip_address": "IPアドレス",
        "action": "操作",
        "target_type": "対象",
        "target_id": "対象ID",
        "outcome": "結果",
        "detail": "詳細",
    }
    column_formatters = {
        "occurred_at": lambda v, c, m, n: format_datetime(m.occurred_at),
        "outcome": lambda v, c, m, n: "成功" if m.outcome.value == "success" else "失敗",
        "detail": lambda v, c, m, n: escape(m.detail) if m.detail else "",
    }
    column_default_sort = ("occurred_at", True)
    column_searchable_list = ["action", "actor_label", "target_id"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.column_filters = [
            "action",
            "actor_label",
            "target_type",
            "target_id",
            DayFromFilter(AuditEvent.occurred_at, "日付（から）", "from"),
            DayUntilFilter(AuditEvent.occurred_at, "日付（まで）", "until"),
        ]
        super().__init__(*args, **kwargs)


def _registrant(organization: Organization) -> PortalUser | None:
    return next((u for u in organization.users if u.is_registrant), None)


def _yes(value: object) -> str:
    return "済" if value else "未"


class FirstLoginFilter(BaseSQLAFilter):
    """Organizations whose registrant has (not) logged in yet."""

    def __init__(self) -> None:
        super().__init__(Organization.id, "登録者の初回ログイン", [("1", "済"), ("0", "未")])

    def operation(self) -> str:
        return ""

    def apply(self, query: Any, value: str, alias: Any = None) -> Any:
        logged_in = sa.exists().where(
            PortalUser.organization_id == Organization.id,
            PortalUser.is_registrant,
            PortalUser.first_login_at.is_not(None),
        )
        return query.filter(logged_in if value == "1" else ~logged_in)


class OrganizationView(SecuredModelView):
    """事業所・医療機関: onboarding state at a glance (issued, first login, consent, users n/5)."""

    roles = READ
    write_roles = WORK
    allow_create = False
    allow_edit = False
    column_list = [
        "name",
        "kind",
        "office_number",
        "registrant",
        "first_login",
        "consented",
        "users",
        "is_active",
    ]
    column_labels = {
        "name": "名称",
        "kind": "種別",
        "office_number": "事業所番号・医療機関コード",
        "registrant": "登録者",
        "first_login": "初回ログイン",
        "consented": "利用規約同意",
        "users": "ユーザ数",
        "is_active": "有効",
    }
    column_formatters = {
        "kind": lambda v, c, m, n: m.kind.label,
        "registrant": lambda v, c, m, n: ((r := _registrant(m)) and r.email) or "",
        "first_login": lambda v, c, m, n: _yes((r := _registrant(m)) and r.first_login_at),
        "consented": lambda v, c, m, n: _yes((r := _registrant(m)) and r.terms_accepted_at),
        "users": lambda v, c, m, n: f"{sum(1 for u in m.users if u.is_active)}/5",
    }
    column_searchable_list = ["name", "office_number"]
    column_sortable_list = ["name", "office_number", "created_at"]
    column_default_sort = ("created_at", True)

    def search_clause(self, text: str) -> Any | None:
        return account_search.organization_clause(text)

    def search_placeholder(self) -> str:
        return "名称・フリガナ・事業所番号・医療機関コード"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.column_filters = [FirstLoginFilter(), "kind", "is_active"]
        super().__init__(*args, **kwargs)

    def get_query(self) -> Any:
        return super().get_query().options(sa.orm.selectinload(Organization.users))

    @action(
        "disable",
        "無効にする（全ユーザをログアウト）",
        "選択した事業所・医療機関を無効にします。よろしいですか？",
    )
    def disable(self, ids: list[str]) -> None:
        for organization in db.session.scalars(
            sa.select(Organization).where(Organization.id.in_(map(int, ids)))
        ):
            accounts.operator_set_organization_active(organization, False, self.actor().audit())
        flash("無効にしました。ユーザはログアウトされました。", "success")

    @action("enable", "有効にする")
    def enable(self, ids: list[str]) -> None:
        for organization in db.session.scalars(
            sa.select(Organization).where(Organization.id.in_(map(int, ids)))
        ):
            accounts.operator_set_organization_active(organization, True, self.actor().audit())
        flash("有効にしました。", "success")


class PortalUserView(SecuredModelView):
    """ポータルユーザ: re-issue initial passwords, lock, unlock, disable."""

    roles = READ
    write_roles = WORK
    allow_create = False
    allow_edit = False
    column_list = [
        "organization",
        "name",
        "email",
        "is_registrant",
        "must_change_password",
        "initial_password_expires_at",
        "first_login_at",
        "locked_until",
        "is_active",
    ]
    column_labels = {
        "organization": "事業所・医療機関",
        "name": "氏名",
        "email": "ID（メールアドレス）",
        "is_registrant": "登録者",
        "must_change_password": "初期パスワードのまま",
        "initial_password_expires_at": "初期パスワード期限",
        "first_login_at": "初回ログイン",
        "locked_until": "ロック",
        "is_active": "有効",
    }
    column_formatters = {
        "initial_password_expires_at": lambda v, c, m, n: format_datetime(
            m.initial_password_expires_at
        ),
        "first_login_at": lambda v, c, m, n: format_datetime(m.first_login_at),
        "locked_until": lambda v, c, m, n: (
            "ロック中" if m.locked_until and m.locked_until > utcnow() else ""
        ),
    }
    column_searchable_list = ["name", "email"]
    column_filters = ["is_registrant", "is_active", "must_change_password"]

    def search_clause(self, text: str) -> Any | None:
        return account_search.portal_user_clause(text)

    def search_placeholder(self) -> str:
        return "氏名・フリガナ・ID（メールアドレス）"

    def _users(self, ids: list[str]) -> list[PortalUser]:
        return list(
            db.session.scalars(sa.select(PortalUser).where(PortalUser.id.in_(map(int, ids))))
        )

    @action("reissue", "初期パスワードを再発行する")
    def reissue(self, ids: list[str]) -> None:
        sent = []
        for user in self._users(ids):
            try:
                sent.append(accounts.operator_reissue_initial_password(user, self.actor().audit()))
            except accounts.AccountError as refused:
                flash(str(refused), "error")
        deliver_after_response(sent)
        if sent:
            flash(f"{len(sent)}名に新しい初期パスワードをお送りしました。", "success")

    @action("lock", "ロックする（ログアウトさせる）")
    def lock(self, ids: list[str]) -> None:
        for user in self._users(ids):
            accounts.operator_set_user_state(user, self.actor().audit(), locked=True)
        flash("ロックしました。", "success")

    @action("unlock", "ロックを解除する")
    def unlock(self, ids: list[str]) -> None:
        for user in self._users(ids):
            accounts.operator_set_user_state(user, self.actor().audit(), locked=False)
        flash("ロックを解除しました。", "success")

    @action(
        "disable",
        "無効にする（ログアウトさせる）",
        "選択したユーザを無効にします。よろしいですか？",
    )
    def disable(self, ids: list[str]) -> None:
        for user in self._users(ids):
            accounts.operator_set_user_state(user, self.actor().audit(), active=False)
        flash("無効にしました。", "success")

    @action("enable", "有効にする")
    def enable(self, ids: list[str]) -> None:
        for user in self._users(ids):
            accounts.operator_set_user_state(user, self.actor().audit(), active=True)
        flash("有効にしました。", "success")


class TermsView(SecuredModelView):
    """利用規約: drafts are edited freely; 公開する makes a version current, and every user consents again."""

    roles = MANAGE
    column_list = ["version", "title", "published_at", "created_at"]
    column_labels = {
        "version": "版",
        "title": "表題",
        "body": "本文",
        "published_at": "公開日時",
        "created_at": "作成日時",
    }
    column_formatters = {
        "published_at": lambda v, c, m, n: (
            format_datetime(m.published_at) if m.published_at else "（下書き）"
        ),
        "created_at": lambda v, c, m, n: format_datetime(m.created_at),
    }
    column_default_sort = ("created_at", True)
    form_columns = ["version", "title", "body"]

    def on_model_change(self, form: Any, model: TermsVersion, is_created: bool) -> None:
        if not is_created and model.published_at is not None:
            raise ValidationError(
                "公開済みの利用規約は変更できません。新しい版を作成してください。"
            )
        super().on_model_change(form, model, is_created)

    @action(
        "publish",
        "公開する",
        "選択した版を公開します。すべてのユーザに、次の操作で同意を求めます。よろしいですか？",
    )
    def publish(self, ids: list[str]) -> None:
        for terms in db.session.scalars(
            sa.select(TermsVersion).where(TermsVersion.id.in_(map(int, ids)))
        ):
            if terms.published_at is None:
                terms.published_at = utcnow()
                record(
                    "terms.published",
                    **self.actor().audit(),
                    target_type="terms",
                    target_id=terms.id,
                    detail={"version": terms.version},
                )
        db.session.commit()
        flash("利用規約を公開しました。", "success")


def views() -> list[BaseView]:
    """The admin's views in menu order."""
    return [
        TicketView(Inquiry, db, name="お問い合わせ", endpoint="tickets", url="tickets"),
        OrganizationView(
            Organization,
            db,
            name="事業所・医療機関",
            endpoint="organizations",
            category="アカウント",
        ),
        PortalUserView(
            PortalUser, db, name="ポータルユーザ", endpoint="portal_users", category="アカウント"
        ),
        CategoryView(
            InquiryCategory,
            db,
            name="お問い合わせ区分",
            endpoint="categories",
            category="設定",
        ),
        CannedReplyView(CannedReply, db, name="定型文", endpoint="canned", category="設定"),
        OperatorView(Operator, db, name="運営担当者", endpoint="operators", category="設定"),
        TermsView(TermsVersion, db, name="利用規約", endpoint="terms", category="設定"),
        AuditView(AuditEvent, db, name="監査ログ", endpoint="audit", category="設定"),
    ]
