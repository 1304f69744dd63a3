"""Dates as people read them: Japan time, weekday, 令和."""

from datetime import UTC, date, datetime

import pytest

from backoffice.display import (
    format_date,
    format_datetime,
    format_phone,
    format_postal_code,
    format_time,
    format_wareki_date,
)


def test_datetime_is_shown_in_japan_time_with_weekday() -> None:
    # 2026-03-31 15:35 UTC is 2026-04-01 00:35 in Japan (a Wednesday).
    assert format_datetime(datetime(2026, 3, 31, 15, 35, tzinfo=UTC)) == "2026年4月1日（水）0時35分"
    assert format_date(date(2026, 4, 1)) == "2026年4月1日（水）"
    assert format_time(datetime(2026, 3, 31, 15, 5, tzinfo=UTC)) == "0時05分"


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 1, 20), "令和8年1月20日"),
        (date(2019, 5, 1), "令和元年5月1日"),
        (date(2020, 1, 1), "令和2年1月1日"),
        (date(2019, 4, 30), "2019年4月30日"),
    ],
)
def test_wareki_dates(day: date, expected: str) -> None:
    assert format_wareki_date(day) == expected


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        ("0312345678", "03-1234-5678"),  # 東京: a two-digit area code
        ("0471234567", "04-7123-4567"),  # 柏 (04-7): split where the area code really ends
        ("0987654321", "0987-65-4321"),  # 日南: a four-digit area code
        ("09012345678", "090-1234-5678"),
        ("0120123456", "0120-123-456"),
        ("0501234567", "0501234567"),  # not a number the plan knows: shown as stored
        ("", ""),
    ],
)
def test_telephone_numbers_are_split_by_their_area_code(stored: str, shown: str) -> None:
    assert format_phone(stored) == shown


@pytest.mark.parametrize(
    ("stored", "shown"), [("1000001", "100-0001"), ("100-0001", "100-0001"), ("", "")]
)
def test_postal_codes_are_shown_with_the_hyphen(stored: str, shown: str) -> None:
    assert format_postal_code(stored) == shown
