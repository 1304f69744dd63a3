"""設定 (admins only): お問い合わせ区分, 定型文, 運営担当者, 利用規約 and the 監査ログ."""

from typing import Any

import sqlalchemy as sa
from flask import flash, redirect, url_for
from flask_admin import expose
from flask_admin.actions import action
from wtforms.validators import InputRequired, NumberRange, ValidationError

from backoffice.accounts import operator_actions
from backoffice.accounts.models import TermsVersion
from backoffice.admin.access import MANAGE
from backoffice.admin.base import SecuredModelView, ids_of
from backoffice.admin.filters import DayFromFilter, DayUntilFilter
from backoffice.audit import wording
from backoffice.audit.models import AuditEvent
from backoffice.display import format_datetime
from backoffice.domain_errors import DomainError
from backoffice.extensions import db
from backoffice.inquiries import operations as inquiry_operations
from backoffice.inquiries.models import InquiryCategory
from backoffice.operators import enrolment
from backoffice.operators import operations as operator_ops
from backoffice.operators.models import Operator, Role
from forms.errors import populate_errors
from forms.operators import InviteForm


class OperatorView(SecuredModelView):
    """運営担当者: roles and who is active; invite a new operator, or mail an enrolment link after a
    password or authenticator reset (the operator sets the secret; the admin never sees one). The very
    first admin is made with `flask operators create`."""

    roles = MANAGE
    allow_create = False
    list_template = "admin/operators/list.html"
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
        operator_ops.unlock_operators(ids_of(ids), self.actor())
        flash("ロックを解除しました。", "success")

    @action(
        "reset_authenticator",
        "認証アプリをリセットする",
        "認証アプリの登録をリセットし、本人に登録し直すためのリンクをメールで送ります。登録し直すまでログインできません。よろしいですか？",
    )
    def reset_authenticator(self, ids: list[str]) -> None:
        enrolment.send_authenticator_links(ids_of(ids), self.actor())
        flash(
            "認証アプリの登録をリセットし、登録し直すためのリンクをメールで送りました。", "success"
        )

    @action(
        "reset_password",
        "パスワードをリセットする",
        "今のパスワードを使えなくし、本人に新しいパスワードを設定するためのリンクをメールで送ります。よろしいですか？",
    )
    def reset_password(self, ids: list[str]) -> None:
        enrolment.send_password_links(ids_of(ids), self.actor())
        flash(
            "パスワードをリセットし、新しいパスワードを設定するためのリンクをメールで送りました。",
            "success",
        )

    @expose("/invite/", methods=("GET", "POST"))
    def invite(self) -> Any:
        """運営担当者を招待する: the invited operator gets a link to set a password and an authenticator."""
        form = InviteForm()
        if form.validate_on_submit():
            try:
                operator = enrolment.invite(
                    form.email.data, form.name.data, Role(form.role.data), self.actor()
                )
            except operator_ops.OperatorExists:
                form.email.errors.append(
                    "＊このメールアドレスの運営担当者はすでに登録されています。"
                )
            except DomainError as failure:
                populate_errors(form, failure, fallback="email")
            else:
                flash(f"{operator.email} に招待のメールを送りました。", "success")
                return redirect(url_for(".index_view"))
        status = 422 if form.errors else 200
        return self.render("admin/operators/invite.html", form=form), status


_TARGET_DAYS = [
    InputRequired(message="＊営業日の数を入力してください。"),
    NumberRange(1, 60, message="＊1から60までの営業日の数を入力してください。"),
]


_CATEGORY_FIELDS = [
    "parent",
    "name",
    "position",
    "is_active",
    "kind",
    "first_response_business_days",
    "target_business_days",
]


class CategoryView(SecuredModelView):
    """お問い合わせ区分: the 大/中カテゴリー tree. Categories are closed (有効 off), never deleted."""

    roles = MANAGE
    column_list = _CATEGORY_FIELDS
    column_labels = {
        "parent": "大カテゴリー",
        "name": "名称",
        "position": "表示順",
        "is_active": "有効",
        "kind": "種類",
        "first_response_business_days": "初回回答の目標（営業日）",
        "target_business_days": "解決の目標（営業日・期限）",
    }
    column_formatters = {
        "parent": lambda v, c, m, n: m.parent.name if m.parent else "（大カテゴリー）",
        "kind": lambda v, c, m, n: "ID発行申請" if m.is_account_request else "一般",
    }
    column_default_sort = [("parent_id", False), ("position", False)]
    form_columns = _CATEGORY_FIELDS
    form_args = {
        "first_response_business_days": {"validators": _TARGET_DAYS},
        "target_business_days": {"validators": _TARGET_DAYS},
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
        operator_actions.publish_terms(ids_of(ids), self.actor().audit())
        flash("利用規約を公開しました。", "success")


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
    # Words for people on screen; the stored codes stay searchable and filterable.
    column_formatters = {
        "occurred_at": lambda v, c, m, n: format_datetime(m.occurred_at),
        "actor_label": lambda v, c, m, n: wording.actor_name(
            m.actor_type, m.actor_id, m.actor_label
        ),
        "action": lambda v, c, m, n: wording.action_label(m.action),
        "target_type": lambda v, c, m, n: wording.target_label(m.target_type),
        "outcome": lambda v, c, m, n: "成功" if m.outcome.value == "success" else "失敗",
        "detail": lambda v, c, m, n: wording.detail_text(m.action, m.detail),
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
