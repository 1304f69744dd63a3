"""The onboarding funnel's choice of kind, prefecture and period: a GET form (it changes nothing,
so no CSRF token), read from the query string and shown again as typed when it is refused. The
period is optional: without one, every office since the start of onboarding."""

from wtforms import Form, SelectField, StringField
from wtforms.fields.choices import SelectChoice

from backoffice.prefectures import PREFECTURES
from backoffice.reports.funnel import KINDS, FunnelScope
from forms.reports import day_of_text


class FunnelForm(Form):
    kind = SelectField("種別", choices=[SelectChoice(k, v) for k, v in KINDS.items()])
    prefecture = SelectField(
        "都道府県",
        choices=[SelectChoice("", "すべて")]
        + [SelectChoice(code, f"{code} {name}") for code, name in PREFECTURES.items()],
    )
    start = StringField("オンボーディング開始日（から）")
    end = StringField("オンボーディング開始日（まで）")

    def scope(self) -> FunnelScope | None:
        """The scope chosen, or None with the errors set beside their fields."""
        start = day_of_text(self.start.data) if (self.start.data or "").strip() else None
        end = day_of_text(self.end.data) if (self.end.data or "").strip() else None
        if (self.start.data or "").strip() and start is None:
            self.start.errors = [
                "＊開始日を 2026-04-01 の形で、2000年から2100年までの日で入力してください。"
            ]
        if (self.end.data or "").strip() and end is None:
            self.end.errors = [
                "＊終了日を 2026-04-30 の形で、2000年から2100年までの日で入力してください。"
            ]
        if start and end and end < start:
            self.end.errors = ["＊終了日は開始日と同じか、それより後の日にしてください。"]
        if (self.kind.data or "") not in KINDS:
            self.kind.errors = ["＊種別を選び直してください。"]
        if (self.prefecture.data or "") and self.prefecture.data not in PREFECTURES:
            self.prefecture.errors = ["＊都道府県を選び直してください。"]
        if any(f.errors for f in self):
            return None
        return FunnelScope(
            kind=self.kind.data or "",
            prefecture=self.prefecture.data or "",
            start=start,
            end=end,
        )
