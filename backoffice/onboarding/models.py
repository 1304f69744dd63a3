"""The onboarding funnel's record: one row per office (事業所番号 or 医療機関コード) with the first time it
reached each step, and the step it is at now (`stage`), kept in the same transaction as the change
that moves it (backoffice.onboarding.progress)."""

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from backoffice.accounts.models import OrganizationKind
from backoffice.db import enum_column
from backoffice.extensions import db


@dataclass(frozen=True)
class Step:
    key: str  # the `stage` value of a row at this step, and the `<key>_at` column it reaches it by
    label: str
    stuck: str  # what a row at this step waits for, said on the funnel page
    before_registration: bool = False  # a directory entry or a request, not an organization yet


# The 介護事業所・みなし介護事業所 flow (docs/flows.md), in order. ※3 is a side step after `started`: the
# office proved its e-claims ID but has no セキュリティ用メールアドレス, so it cannot go on until it sets one.
CARE_STEPS = (
    Step("listed", "電子請求受付システムに登録あり", "初回利用登録を始めていない", True),
    Step("started", "初回利用登録を開始", "ワンタイムパスワードの認証待ち", True),
    Step("otp_passed", "ワンタイムパスワード認証", "ユーザ登録の入力待ち", True),
    Step("registered", "ユーザ登録", "初期パスワードのメールが未送信"),
    Step("password_mailed", "初期パスワードをメールで送付", "初回ログイン待ち"),
    Step("first_login", "初回ログイン", "パスワード変更待ち"),
    Step("password_changed", "パスワード変更", "利用規約への同意待ち"),
    Step("consented", "利用規約に同意", "ユーザの追加なし"),
    Step("users_added", "ユーザを追加", "完了"),
)
NO_SECURITY_EMAIL = Step(
    "no_security_email",
    "※3 セキュリティ用メールアドレス未登録で停止",
    "電子請求受付システムでのセキュリティ用メールアドレスの登録待ち",
    True,
)
MEDICAL_STEPS = (
    Step("requested", "ID発行申請を受付", "発行待ち", True),
    Step("issued", "ID発行", "初回ログイン待ち"),
    Step("first_login", "初回ログイン", "利用規約への同意待ち"),
    Step("consented", "利用規約に同意", "ユーザの追加なし"),
    Step("users_added", "ユーザを追加", "完了"),
)
REJECTED = Step("rejected", "申請を却下", "再申請なし", True)
STEPS_BY_KEY = {s.key: s for s in (*CARE_STEPS, NO_SECURITY_EMAIL, *MEDICAL_STEPS, REJECTED)}


class OnboardingProgress(db.Model):
    __tablename__ = "onboarding_progress"

    id: Mapped[int] = mapped_column(primary_key=True)
    office_number: Mapped[str] = mapped_column(sa.String(10), unique=True)
    kind: Mapped[OrganizationKind] = mapped_column(enum_column(OrganizationKind, "onboarding_kind"))
    prefecture: Mapped[str] = mapped_column(sa.String(2))
    name: Mapped[str | None] = mapped_column(sa.String(200))
    organization_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organizations.id"), index=True
    )
    stage: Mapped[str] = mapped_column(sa.String(20))
    # When the office came into the funnel (its first step): what a period of the funnel selects.
    entered_at: Mapped[datetime]
    listed_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    no_security_email_at: Mapped[datetime | None]
    # The latest start found no security email: the office is at ※3 until a start finds one.
    security_email_missing: Mapped[bool] = mapped_column(default=False)
    otp_passed_at: Mapped[datetime | None]
    registered_at: Mapped[datetime | None]
    password_mailed_at: Mapped[datetime | None]
    requested_at: Mapped[datetime | None]
    issued_at: Mapped[datetime | None]
    rejected_at: Mapped[datetime | None]
    first_login_at: Mapped[datetime | None]
    password_changed_at: Mapped[datetime | None]
    consented_at: Mapped[datetime | None]
    users_added_at: Mapped[datetime | None]
    # Tenths of a day from the step before in the row's flow to this one (None until both are
    # reached, or reached in the other order): kept with the stage, so the funnel's medians read
    # numbers instead of working out a million date differences.
    started_wait: Mapped[int | None]
    otp_passed_wait: Mapped[int | None]
    registered_wait: Mapped[int | None]
    password_mailed_wait: Mapped[int | None]
    issued_wait: Mapped[int | None]
    first_login_wait: Mapped[int | None]
    password_changed_wait: Mapped[int | None]
    consented_wait: Mapped[int | None]
    users_added_wait: Mapped[int | None]

    __table_args__ = (
        sa.Index("ix_onboarding_progress_kind_stage", "kind", "prefecture", "stage"),
        sa.Index("ix_onboarding_progress_entered_at", "entered_at"),
    )


class OnboardingCount(db.Model):
    """The funnel's rows counted per kind and prefecture (backoffice.onboarding.counts): how many are
    at each step (`at:<step>`), ever stopped at ※3 (`ever:no_security_email`), and waited so many
    tenths of a day for each step (`wait:<step>`, `value` the tenths). What the funnel reads when no
    period is chosen, instead of a quarter of a million rows."""

    __tablename__ = "onboarding_counts"

    kind: Mapped[OrganizationKind] = mapped_column(
        enum_column(OrganizationKind, "onboarding_count_kind"), primary_key=True
    )
    prefecture: Mapped[str] = mapped_column(sa.String(2), primary_key=True)
    measure: Mapped[str] = mapped_column(sa.String(30), primary_key=True)
    value: Mapped[int] = mapped_column(primary_key=True)
    count: Mapped[int] = mapped_column(sa.BigInteger, default=0)
