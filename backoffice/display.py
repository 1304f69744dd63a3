"""How dates and values are shown to people: Japan time, 「2026年4月1日（水）」, 令和 where useful."""

import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

import phonenumbers

JST = ZoneInfo("Asia/Tokyo")
WEEKDAYS = "月火水木金土日"
REIWA_START = date(2019, 5, 1)


def to_jst(value: datetime) -> datetime:
    return value.astimezone(JST)


def wareki_year(day: date) -> str:
    """「令和8年」; 2019-05-01 onward is 令和 (2019 is 令和元年), earlier dates fall back to 西暦."""
    if day < REIWA_START:
        return f"{day.year}年"
    n = day.year - 2018
    return "令和元年" if n == 1 else f"令和{n}年"


def format_date(value: datetime | date | None) -> str:
    """「2026年4月1日（水）」"""
    if value is None:
        return ""
    day = to_jst(value).date() if isinstance(value, datetime) else value
    return f"{day.year}年{day.month}月{day.day}日（{WEEKDAYS[day.weekday()]}）"


def format_datetime(value: datetime | None) -> str:
    """「2026年4月1日（水）14時35分」 in Japan time."""
    if value is None:
        return ""
    local = to_jst(value)
    return f"{format_date(local.date())}{local.hour}時{local.minute:02d}分"


def format_time(value: datetime | None) -> str:
    """「14時35分」 in Japan time (for 「14時35分まで有効です」)."""
    if value is None:
        return ""
    local = to_jst(value)
    return f"{local.hour}時{local.minute:02d}分"


def format_wareki_date(value: datetime | date | None) -> str:
    """「令和8年1月20日」 as the official step tables write dates (docs/domain.md)."""
    if value is None:
        return ""
    day = to_jst(value).date() if isinstance(value, datetime) else value
    return f"{wareki_year(day)}{day.month}月{day.day}日"


def format_phone(value: str | None) -> str:
    """「03-1234-5678」, 「090-1234-5678」, 「0120-123-456」: split where the number's area code ends
    (phonenumbers' data, not a table of our own). A number it does not know is shown as stored."""
    if not value:
        return ""
    try:
        number = phonenumbers.parse(value, "JP")
    except phonenumbers.NumberParseException:
        return value
    if not phonenumbers.is_valid_number(number):
        return value
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)


def format_postal_code(value: str | None) -> str:
    """「123-4567」 whether stored with the hyphen or not."""
    if value and (m := re.fullmatch(r"(\d{3})-?(\d{4})", value)):
        return f"{m.group(1)}-{m.group(2)}"
    return value or ""


FILTERS = {
    "phone": format_phone,
    "postal_code": format_postal_code,
    "date_ja": format_date,
    "datetime_ja": format_datetime,
    "time_ja": format_time,
    "wareki": format_wareki_date,
}
