"""定型文: text an operator inserts into a reply."""

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from backoffice.extensions import db


class CannedReply(db.Model):
    """定型文: text an operator can insert into a reply; kept by admins."""

    __tablename__ = "canned_replies"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(100), unique=True)
    body: Mapped[str] = mapped_column(sa.Text)
    position: Mapped[int] = mapped_column(default=0)
    is_active: Mapped[bool] = mapped_column(default=True)

    def __str__(self) -> str:
        return self.title
