"""お問い合わせ一覧 (endpoint `tickets`): columns, filters, search, bulk actions and CSV export; the ticket
page and 「アカウント発行」 are mixed in from inquiry_page and issuance."""

import urllib.parse
from datetime import date
from typing import Any

import sqlalchemy as sa
from flask import Response, abort, flash, redirect, request, stream_with_context, url_for
from flask_admin import expose
from flask_admin.actions import action
from markupsafe import Markup

from backoffice.admin.access import READ, WORK
from backoffice.admin.base import SecuredModelView, ids_of
from backoffice.admin.desk import DeskMixin
from backoffice.admin.filters import StatusFilter, inquiry_filters
from backoffice.admin.inquiry_page import InquiryPageMixin
from backoffice.admin.issuance import IssuanceMixin
from backoffice.admin.large_list import LargeListMixin
from backoffice.admin.saved_views import SavedViewsMixin
from backoffice.admin.ticket_facts import TicketFactsMixin
from backoffice.display import format_date, format_datetime
from backoffice.extensions import db
from backoffice.inquiries import bulk, counts, queues, triage
from backoffice.inquiries.export import record_export, stream_csv
from backoffice.inquiries.models import Inquiry, InquiryCategory, InquiryStatusCount
from backoffice.inquiries.search import search_clause as inquiry_search_clause
from backoffice.inquiries.vocabulary import InquiryStatus, Priority
from backoffice.operators.models import Operator
from forms.errors import populate_errors
from forms.saved_views import SaveViewForm
from forms.triage import BULK_MAX, BulkForm, BulkReplyForm, ids_in


def _reference_link(view: Any, context: Any, model: Inquiry, name: str) -> Markup:
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


def _priority(view: Any, context: Any, model: Inquiry, name: str) -> Markup:
    if model.priority in (Priority.HIGH, Priority.URGENT):
        return Markup('<strong class="priority-{}">{}</strong>').format(
            model.priority.value, model.priority.label
        )
    return Markup.escape(model.priority.label)


def _status(view: Any, context: Any, model: Inquiry, name: str) -> Markup:
    if model.requester_replied_at is None:
        return Markup.escape(model.status.label)
    return Markup('{}<br><span class="badge badge-warning">依頼者から返信あり</span>').format(
        model.status.label
    )


def _filter_args(url: str) -> dict[str, str]:
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))


