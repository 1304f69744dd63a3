"""What a report covers: a period of Japan dates, a grain and a category."""

from dataclasses import dataclass
from datetime import date, timedelta

GRAINS = {"day": "日", "week": "週", "month": "月"}


@dataclass(frozen=True)
class Scope:
    """What a report covers: Japan dates (both included), a grain, and optionally a category."""

    start: date
    end: date
    grain: str = "day"
    major_id: int | None = None
    minor_id: int | None = None


def bucket(day: date, grain: str) -> date:
    """The first day of the day's week (Monday) or month."""
    if grain == "week":
        return day - timedelta(days=day.weekday())
    if grain == "month":
        return day.replace(day=1)
    return day


def bucket_label(start: date, grain: str) -> str:
    if grain == "month":
        return f"{start.year}年{start.month}月"
    if grain == "week":
        return f"{start.month}月{start.day}日の週"
    return f"{start.month}月{start.day}日"


def buckets(scope: Scope) -> list[date]:
    seen: list[date] = []
    day = scope.start
    while day <= scope.end:
        b = bucket(day, scope.grain)
        if not seen or seen[-1] != b:
            seen.append(b)
        day += timedelta(days=1)
    return seen
