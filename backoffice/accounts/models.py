"""Organizations (介護事業所, みなし介護事業所, 医療機関), their portal users, sessions and the 利用規約."""

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from backoffice.db import enum_column, utcnow
from backoffice.extensions import db
from backoffice.sessions import SessionColumns


class OrganizationKind(enum.Enum):
    CARE = "care"
    DEEMED = "deemed"
    MEDICAL = "medical"

    @property
    def label(self) -> str:
        return {"care": "介護事業所", "deemed": "みなし介護事業所", "medical": "医療機関"}[
            self.value
        ]

    @property
    def number_label(self) -> str:
        return "医療機関コード" if self is OrganizationKind.MEDICAL else "介護保険事業所番号"


class Organization(db.Model):
    """One per 介護保険事業所番号 / 医療機関コード (`office_number`)."""

    __tablename__ = "organizations"
    # The back office's list, newest first (migration 0033).
    __table_args__ = (sa.Index("ix_organizations_created_at", "created_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[OrganizationKind] = mapped_column(
        enum_column(OrganizationKind, "organization_kind")
    )
    name: Mapped[str] = mapped_column(sa.String(200))
    name_kana: Mapped[str | None] = mapped_column(sa.String(200))
    office_number: Mapped[str] = mapped_column(sa.String(10), unique=True)
    eclaims_id: Mapped[str | None] = mapped_column(sa.String(14), unique=True)
    postal_code: Mapped[str | None] = mapped_column(sa.String(8))
    address: Mapped[str | None] = mapped_column(sa.String(300))
    is_active: Mapped[bool] = mapped_column(default=True)
    # Bumped by every change to the set of users: taking it first is the row lock that keeps the user
    # limit race-free on every engine (see accounts.operations.add_user).
    users_version: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    users: Mapped[list["PortalUser"]] = relationship(
        back_populates="organization", order_by="PortalUser.id"
    )

    def __str__(self) -> str:
        return self.name


class TermsVersion(db.Model):
    """A version of the 利用規約. Publishing a new one makes every user consent again."""

    __tablename__ = "terms_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[str] = mapped_column(sa.String(20), unique=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text)
    published_at: Mapped[datetime | None] = mapped_column(index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __str__(self) -> str:
        return f"{self.title}（{self.version}）"


class PortalUser(db.Model):
    """A person who logs in to the portal; the login ID is the email address (stored lower-cased)."""

    __tablename__ = "portal_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(sa.ForeignKey("organizations.id"), index=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    name_kana: Mapped[str] = mapped_column(sa.String(100))
    phone: Mapped[str] = mapped_column(sa.String(11))
    department: Mapped[str | None] = mapped_column(sa.String(100))
    is_registrant: Mapped[bool] = mapped_column(default=False)
    password_hash: Mapped[str] = mapped_column(sa.String(200))
    # An initial password can only be used to set a new one, and only until it expires.
    must_change_password: Mapped[bool] = mapped_column(default=True)
    initial_password_expires_at: Mapped[datetime | None]
    password_changed_at: Mapped[datetime | None]
    terms_version_id: Mapped[int | None] = mapped_column(sa.ForeignKey("terms_versions.id"))
    terms_accepted_at: Mapped[datetime | None]
    failed_attempts: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    # An operator's lock holds until an operator lifts it; the user's own password reset ends only a
    # lock from failed attempts.
    locked_by_operator: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    first_login_at: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]

    organization: Mapped[Organization] = relationship(back_populates="users")
    terms_version: Mapped[TermsVersion | None] = relationship()
    sessions: Mapped[list["PortalSession"]] = relationship(back_populates="owner")

    @property
    def usable(self) -> bool:
        return self.is_active and self.organization.is_active

    def __str__(self) -> str:
        return self.name


class PortalSession(SessionColumns, db.Model):
    """A browser signed in as a portal user (after the one-time password)."""

    __tablename__ = "portal_sessions"

    portal_user_id: Mapped[int] = mapped_column(sa.ForeignKey("portal_users.id"), index=True)
    # The password entered again (accounts/reauth.py); the login itself counts from created_at.
    reauthenticated_at: Mapped[datetime | None]

    owner: Mapped[PortalUser] = relationship(back_populates="sessions")
