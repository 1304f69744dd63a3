"""gunicorn settings for production and for the benchmark: `gunicorn -c gunicorn.conf.py wsgi:app`."""

import gc
import multiprocessing
import os
from pathlib import Path
from typing import Any

# One synchronous worker per core: requests are short and the database does the waiting.
workers = multiprocessing.cpu_count()
worker_class = "sync"
# The CSV export of every ticket streams for minutes; a sync worker that is busy that long must not be
# taken for a hung one. Slow clients belong behind a buffering reverse proxy (nginx) in front.
timeout = 600
graceful_timeout = 30
accesslog = None


def on_starting(server: Any) -> None:
    """Stop before forking when the workers would not share their rate limits (backoffice/config.py);
    start the metrics afresh."""
    from backoffice.config import check_rate_limit_storage

    check_rate_limit_storage(server.cfg.workers)
    # The request metrics of the workers of this server's previous run are not this run's.
    if folder := os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        for stale in Path(folder).glob("*.db"):
            stale.unlink()


def post_worker_init(worker: object) -> None:
    """Move everything made while loading the app (modules, mappers, templates, caches) out of the
    garbage collector's reach: a full collection over it took ~100 ms in the middle of a request and
    set the p95 of the back office's list pages (docs/performance.md)."""
    gc.freeze()


def child_exit(server: Any, worker: Any) -> None:
    """A worker that ended leaves its metric files to be summed; its live gauges are dropped
    (backoffice/monitoring/metrics.py)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
