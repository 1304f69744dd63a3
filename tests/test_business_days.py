"""Business days: weekends, Japanese public holidays and 年末年始 do not count."""

from datetime import date

import pytest

from backoffice.business_days import add_business_days, due_date, is_business_day


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 11, 20), True),  # Friday
        (date(2026, 11, 21), False),  # Saturday
        (date(2026, 11, 23), False),  # 勤労感謝の日 (Monday)
        (date(2026, 5, 6), False),  # 振替休日 after 憲法記念日 on a Sunday
        (date(2026, 12, 29), False),  # 年末年始
        (date(2027, 1, 4), True),
    ],
)
def test_business_day(day: date, expected: bool) -> None:
    assert is_business_day(day) is expected


def test_due_date_skips_a_weekend_and_a_holiday() -> None:
    # Arrives Friday 2026-11-20; 3 business days: Tue 24, Wed 25, Thu 26 (Mon 23 is 勤労感謝の日).
    assert due_date(date(2026, 11, 20), 3) == date(2026, 11, 26)


def test_arrival_on_a_holiday_counts_from_the_next_business_day() -> None:
    # Arrives Saturday 2026-11-21: counting starts Tuesday 24, so 1 day later is Wednesday 25.
    assert due_date(date(2026, 11, 21), 1) == date(2026, 11, 25)


def test_due_date_across_the_new_year() -> None:
    # Arrives Monday 2026-12-28; the office is closed 12/29–1/3 (and 1/1 is 元日).
    assert due_date(date(2026, 12, 28), 1) == date(2027, 1, 4)
    assert add_business_days(date(2026, 12, 28), 2) == date(2027, 1, 5)
