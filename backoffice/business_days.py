"""Business days of the help desk: no weekends, no Japanese public holidays, no 年末年始 (12/29–1/3)."""

from datetime import date, datetime, time, timedelta

import jpholiday
from flask import current_app

from backoffice.display import to_jst


def is_business_day(day: date) -> bool:
    if day.weekday() >= 5 or jpholiday.is_holiday(day):
        return False
    return not ((day.month == 12 and day.day >= 29) or (day.month == 1 and day.day <= 3))


def add_business_days(start: date, days: int) -> date:
    """The day `days` business days after `start`."""
    day = start
    remaining = days
    while remaining > 0:
        day += timedelta(days=1)
        if is_business_day(day):
            remaining -= 1
    return day


def due_date(arrival: date, target_days: int) -> date:
    """Due date for a ticket arriving on `arrival` (Japan date) with a target of `target_days`.

    A ticket arriving on a non-business day counts from the next business day: arriving on Saturday with
    a target of 1 day, it is due on Tuesday.
    """
    start = arrival
    while not is_business_day(start):
        start += timedelta(days=1)
    return add_business_days(start, target_days)


def business_days_between(start: date, end: date) -> int:
    """How many business days come after `start`, up to and including `end` (0 when end <= start)."""
    count, day = 0, start
    while day < end:
        day += timedelta(days=1)
        if is_business_day(day):
            count += 1
    return count


def is_open(moment: datetime, opens: time, closes: time) -> bool:
    """Within 受付時間: a business day, between `opens` and `closes` (`moment` in Japan time)."""
    return is_business_day(moment.date()) and opens <= moment.time() < closes


def within_hours(now: datetime) -> bool:
    """Within the help desk's 受付時間 (HELPDESK_OPENS–HELPDESK_CLOSES, Japan time, business days):
    when mail that can wait (reminders, operators' alerts) goes out."""
    config = current_app.config
    return is_open(
        to_jst(now),
        time.fromisoformat(config["HELPDESK_OPENS"]),
        time.fromisoformat(config["HELPDESK_CLOSES"]),
    )
