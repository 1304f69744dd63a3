"""Business time: minutes within 受付時間 (9:00–17:00 here) on business days, and moments that many
business minutes on."""

from datetime import datetime, time

import pytest

from backoffice.business_days import (
    add_business_minutes,
    as_days,
    business_minutes,
    late_from,
    on_time,
    shown_due,
)
from backoffice.display import JST

HOURS = (time(9), time(17))


def jst(*args: int) -> datetime:
    return datetime(*args, tzinfo=JST)


@pytest.mark.parametrize(
    ("start", "end", "minutes"),
    [
        (jst(2026, 11, 20, 10), jst(2026, 11, 20, 12, 30), 150),  # within one day
        (jst(2026, 11, 20, 7), jst(2026, 11, 20, 20), 480),  # a whole day from outside hours
        # Friday 16:00 → Tuesday 10:00: Saturday, Sunday and 勤労感謝の日 (Monday 23rd) do not count.
        (jst(2026, 11, 20, 16), jst(2026, 11, 24, 10), 120),
        # Monday 12/28 15:00 → Monday 1/4 10:00 across 年末年始 (12/29–1/3).
        (jst(2026, 12, 28, 15), jst(2027, 1, 4, 10), 180),
        (jst(2026, 11, 21, 10), jst(2026, 11, 22, 10), 0),  # a weekend
        (jst(2026, 11, 20, 12), jst(2026, 11, 20, 11), 0),  # backwards
        (jst(2026, 11, 24, 9), jst(2026, 11, 27, 17), 4 * 480),  # Tuesday to Friday, whole days
    ],
)
def test_business_minutes(start: datetime, end: datetime, minutes: int) -> None:
    assert business_minutes(start, end, HOURS) == minutes


@pytest.mark.parametrize(
    ("start", "minutes", "end"),
    [
        # A whole business day from Friday 16:00 ends on Tuesday 16:00 (the holiday Monday skipped).
        (jst(2026, 11, 20, 16), 480, jst(2026, 11, 24, 16)),
        # From outside hours the count starts at the next opening.
        (jst(2026, 11, 20, 18), 60, jst(2026, 11, 24, 10)),
        (jst(2026, 11, 24, 7), 60, jst(2026, 11, 24, 10)),
        # Three business days from Monday 12/28 15:00 end on Wednesday 1/6 15:00.
        (jst(2026, 12, 28, 15), 3 * 480, jst(2027, 1, 6, 15)),
        # Exactly to closing time stays on that day.
        (jst(2026, 11, 24, 9), 480, jst(2026, 11, 24, 17)),
    ],
)
def test_add_business_minutes(start: datetime, minutes: int, end: datetime) -> None:
    assert add_business_minutes(start, minutes, HOURS) == end
    # And back: the minutes between are the minutes added (from within hours).
    if time(9) <= start.time() < time(17):
        assert business_minutes(start, end, HOURS) == minutes


@pytest.mark.parametrize(
    ("minutes", "shown"), [(0, "0.0"), (120, "0.3"), (24, "0.1"), (23, "0.0"), (900, "1.9")]
)
def test_business_days_are_shown_with_one_decimal_rounded_half_up(minutes: int, shown: str) -> None:
    assert as_days(minutes, 480) == shown


def test_a_target_ending_at_closing_is_missed_only_after_the_next_opening() -> None:
    # Tuesday 9:00 plus a whole business day ends at 17:00; an answer at 17:30 took no more business
    # time, so the target is missed from Wednesday 9:00 (a minute counted as business time).
    due = late_from(jst(2026, 11, 24, 9), 480, HOURS)
    assert due == jst(2026, 11, 25, 9)
    assert on_time(jst(2026, 11, 24, 17, 30), due)
    assert on_time(jst(2026, 11, 25, 9, 0, 59), due)
    assert not on_time(jst(2026, 11, 25, 9, 1), due)
    assert shown_due(due, HOURS) == jst(2026, 11, 24, 17)
    # Across a weekend and a holiday: Friday's closing is shown, Tuesday's opening is the moment.
    friday = late_from(jst(2026, 11, 20, 9), 480, HOURS)
    assert friday == jst(2026, 11, 24, 9)
    assert shown_due(friday, HOURS) == jst(2026, 11, 20, 17)


def test_seconds_of_an_arrival_count_from_its_minute() -> None:
    # 10:00:45 counts as 10:00, as the minutes of business time are counted: a reply at 10:00:30 the
    # next day took 480 minutes and is in time.
    due = late_from(jst(2026, 11, 24, 10, 0, 45), 480, HOURS)
    assert due == jst(2026, 11, 25, 10)
    assert (
        business_minutes(jst(2026, 11, 24, 10, 0, 45), jst(2026, 11, 25, 10, 0, 30), HOURS) == 480
    )
    assert on_time(jst(2026, 11, 25, 10, 0, 30), due)
