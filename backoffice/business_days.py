"""Business days of the help desk: no weekends, no Japanese public holidays, no 年末年始 (12/29–1/3);
and business time, the minutes within 受付時間 on those days (what the service targets count)."""

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache

import jpholiday
from flask import current_app

from backoffice.display import JST, to_jst


@lru_cache(maxsize=16384)
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


# Business time: minutes within 受付時間 (opens–closes, Japan time) on business days. The service
# targets (backoffice.inquiries.targets) count in it and show it as business days of
# `day_minutes(hours)` minutes each.


def desk_hours() -> tuple[time, time]:
    config = current_app.config
    return time.fromisoformat(config["HELPDESK_OPENS"]), time.fromisoformat(
        config["HELPDESK_CLOSES"]
    )


def day_minutes(hours: tuple[time, time]) -> int:
    opens, closes = hours
    return (closes.hour * 60 + closes.minute) - (opens.hour * 60 + opens.minute)


def as_days(minutes: int, length: int) -> str:
    """Business minutes as business days with one decimal, rounded half up (「1.3」)."""
    tenths = (minutes * 20 + length) // (2 * length)
    return f"{tenths // 10}.{tenths % 10}"


def _minute_of_day(moment: datetime, hours: tuple[time, time]) -> int:
    """Minutes since opening on the moment's own Japan day, clamped to 0..day_minutes."""
    local = to_jst(moment)
    opens = hours[0].hour * 60 + hours[0].minute
    now = local.hour * 60 + local.minute  # whole minutes: 10:00:45 is 10:00
    return min(max(now - opens, 0), day_minutes(hours))


def business_minutes(start: datetime, end: datetime, hours: tuple[time, time]) -> int:
    """Whole business minutes from `start` to `end` (0 when end <= start)."""
    if end <= start:
        return 0
    first, last = to_jst(start).date(), to_jst(end).date()
    if first == last:
        if not is_business_day(first):
            return 0
        return _minute_of_day(end, hours) - _minute_of_day(start, hours)
    total = day_minutes(hours) - _minute_of_day(start, hours) if is_business_day(first) else 0
    total += _minute_of_day(end, hours) if is_business_day(last) else 0
    full = business_days_between(first, last) - (1 if is_business_day(last) else 0)
    return total + full * day_minutes(hours)


def add_business_minutes(start: datetime, minutes: int, hours: tuple[time, time]) -> datetime:
    """The moment (aware UTC) that is `minutes` business minutes after `start`; a target of a whole
    business day from 10:00 ends at 10:00 of the next business day. A start outside 受付時間 counts
    from the next opening."""
    length = day_minutes(hours)
    day = to_jst(start).date()
    offset = _minute_of_day(start, hours) if is_business_day(day) else 0
    if offset >= length or not is_business_day(day):
        day, offset = _next_business_day(day), 0
    remaining = offset + minutes
    while remaining > length:
        remaining -= length
        day = _next_business_day(day)
    opening = datetime.combine(day, hours[0], tzinfo=JST)
    return (opening + timedelta(minutes=remaining)).astimezone(UTC)


def late_from(start: datetime, minutes: int, hours: tuple[time, time]) -> datetime:
    """The last on-time minute of a target of `minutes` business minutes from `start` (the target
    is missed from the minute after it, on_time). Landing on closing time, that is the next opening:
    an answer at 17:30 or at 9:00 took no more business time than one at 17:00."""
    due = add_business_minutes(start, minutes, hours)
    if to_jst(due).time() == hours[1]:
        day = _next_business_day(to_jst(due).date())
        return datetime.combine(day, hours[0], tzinfo=JST).astimezone(UTC)
    return due


def on_time(moment: datetime, due: datetime) -> bool:
    """`moment` is within a due moment from late_from (compared by the minute, as business minutes
    are counted)."""
    return moment.replace(second=0, microsecond=0) <= due


def shown_due(due: datetime, hours: tuple[time, time]) -> datetime:
    """A due moment as people read it: an opening is the previous business day's closing."""
    local = to_jst(due)
    if local.time() != hours[0]:
        return due
    day = local.date() - timedelta(days=1)
    while not is_business_day(day):
        day -= timedelta(days=1)
    return datetime.combine(day, hours[1], tzinfo=JST).astimezone(UTC)


def _next_business_day(day: date) -> date:
    day += timedelta(days=1)
    while not is_business_day(day):
        day += timedelta(days=1)
    return day
