"""Forms of the back office's ticket page and bulk changes; each hands the service what it needs."""

import re
from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from backoffice.inquiries.corrections import FIELDS as CORRECTABLE
from backoffice.inquiries.triage import InquiryChanges
from backoffice.inquiries.vocabulary import InquiryStatus, Priority
from backoffice.operators.models import Operator
from forms.attachments import AttachmentsField

# A bulk reply's choices: 回答済 first, as announcements of an outage seldom ask anything back.
BULK_REPLY_STATUSES = (InquiryStatus.ANSWERED, InquiryStatus.WAITING, InquiryStatus.RESOLVED)
UNASSIGN = "none"
# The most tickets one bulk action takes: the list's largest page.
BULK_MAX = 100
_ID = re.compile(r"[0-9]{1,9}")  # ASCII digits only ("²".isdigit() is True), within an integer


def ids_in(text: str | None) -> list[int]:
    """The ids of a comma-separated list as a page sent it, anything else left out."""
    return [
        int(i) for i in (text or "").split(",") if _ID.fullmatch(i)
    ]  # the 「（未割り当て）」 choice of an assignee select


class ReplyForm(FlaskForm):
    """回答; `next_status` offers what the reply may leave the ticket in (none on a finished one)."""

    body = TextAreaField("回答内容")
    attachments = AttachmentsField()
    next_status = SelectField("回答後のステータス", validate_choice=False)
    version = IntegerField(widget=HiddenField.widget)

    def __init__(self, statuses: list[InquiryStatus], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.next_status.choices = [SelectChoice(s.value, s.label) for s in statuses]
        if not statuses:
            del self.next_status
        elif not self.next_status.data or self.next_status.data == "None":
            self.next_status.data = statuses[0].value

    def validate_next_status(self, field: Any) -> None:
        if field.data not in {choice.value for choice in field.choices}:
            raise ValidationError("＊回答後のステータスを選び直してください。")

    def chosen_status(self) -> InquiryStatus | None:
        return InquiryStatus(self.next_status.data) if "next_status" in self else None


class CorrectionRequestForm(FlaskForm):
    """差し戻し: which fields of the ID request are wrong, and why (the requester reads the reason)."""

    fields = SelectMultipleField(
        "修正を依頼する項目",
        choices=[SelectChoice(name, label) for name, label in CORRECTABLE.items()],
        validate_choice=False,
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )
    reason = TextAreaField("理由（依頼者に送信）")
    version = IntegerField(widget=HiddenField.widget)


class RevokeLinkForm(FlaskForm):
    """確認ページのURLを再発行: no fields beyond CSRF and the button's name."""

    revoke = HiddenField(default="1")


class NoteForm(FlaskForm):
    body = TextAreaField("内部メモ")
    attachments = AttachmentsField()


class TriageForm(FlaskForm):
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

    def to_changes(self) -> InquiryChanges:
        assignee = self.assignee.data
        return InquiryChanges(
            status=InquiryStatus(self.status.data),
            assignee_id=int(assignee) if assignee and assignee != UNASSIGN else None,
            unassign=assignee == UNASSIGN,
            priority=Priority(self.priority.data),
            due_on=self.due_on.data,
        )


def assignee_choices(operators: list[Operator]) -> list[SelectChoice]:
    return [SelectChoice(UNASSIGN, "（未割り当て）")] + [
        SelectChoice(str(o.id), o.name) for o in operators
    ]


class BulkForm(FlaskForm):
    """担当者を割り当てる (`kind` "assign") / ステータスを変更する ("status") for the inquiries chosen in
    the list."""

    ids = HiddenField("対象")  # a label, though hidden: see ConfirmForm.submission_key
    target = SelectField("変更後の値")

    def __init__(self, kind: str, operators: list[Operator], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.kind = kind
        if kind == "assign":
            self.target.label.text = "担当者"
            self.target.choices = assignee_choices(operators)
        else:
            self.target.label.text = "ステータス"
            self.target.choices = [SelectChoice(s.value, s.label) for s in InquiryStatus]

    def inquiry_ids(self) -> list[int]:
        return ids_in(self.ids.data)[:BULK_MAX]

    def to_changes(self) -> InquiryChanges:
        if self.kind == "status":
            return InquiryChanges(status=InquiryStatus(self.target.data))
        if self.target.data == UNASSIGN:
            return InquiryChanges(unassign=True)
        return InquiryChanges(assignee_id=int(self.target.data))


class BulkReplyForm(FlaskForm):
    """まとめて回答する: one reply to the tickets chosen in the list, each mailed on its own."""

    # "id:version,…": the versions the operator saw (a ticket changed since is not replied to).
    tickets = HiddenField("対象")
    body = TextAreaField("回答内容")
    next_status = SelectField(
        "回答後のステータス",
        choices=[SelectChoice(s.value, s.label) for s in BULK_REPLY_STATUSES],
        default=InquiryStatus.ANSWERED.value,
    )

    def seen(self) -> dict[int, int]:
        pairs = (item.partition(":") for item in (self.tickets.data or "").split(","))
        seen = {int(i): int(v) for i, _sep, v in pairs if _ID.fullmatch(i) and _ID.fullmatch(v)}
        return dict(list(seen.items())[:BULK_MAX])

    def validate_tickets(self, field: Any) -> None:
        if len(self.seen()) < len([item for item in (field.data or "").split(",") if item]):
            raise ValidationError(
                f"一度に回答できるのは{BULK_MAX}件までです。一覧で選び直してください。"
            )

    def validate_next_status(self, field: Any) -> None:
        if field.data not in {s.value for s in BULK_REPLY_STATUSES}:
            raise ValidationError("＊回答後のステータスを選び直してください。")

    def chosen_status(self) -> InquiryStatus:
        return InquiryStatus(self.next_status.data)
