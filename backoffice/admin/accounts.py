"""アカウント: 事業所・医療機関 and ポータルユーザ, with the operators' actions on them (re-issue an initial
password, lock, unlock, disable, enable), each through a service of backoffice.accounts."""

from typing import Any

import sqlalchemy as sa
from flask import flash
from flask_admin.actions import action
from flask_admin.contrib.sqla.filters import BaseSQLAFilter

from backoffice.accounts import operator_actions
from backoffice.accounts import search as account_search
from backoffice.accounts.errors import AccountError
from backoffice.accounts.models import Organization, PortalUser
from backoffice.admin.access import READ, WORK
from backoffice.admin.base import SecuredModelView, ids_of
from backoffice.admin.funnel_filters import ExpiredFilter, RegistrantFilter, progress_filters
from backoffice.admin.large_list import LargeListMixin
from backoffice.db import utcnow
from backoffice.display import format_datetime
from backoffice.extensions import db


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


class OrganizationView(LargeListMixin, SecuredModelView):
    """事業所・医療機関: how far each got (issued, first login, consent, users n/5) at a glance. A list of
    200,000: counted up to 1,000, far pages by id (admin/large_list.py), newest first by the index on
    created_at (migration 0033)."""

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
        self.column_filters = [
            FirstLoginFilter(),
            "kind",
            "is_active",
            *progress_filters(Organization.id),
        ]
        super().__init__(*args, **kwargs)

    def get_query(self) -> Any:
        return super().get_query().options(sa.orm.selectinload(Organization.users))

    def _organizations(self, ids: list[str]) -> list[Organization]:
        return list(
            db.session.scalars(sa.select(Organization).where(Organization.id.in_(ids_of(ids))))
        )

    @action(
        "disable",
        "無効にする（全ユーザをログアウト）",
        "選択した事業所・医療機関を無効にします。よろしいですか？",
    )
    def disable(self, ids: list[str]) -> None:
        for organization in self._organizations(ids):
            operator_actions.operator_set_organization_active(
                organization, False, self.actor().audit()
            )
        flash("無効にしました。ユーザはログアウトされました。", "success")

    @action("enable", "有効にする")
    def enable(self, ids: list[str]) -> None:
        for organization in self._organizations(ids):
            operator_actions.operator_set_organization_active(
                organization, True, self.actor().audit()
            )
        flash("有効にしました。", "success")


class PortalUserView(LargeListMixin, SecuredModelView):
    """ポータルユーザ: re-issue initial passwords, lock, unlock, disable. A list of 600,000, newest first
    by id, counted and paged as the organizations'."""

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
    column_default_sort = ("id", True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.column_filters = [
            "is_registrant",
            "is_active",
            "must_change_password",
            *progress_filters(PortalUser.organization_id),
            RegistrantFilter(),
            ExpiredFilter(),
        ]
        super().__init__(*args, **kwargs)

    def search_clause(self, text: str) -> Any | None:
        return account_search.portal_user_clause(text)

    def search_placeholder(self) -> str:
        return "氏名・フリガナ・ID（メールアドレス）"

    def _users(self, ids: list[str]) -> list[PortalUser]:
        return list(db.session.scalars(sa.select(PortalUser).where(PortalUser.id.in_(ids_of(ids)))))

    @action("reissue", "初期パスワードを再発行する")
    def reissue(self, ids: list[str]) -> None:
        sent = 0
        for user in self._users(ids):
            try:
                operator_actions.operator_reissue_initial_password(user, self.actor().audit())
            except AccountError as refused:
                flash(str(refused), "error")
            else:
                sent += 1
        if sent:
            flash(f"{sent}名に新しい初期パスワードをお送りしました。", "success")

    @action("lock", "ロックする（ログアウトさせる）")
    def lock(self, ids: list[str]) -> None:
        for user in self._users(ids):
            operator_actions.operator_set_user_state(user, self.actor().audit(), locked=True)
        flash("ロックしました。", "success")

    @action("unlock", "ロックを解除する")
    def unlock(self, ids: list[str]) -> None:
        for user in self._users(ids):
            operator_actions.operator_set_user_state(user, self.actor().audit(), locked=False)
        flash("ロックを解除しました。", "success")

    @action(
        "disable",
        "無効にする（ログアウトさせる）",
        "選択したユーザを無効にします。よろしいですか？",
    )
    def disable(self, ids: list[str]) -> None:
        for user in self._users(ids):
            operator_actions.operator_set_user_state(user, self.actor().audit(), active=False)
        flash("無効にしました。", "success")

    @action("enable", "有効にする")
    def enable(self, ids: list[str]) -> None:
        enabled = 0
        for user in self._users(ids):
            try:
                operator_actions.operator_set_user_state(user, self.actor().audit(), active=True)
            except AccountError as refused:
                flash(f"{user.email}：{refused}", "error")
            else:
                enabled += 1
        if enabled:
            flash(f"{enabled}名を有効にしました。", "success")
