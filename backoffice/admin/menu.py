"""The back office's screens in menu order (お問い合わせ, 未振り分けメール, レポート, オンボーディング,
アカウント, 設定)."""

from flask_admin import BaseView

from backoffice.accounts.models import Organization, PortalUser, TermsVersion
from backoffice.admin.accounts import OrganizationView, PortalUserView
from backoffice.admin.funnel import FunnelView, OnboardingView
from backoffice.admin.inbound import InboundMailView
from backoffice.admin.inquiry_list import InquiryView
from backoffice.admin.notices import NoticeView
from backoffice.admin.reports import ReportView
from backoffice.admin.settings import (
    AuditView,
    CannedReplyView,
    CategoryView,
    OperatorView,
    TermsView,
)
from backoffice.audit.models import AuditEvent
from backoffice.extensions import db
from backoffice.inquiries.canned import CannedReply
from backoffice.inquiries.models import Inquiry, InquiryCategory
from backoffice.onboarding.models import OnboardingProgress
from backoffice.operators.models import Operator


def views() -> list[BaseView]:
    """The admin's views in menu order (built per app: Flask-Admin views belong to one Admin)."""
    return [
        InquiryView(Inquiry, db, name="お問い合わせ", endpoint="tickets", url="tickets"),
        InboundMailView(name="未振り分けメール", endpoint="inbound_mail", url="inbound-mail"),
        ReportView(name="レポート", endpoint="reports", url="reports"),
        FunnelView(name="オンボーディング", endpoint="funnel", url="funnel"),
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
        OnboardingView(
            OnboardingProgress,
            db,
            name="オンボーディングの対象",
            endpoint="onboarding",
            category="アカウント",
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
        NoticeView(name="お知らせ", endpoint="notices", url="notices", category="設定"),
        AuditView(AuditEvent, db, name="監査ログ", endpoint="audit", category="設定"),
    ]
