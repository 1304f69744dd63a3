"""Forms of the back office's ticket page and bulk changes."""

from typing import Any

from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, IntegerField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional

from backoffice.inquiries.models import InquiryStatus, Priority
from backoffice.operators.models import Operator

KEEP = ""
UNASSIGN = "none"


class ReplyForm(FlaskForm):
    body = TextAreaField("回答内容")
    version = IntegerField(widget=HiddenField.widget)


class NoteForm(FlaskForm):
    body = TextAreaField("内部メモ")


class TicketForm(FlaskForm):
    """ステータス, 担当者, 優先度, 期限; `version` refuses a save based on an outdated page."""

    status = SelectField("ステータス")
    assignee = SelectField("担当者")
    priority = SelectField("優先度", choices=[SelectChoice(p.value, p.label) for p in Priority])
    due_on = DateField("期限", validators=[Optional()])
    version = IntegerField(widget=HiddenField.widget)

    def __init__(
        self, statuses: list[InquiryStatus], operators: list[Operator], **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.status.choices = [SelectChoice(s.value, s.label) for s in statuses]
        self.assignee.choices = assignee_choices(operators)


def assignee_choices(operators: list[Operator]) -> list[SelectChoice]:
    return [SelectChoice(UNASSIGN, "（未割り当て）")] + [
        SelectChoice(str(o.id), o.name) for o in operators
    ]


class BulkForm(FlaskForm):
    """担当者を割り当てる / ステータスを変更する for the tickets chosen in the list."""

    ids = HiddenField("対象")  # a label, though hidden: see ConfirmForm.submission_key
    target = SelectField("変更後の値")
