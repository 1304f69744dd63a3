"""The reports' choice of period, grain and category: a GET form (it changes nothing, so no CSRF
token), read from the query string and shown again as typed when it is refused."""

from datetime import date, timedelta

from wtforms import Form, SelectField, StringField
from wtforms.fields.choices import SelectChoice

from backoffice.inquiries.models import InquiryCategory
from backoffice.reports.scope import GRAINS, Scope

# Longer periods are the work of the CSV, and a bar per day stops being readable past a quarter.
LONGEST_DAYS = 731
LONGEST_DAILY_DAYS = 92


def day_of_text(text: str | None) -> date | None:
    """A day of the years the desk can have worked (what else would only overflow the arithmetic)."""
    try:
        day = date.fromisoformat((text or "").strip())
    except ValueError:
        return None
    return day if 2000 <= day.year <= 2100 else None


class ReportForm(Form):
    start = StringField("期間（開始日）")
    end = StringField("期間（終了日）")
    grain = SelectField(
        "集計の単位", choices=[SelectChoice(k, f"{v}ごと") for k, v in GRAINS.items()]
    )
    major = SelectField("大カテゴリー")
    minor = SelectField("中カテゴリー")

    def __init__(self, formdata: object, categories: list[InquiryCategory], today: date) -> None:
        super().__init__(formdata)
        majors = [c for c in categories if c.parent_id is None]
        self.major.choices = [SelectChoice("", "すべて")] + [
            SelectChoice(str(c.id), c.name) for c in majors
        ]
        self.minor.choices = [SelectChoice("", "すべて")] + [
            SelectChoice(str(c.id), c.path) for c in categories if c.parent_id is not None
        ]
        self._majors = {str(c.id) for c in majors}
        self._parents = {str(c.id): str(c.parent_id) for c in categories if c.parent_id}
        if not self.start.data and not self.end.data:
            self.start.data = (today - timedelta(days=29)).isoformat()
            self.end.data = today.isoformat()
        self.grain.data = self.grain.data or "day"

    def scope(self) -> Scope | None:
        """The scope chosen, or None with the errors set beside their fields."""
        start, end = day_of_text(self.start.data), day_of_text(self.end.data)
        if start is None:
            self.start.errors = [
                "＊開始日を 2026-04-01 の形で、2000年から2100年までの日で入力してください。"
            ]
        if end is None:
            self.end.errors = [
                "＊終了日を 2026-04-30 の形で、2000年から2100年までの日で入力してください。"
            ]
        if self.grain.data not in GRAINS:
            self.grain.errors = ["＊集計の単位を選んでください。"]
        major = self.major.data or ""
        minor = self.minor.data or ""
        if major and major not in self._majors:
            self.major.errors = ["＊大カテゴリーを選び直してください。"]
        if minor and minor not in self._parents:
            self.minor.errors = ["＊中カテゴリーを選び直してください。"]
        elif minor and major and self._parents[minor] != major:
            self.minor.errors = ["＊選んだ大カテゴリーの中カテゴリーを選んでください。"]
        if start and end:
            if end < start:
                self.end.errors = ["＊終了日は開始日と同じか、それより後の日にしてください。"]
            elif (end - start).days + 1 > LONGEST_DAYS:
                self.end.errors = [f"＊期間は{LONGEST_DAYS}日までにしてください。"]
            elif self.grain.data == "day" and (end - start).days + 1 > LONGEST_DAILY_DAYS:
                self.grain.errors = [
                    f"＊日ごとに表示できるのは{LONGEST_DAILY_DAYS}日までです。週ごとか月ごとを選んでください。"
                ]
        if any(f.errors for f in self) or start is None or end is None:
            return None
        return Scope(
            start=start,
            end=end,
            grain=self.grain.data,
            major_id=int(major) if major else None,
            minor_id=int(minor) if minor else None,
        )
