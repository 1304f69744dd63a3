"""The heartbeat of the background commands (WorkerRun): each records the end of every run, in a
transaction of its own, after the run has committed or rolled back its work.

Recording it also ends whatever transaction the run's last reads left open, so a worker never sleeps
inside one: its locks would make a migration of a live database wait (docs/deploy.md#upgrades)."""

import logging
from datetime import datetime

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError

from backoffice.db import utcnow
from backoffice.extensions import db
from backoffice.monitoring.models import WorkerRun

log = logging.getLogger(__name__)

WORKERS = ("sweep", "fetch", "deliver", "retention")


def succeeded(worker: str, now: datetime | None = None) -> None:
    _record(worker, "last_success_at", now or utcnow())


def failed(worker: str, now: datetime | None = None) -> None:
    """Never raises for the database: a failed run is often the database's, and the worker must be
    left to report and retry that failure, not this one."""
    try:
        _record(worker, "last_failure_at", now or utcnow())
    except SQLAlchemyError:
        db.session.rollback()
        log.warning("the failure of %s could not be recorded", worker)


def _record(worker: str, column: str, now: datetime) -> None:
    if worker not in WORKERS:
        raise ValueError(f"unknown worker {worker!r}")
    db.session.rollback()  # what a failed run left open is not ours to commit
    dialect = db.session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = insert(WorkerRun).values(worker=worker, **{column: now})
    db.session.execute(
        statement.on_conflict_do_update(index_elements=["worker"], set_={column: now})
    )
    db.session.commit()
