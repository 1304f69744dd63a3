"""お知らせ in the back office: the times are typed in Japan time."""

from datetime import datetime

from flask_wtf import FlaskForm
from wtforms import BooleanField, DateTimeLocalField, StringField, TextAreaField
from wtforms.validators import Optional

from backoffice.display import JST
from backoffice.notices.operations import NoticeInput

# Japan time has been UTC+9 all year since 1952; outside these years a typed date is a slip.
YEARS = (2000, 2100)

# What a datetime-local input sends, and what people type where it is a plain text box.
FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"]


class _JapanTime(DateTimeLocalField):
    """A datetime-local input read as Japan time, with a Japanese message for a value it cannot read."""

    def __init__(self, label: str, **kwargs: object) -> None:
        super().__init__(label, format=FORMATS, validators=[Optional()], **kwargs)  # type: ignore[arg-type]

    def process_formdata(self, valuelist: list[str]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError:
            self.data = None
            raise ValueError("日時を「2026-12-03 09:00」の形で入力してください。") from None
        if self.data is not None and not (YEARS[0] <= self.data.year <= YEARS[1]):
            self.data = None
            raise ValueError(f"{YEARS[0]}年から{YEARS[1]}年までの日時を入力してください。")

    def aware(self) -> datetime | None:
        return self.data.replace(tzinfo=JST) if self.data else None


class NoticeForm(FlaskForm):
    title = StringField("見出し")
    body = TextAreaField("本文")
    important = BooleanField("重要なお知らせとして目立たせる")
    on_public = BooleanField("お問い合わせ・公開ページ")
    on_portal = BooleanField("ポータル（ログイン・初回利用登録・マイページ）")
    starts_at = _JapanTime("掲載開始")
    ends_at = _JapanTime("掲載終了")

    def to_input(self) -> NoticeInput:
        return NoticeInput(
            title=self.title.data or "",
            body=self.body.data or "",
            starts_at=self.starts_at.aware(),
            ends_at=self.ends_at.aware(),
            on_public=bool(self.on_public.data),
            on_portal=bool(self.on_portal.data),
            important=bool(self.important.data),
        )