class InquiryView(
    InquiryPageMixin,
    DeskMixin,
    TicketFactsMixin,
    IssuanceMixin,
    SavedViewsMixin,
    LargeListMixin,
    SecuredModelView,
):
    """お問い合わせ一覧 and each inquiry's ticket page."""

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
        "priority",
        "due_on",
        "updated_at",
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
        "updated_at": "最終更新",
    }
    column_sortable_list = [
        "reference_number",
        "created_at",
        "status",
        "due_on",
        ("assignee", "assignee.name"),
        ("category", "category.position"),
    ]
    # id breaks ties, so pages never overlap or skip inquiries received in the same instant.
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
        "status": _status,
        "assignee": lambda v, c, m, n: m.assignee.name if m.assignee else "（未割り当て）",
        "due_on": _due,
        "priority": _priority,
        "updated_at": lambda v, c, m, n: format_datetime(m.updated_at),
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.column_filters = inquiry_filters()
        super().__init__(*args, **kwargs)

    @expose("/")
    def index_view(self) -> Any:
        self._refresh_filters_cache()  # category and operator options change while the app runs
        self._template_args["queues"] = self.queue_links()
        self._template_args.setdefault("save_form", SaveViewForm())
        self._template_args["list_state"] = self.list_state()
        return super().index_view()

    def queue_links(self) -> list[dict[str, Any]]:
        """The one-click queues above the list, each with its count; the one shown is marked."""
        me = self.actor().id
        counts = queues.queue_counts(me)
        shown = {k: v for k, v in request.args.items() if k.startswith("flt")}
        links = []
        for queue in queues.QUEUES:
            values = {key: value.format(me=me) for key, value in queue.filters}
            url = self.filter_url(**values)
            count = counts[queue.key]
            links.append(
                {
                    "label": queue.label,
                    "url": url,
                    "count": f"{queues.COUNT_CAP:,}件以上"
                    if count > queues.COUNT_CAP
                    else f"{count}件",
                    "current": bool(shown) and shown == _filter_args(url),
                }
            )
        return links

    def search_placeholder(self) -> str:
        return "受付番号・氏名・メール・医療機関コード・医療機関名"

    # Searching, counting and deep pages, shaped for a million inquiries (docs/performance.md).

    def search_clause(self, text: str) -> Any | None:
        return inquiry_search_clause(text)

    def whole_count_query(self) -> Any:
        # The per-status counters (backoffice.inquiries.counts) hold the same numbers as the dashboard.
        total = sa.func.coalesce(sa.func.sum(InquiryStatusCount.count), 0)
        return db.session.query(sa.cast(total, sa.BigInteger))

    def counted_total(self, flt: Any, value: Any) -> int | None:
        if not isinstance(flt, StatusFilter):
            return None
        return counts.status_counts(db.session).get(flt.clean(value), 0)

    def get_query(self) -> Any:
        """Category, its parent and assignee joined (one row each: no extra round trips); the
        ID-issuance details, which most inquiries lack, in a batch. Of the assignee only what lists
        and the CSV show: its password hash and TOTP secrets stay in the database."""
        return (
            super()
            .get_query()
            .options(
                sa.orm.joinedload(Inquiry.category).joinedload(InquiryCategory.parent),
                sa.orm.joinedload(Inquiry.assignee).load_only(Operator.id, Operator.name),
                sa.orm.selectinload(Inquiry.account_request),
            )
        )

    # Bulk actions: each goes through the same service rules as the ticket page.

    @action("assign_me", "自分を担当者にする")
    def assign_me(self, ids: list[str]) -> Any:
        actor = self.actor()
        changes = triage.InquiryChanges(assignee_id=actor.id)
        self._report(bulk.bulk_update(ids_of(ids), changes, actor))

    @action("mark_spam", "スパムにする", "選択したお問い合わせをスパムにします。よろしいですか？")
    def mark_spam(self, ids: list[str]) -> Any:
        changes = triage.InquiryChanges(status=InquiryStatus.SPAM)
        self._report(bulk.bulk_update(ids_of(ids), changes, self.actor()))

    @action("assign_to", "担当者を割り当てる…")
    def assign_to(self, ids: list[str]) -> Any:
        return redirect(url_for(".bulk", kind="assign", ids=",".join(ids)))

    @action("change_status", "ステータスを変更する…")
    def change_status(self, ids: list[str]) -> Any:
        return redirect(url_for(".bulk", kind="status", ids=",".join(ids)))

    @action("reply_all", "まとめて回答する…")
    def reply_all(self, ids: list[str]) -> Any:
        return redirect(url_for(".bulk_reply", ids=",".join(ids)))

    @expose("/bulk/reply", methods=("GET", "POST"))
    def bulk_reply(self) -> Any:
        """The same reply to the chosen tickets, each mailed with its own salutation and link."""
        if not self.can_write():
            abort(403)
        form = BulkReplyForm()
        if request.method == "GET":
            ids = ids_in(request.args.get("ids"))[:BULK_MAX]
            rows = db.session.execute(
                sa.select(Inquiry.id, Inquiry.version).where(Inquiry.id.in_(ids))
            ).all()
            form.tickets.data = ",".join(f"{i}:{v}" for i, v in rows)
        seen = form.seen()
        status = 200
        preview = None
        if form.validate_on_submit() and seen:
            try:
                if "preview" in request.form:
                    preview = bulk.preview_reply(
                        seen, form.body.data or "", next_status=form.chosen_status()
                    )
                else:
                    result = bulk.bulk_reply(
                        seen, form.body.data or "", self.actor(), next_status=form.chosen_status()
                    )
                    self._report(
                        result,
                        "に回答しました（依頼者それぞれにメールでお知らせします）。",
                        refused="回答できませんでした",
                    )
                    return redirect(url_for(".index_view"))
            except triage.TriageError as error:
                populate_errors(form, error, fallback="body")
                status = 422
        elif form.errors:
            status = 422
        tickets = db.session.scalars(
            sa.select(Inquiry).where(Inquiry.id.in_(seen)).order_by(Inquiry.id)
        ).all()
        return self.render(
            "admin/tickets/bulk_reply.html",
            form=form,
            tickets=tickets,
            preview=preview,
            canned=triage.canned_replies(),
        ), status

    def _report(
        self,
        result: bulk.BulkResult,
        done: str = "を更新しました。",
        refused: str = "更新できませんでした",
    ) -> None:
        if result.changed:
            flash(f"{result.changed}件のお問い合わせ{done}", "success")
        for line in result.refused:
            flash(f"{refused}：{line}", "error")

    @expose("/bulk/", methods=("GET", "POST"))
    def bulk(self) -> Any:
        """The second step of 「担当者を割り当てる…」 and 「ステータスを変更する…」: choose the value."""
        if not self.can_write():
            abort(403)
        kind = request.values.get("kind")
        if kind not in ("assign", "status"):
            abort(404)
        form = BulkForm(kind, triage.assignable_operators() if kind == "assign" else [])
        if request.method == "GET":
            form.ids.data = request.args.get("ids", "")
        ids = form.inquiry_ids()
        if form.validate_on_submit() and ids:
            self._report(bulk.bulk_update(ids, form.to_changes(), self.actor()))
            return redirect(url_for(".index_view"))
        numbers = db.session.scalars(
            sa.select(Inquiry.reference_number).where(Inquiry.id.in_(ids)).order_by(Inquiry.id)
        ).all()
        return self.render("admin/tickets/bulk.html", form=form, kind=kind, numbers=numbers)

    @expose("/export.csv")
    def export(self) -> Response:
        """The current filtered, searched and sorted list as CSV, streamed. Only those who work the
        tickets may take every requester's personal data away: 閲覧者 read on screen only."""
        if not self.can_write():
            abort(403)
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
        record_export(self.actor(), view_args.search, view_args.filters or [])
        filename = f"tickets-{date.today().isoformat()}.csv"
        return Response(
            stream_with_context(stream_csv(query)),
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )
