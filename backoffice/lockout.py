"""Growing waits after repeated failures, shared by operators and portal users."""

from datetime import timedelta


def lock_delay(failed_attempts: int, threshold: int) -> timedelta | None:
    """None below the threshold; from it on 1, 2, 4 … minutes, at most a day."""
    if failed_attempts < threshold:
        return None
    return timedelta(minutes=min(2 ** (failed_attempts - threshold), 24 * 60))
