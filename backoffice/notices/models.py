"""お知らせ: a banner that 管理者 publish on the public and portal pages for a period, when many
meet the same problem at once (an outage of the e-claims system, OTP mails held by a provider)."""

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from backoffice.db import utcnow
from backoffice.extensions import db


class Notice(db.Model):
    __tablename__ = "notices"
    __table_args__ = (sa.Index("ix_notices_ends_at", "ends_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(60))
    body: Mapped[str] = mapped_column(sa.Text)
    important: Mapped[bool] = mapped_column(default=False)
    on_public: Mapped[bool] = mapped_column(default=True)  # お問い合わせ and the public pages
    on_portal: Mapped[bool] = mapped_column(default=True)  # login, 初回利用登録 and マイページ
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime | None]  # None: until withdrawn
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    updated_by: Mapped[str] = mapped_column(sa.String(200))

    def shown_at(self, now: datetime) -> bool:
        return self.starts_at <= now and (self.ends_at is None or now < self.ends_at)
