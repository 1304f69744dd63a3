"""The official step tables' checklist (docs/flows.md) for an organization, each step ticked from the data (never by hand)."""

from dataclasses import dataclass

from flask import current_app

from backoffice.accounts.models import Organization, OrganizationKind, PortalUser


@dataclass(frozen=True)
class Step:
    title: str
    done: bool
    note: str = ""
    # An office that needs no other users is ready without this step: it never holds the list open.
    optional: bool = False


def complete(steps: list[Step]) -> bool:
    """Every step the organization needs before using the portal is done (optional ones aside)."""
    return all(s.done for s in steps if not s.optional)


def _registrant(organization: Organization) -> PortalUser | None:
    return next((u for u in organization.users if u.is_registrant), None)


def checklist(organization: Organization) -> list[Step]:
    """The steps of the organization's flow (介護事業所・みなし介護事業所, or 医療機関) with what is done."""
    registrant = _registrant(organization)
    logged_in = registrant is not None and registrant.first_login_at is not None
    changed_and_agreed = (
        registrant is not None
        and registrant.password_changed_at is not None
        and registrant.terms_accepted_at is not None
    )
    added = sum(1 for u in organization.users if not u.is_registrant and u.is_active)
    add_users = Step(
        "ユーザ新規登録（マイページ作成）",
        added > 0,
        f"追加済み {added}名（必要な場合は、最大で{current_app.config['MAX_ADDED_USERS']}名追加できます）",
        optional=True,
    )
    if organization.kind is OrganizationKind.MEDICAL:
        return [
            Step("問い合わせフォームからID・パスワードの発行依頼", True, "アカウント発行済み"),
            Step("ログイン・ワンタイムパスワード認証", logged_in),
            Step("パスワード変更・利用規約同意", changed_and_agreed),
            add_users,
        ]
    registered = organization.eclaims_id is not None
    return [
        Step("電子請求受付システムのID・パスワード確認", registered),
        Step(
            "介護情報基盤ポータルログイン画面から初回利用登録（電子請求受付システムの認証）",
            registered,
        ),
        Step("ワンタイムパスワード認証・ユーザ登録", registrant is not None),
        Step("ログイン・パスワード変更・利用規約同意", changed_and_agreed),
        add_users,
    ]
