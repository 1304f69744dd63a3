"""Forms of the 「未振り分けメール」 pages: put a mail on a ticket, make a ticket of it, or dismiss it."""

from typing import Any

from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField
from wtforms.fields.choices import SelectChoice

from backoffice.inquiries.links import normalize_reference_number
from backoffice.inquiries.models import InquiryCategory
from backoffice.normalize import check_email, normalize_email
from forms.conversation import check_reference_number
from forms.fields import TextInput, checked_by, max_length, required


class FileForm(FlaskForm):
    reference_number = TextInput(
        "追加先の受付番号",
        normalizer=normalize_reference_number,
        validators=[required("受付番号"), check_reference_number],
    )


class NewTicketForm(FlaskForm):
    category = SelectField("お問い合わせ区分", validate_choice=False)
    requester_name = TextInput("氏名", validators=[required("氏名"), max_length("氏名", 100)])
    organization_name = TextInput("組織名（任意）", validators=[max_length("組織名", 200)])
    email = TextInput(
        "メールアドレス",
        normalizer=normalize_email,
        validators=[required("メールアドレス"), checked_by(check_email)],
    )
    acknowledge = BooleanField("受付確認メール（確認ページのURL付き）を送る", default=True)

    def __init__(self, categories: list[InquiryCategory], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.category.choices = [SelectChoice("", "（選んでください）")] + [
            SelectChoice(str(c.id), c.path) for c in categories
        ]


class DismissForm(FlaskForm):
    pass
