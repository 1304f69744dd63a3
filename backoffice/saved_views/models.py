"""An operator's saved views of the ticket list (保存した表示): a name and what the list showed."""

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from backoffice.db import utcnow
from backoffice.extensions import db


class SavedView(db.Model):
    """The list's filters by their key (backoffice.admin.filters), not by position in the URL, so a
    view survives a release that adds a filter; the sort by its column's name for the same reason."""

    __tablename__ = "operator_saved_views"
    __table_args__ = (
        sa.UniqueConstraint("operator_id", "name", name="uq_operator_saved_views_name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    operator_id: Mapped[int] = mapped_column(sa.ForeignKey("operators.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(sa.String(40))
    # [[filter key, value], …] in the order the list applied them.
    filters: Mapped[list[list[str]]] = mapped_column(sa.JSON)
    search: Mapped[str | None] = mapped_column(sa.String(200))
    sort: Mapped[str | None] = mapped_column(sa.String(40))
    sort_desc: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
