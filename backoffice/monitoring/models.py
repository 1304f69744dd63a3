"""When each background command last finished a run: what the metrics report as the sweep's and the
fetcher's heartbeat (a worker that hangs or keeps failing stops moving it)."""

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from backoffice.extensions import db


class WorkerRun(db.Model):
    __tablename__ = "worker_runs"

    # The command, as the metrics label it: "sweep", "fetch", "deliver", "retention".
    worker: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    last_success_at: Mapped[datetime | None]
    last_failure_at: Mapped[datetime | None]
