"""The back office's corrections of a ticket (区分の変更, メールアドレスの訂正, 統合) and the form that logs
a call, a fax or a visit as a ticket. The ID request's fields are the public form's, checked the same."""

import re
import secrets
from typing import Any

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, IntegerField, SelectField
from wtforms.fields.choices import SelectChoice

from backoffice.inquiries.links import normalize_reference_number
from backoffice.inquiries.models import InquiryCategory
from backoffice.inquiries.operations import AccountRequestInput, InquiryInput
from backoffice.inquiries.vocabulary import LOGGED_INTAKES
from backoffice.normalize import (
    check_email,
    check_kana,
    check_phone,
    normalize_email,
    normalize_kana,
    normalize_phone,
)
from forms.conversation import check_reference_number
from forms.fields import TextInput, checked_by, max_length, required
from forms.inquiry import (
    ACCOUNT_FIELDS,
    InquiryForm,
    account_request_input,
    require_account_fields,
)

_CHOOSE = "（選んでください）"
_FORM_KEY = re.compile(r"[A-Za-z0-9_-]{32}")


def _category_choices(categories: list[InquiryCategory]) -> list[SelectChoice]:
    return [SelectChoice("", _CHOOSE)] + [
        SelectChoice(
            str(c.id),
            c.name,
            optgroup=c.parent.name if c.parent else None,
            render_kw={"data-account-request": "true" if c.is_account_request else "false"},
        )
        for c in categories
    ]


class _AccountFields(FlaskForm):
    """The ID request's fields of the public form (same normalisers, same checks)."""

    medical_code = InquiryForm.medical_code
    institution_name = InquiryForm.institution_name
    institution_kana = InquiryForm.institution_kana
    postal_code = InquiryForm.postal_code
    address = InquiryForm.address
    department = InquiryForm.department

    def __init__(self, categories: list[InquiryCategory], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.categories = {c.id: c for c in categories}
        self.category.choices = _category_choices(categories)  # type: ignore[attr-defined]

    @property
    def chosen(self) -> InquiryCategory | None:
        try:
            return self.categories.get(int(self.category.data or 0))  # type: ignore[attr-defined]
        except ValueError:
            return None

    def account_fields(self) -> list[Any]:
        return [self[name] for name in ACCOUNT_FIELDS]

    def details(self) -> AccountRequestInput | None:
        chosen = self.chosen
        return account_request_input(self) if chosen and chosen.is_account_request else None


class RefileForm(_AccountFields):
    """区分の変更; into ID発行申請 the request's fields are asked too (unless the ticket has them)."""

    category = SelectField("変更先の区分", validate_choice=False)
    version = IntegerField(widget=HiddenField.widget)

    def __init__(
        self, categories: list[InquiryCategory], *, needs_details: bool, **kwargs: Any
    ) -> None:
        super().__init__(categories, **kwargs)
        self.needs_details = needs_details

    def validate(self, extra_validators: Any = None) -> bool:
        super().validate(extra_validators)
        if self.chosen is None:
            self.category.errors.append("＊変更先の区分を選んでください。")
        elif self.chosen.is_account_request and self.needs_details:
            require_account_fields(self)
        return not any(f.errors for f in self)

    def details(self) -> AccountRequestInput | None:
        return super().details() if self.needs_details else None


class LogContactForm(_AccountFields):
    """電話・FAX・窓口のお問い合わせを登録: the requester's details as far as they were given."""

    intake = SelectField(
        "受付経路",
        choices=[SelectChoice("", _CHOOSE)]
        + [SelectChoice(i.value, i.label) for i in LOGGED_INTAKES],
        validate_choice=False,
    )
    category = SelectField("お問い合わせ区分", validate_choice=False)
    name = InquiryForm.name
    name_kana = TextInput(
        "氏名（フリガナ）（任意）",
        normalizer=normalize_kana,
        validators=[
            max_length("氏名（フリガナ）", 100),
            checked_by(check_kana, "氏名（フリガナ）"),
        ],
    )
    organization = TextInput("組織名（任意）", validators=[max_length("組織名", 200)])
    email = TextInput(
        "メールアドレス（任意）",
        normalizer=normalize_email,
        validators=[max_length("メールアドレス", 254), checked_by(check_email)],
    )
    phone = TextInput(
        "電話番号（任意）", normalizer=normalize_phone, validators=[checked_by(check_phone)]
    )
    body = InquiryForm.body
    acknowledge = BooleanField(
        "メールアドレスがあれば、受付確認メール（確認ページのURL付き）を送る", default=True
    )
    # One key per form shown: sending it twice (a double click, a reload) makes one ticket.
    form_key = HiddenField()

    def validate(self, extra_validators: Any = None) -> bool:
        super().validate(extra_validators)
        if not _FORM_KEY.fullmatch(self.form_key.data or ""):
            self.form_key.data = secrets.token_urlsafe(24)
        if self.intake.data not in {i.value for i in LOGGED_INTAKES}:
            self.intake.errors.append("＊受付経路を選んでください。")
        if self.chosen is None:
            self.category.errors.append("＊お問い合わせ区分を選んでください。")
        elif self.chosen.is_account_request:
            require_account_fields(self)
        elif not self.body.data:
            self.body.errors.append("＊お問い合わせ内容を入力してください。")
        if not self.email.data and not self.phone.data and not self.phone.errors:
            self.phone.errors.append("＊連絡先として、電話番号かメールアドレスを入力してください。")
        return not any(f.errors for f in self)

    def to_input(self) -> InquiryInput:
        details = self.details()
        chosen = self.chosen
        if chosen is None:
            raise RuntimeError("to_input() needs a validated form")
        return InquiryInput(
            category_id=chosen.id,
            requester_name=self.name.data,
            requester_kana=self.name_kana.data or "",
            organization_name=(
                (details.institution_name if details else self.organization.data) or None
            ),
            email=self.email.data or None,
            phone=self.phone.data or "",
            body=self.body.data or "",
            account_request=details,
        )


class EmailCorrectionForm(FlaskForm):
    email = TextInput(
        "正しいメールアドレス",
        normalizer=normalize_email,
        validators=[
            required("正しいメールアドレス"),
            max_length("メールアドレス", 254),
            checked_by(check_email),
        ],
    )
    email_confirm = TextInput(
        "正しいメールアドレス（確認）",
        normalizer=normalize_email,
        validators=[required("正しいメールアドレス（確認）")],
    )
    version = IntegerField(widget=HiddenField.widget)

    def validate(self, extra_validators: Any = None) -> bool:
        super().validate(extra_validators)
        if (
            self.email.data
            and self.email_confirm.data
            and self.email.data != self.email_confirm.data
        ):
            self.email_confirm.errors.append(
                "＊確認欄には、正しいメールアドレスと同じものを入力してください。"
            )
        return not any(f.errors for f in self)


class MergeForm(FlaskForm):
    into = TextInput(
        "統合先の受付番号",
        normalizer=normalize_reference_number,
        validators=[required("統合先の受付番号"), check_reference_number],
    )
    version = IntegerField(widget=HiddenField.widget)
