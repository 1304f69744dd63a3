"""ダッシュボード, the back office's index: counts that link to the filtered list, and the oldest
unanswered inquiries."""

from typing import Any

from flask_admin import AdminIndexView, expose

from backoffice.admin.base import SecuredMixin
from backoffice.admin.inquiry_list import InquiryView
from backoffice.inbound import filing
from backoffice.inquiries.summary import summary


class DashboardView(SecuredMixin, AdminIndexView):
    inquiries: InquiryView  # set by backoffice.admin.setup, for the links to the filtered list

    @expose("/")
    def index(self) -> Any:
        numbers = summary()
        request_category = numbers.account_request_category_id
        return self.render(
            "admin/dashboard.html",
            statuses=numbers.statuses,
            category_counts=numbers.open_by_category,
            requests=numbers.open_account_requests,
            requests_url=self.inquiries.filter_url(category=str(request_category))
            if request_category
            else None,
            overdue=numbers.overdue,
            replied=numbers.requester_replied,
            inbound_waiting=filing.waiting_count(),
            oldest=numbers.oldest_unanswered,
            tickets=self.inquiries,
        )
