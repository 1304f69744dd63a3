"""The reports' daily summary (backoffice.reports.summary): one count per Japan day and what the
figures split by."""

from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from backoffice.extensions import db


class ReportDay(db.Model):
    __tablename__ = "report_days"

    # received, resolved, first_response, resolution (a ticket's) or reply (an operator's); first
    # in the key, so a figure's period is one range of it.
    fact: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    category_id: Mapped[int] = mapped_column(primary_key=True)  # 0 for replies
    intake: Mapped[str] = mapped_column(sa.String(10), primary_key=True)  # "" but for received
    assignee_id: Mapped[int] = mapped_column(primary_key=True)  # 0: none (or not split by it)
    tenths: Mapped[int] = mapped_column(primary_key=True)  # -1 but for the two durations
    met: Mapped[int] = mapped_column(sa.SmallInteger, primary_key=True)  # 1: within target
    count: Mapped[int] = mapped_column(sa.BigInteger, default=0)
