"""Growing waits after repeated failures, shared by operators and portal users.

The waits stay short (at most LOCK_MAX_MINUTES): anyone who knows an address can keep its account
locked, so a long lock would hand them the account's owner. Short waits still cap the guesses an account
meets from all IP addresses together at a few a minute at first and four an hour after (docs/security.md).
"""

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from backoffice.audit.models import Outcome
from backoffice.audit.operations import record
from backoffice.extensions import db

LOCK_MAX_MINUTES = 15


def lock_delay(failed_attempts: int, threshold: int) -> timedelta | None:
    """None below the threshold; from it on 1, 2, 4, 8, then 15 minutes."""
    if failed_attempts < threshold:
        return None
    return timedelta(minutes=min(2 ** min(failed_attempts - threshold, 4), LOCK_MAX_MINUTES))


def count_failure(
    account: Any,
    *,
    now: datetime,
    threshold: int,
    prefix: str,
    actor: dict[str, object],
    reason: str,
) -> None:
    """Count one failed sign-in of `account` (a model with failed_attempts and locked_until), record it as
    `{prefix}.login`, and lock with a growing wait from the threshold on (`{prefix}.locked`). Commits.

    The count is one UPDATE, so concurrent failures are all counted."""
    model = type(account)
    db.session.execute(
        sa.update(model)
        .where(model.id == account.id)
        .values(failed_attempts=model.failed_attempts + 1)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(account)
    record(f"{prefix}.login", outcome=Outcome.FAILURE, **actor, detail={"reason": reason})
    if delay := lock_delay(account.failed_attempts, threshold):
        account.locked_until = now + delay
        record(
            f"{prefix}.locked",
            outcome=Outcome.FAILURE,
            **actor,
            detail={"minutes": int(delay.total_seconds() // 60)},
        )
    db.session.commit()
