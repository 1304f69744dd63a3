"""通知の設定: which alerts an operator gets by mail."""

from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectMultipleField
from wtforms.widgets import CheckboxInput, ListWidget

from backoffice.alerts.operations import AlertChoices


class AlertSettingsForm(FlaskForm):
    assigned = BooleanField("お問い合わせの担当に割り当てられたとき")
    answers = BooleanField("担当しているお問い合わせに依頼者から返信があったとき")
    digest = BooleanField("毎朝、担当しているお問い合わせのうち本日期限・期限切れのものの一覧")
    # The choices (every 中カテゴリー) are set by the view; the service refuses an unknown id.
    watched = SelectMultipleField(
        "新しいお問い合わせを知らせる区分",
        coerce=int,
        validate_choice=False,
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )

    def to_choices(self) -> AlertChoices:
        return AlertChoices(
            assigned=self.assigned.data,
            answers=self.answers.data,
            digest=self.digest.data,
            watched=tuple(self.watched.data or ()),
        )
