"""The public お問い合わせフォーム (入力 step) and its 確認 step."""

from typing import Any

from flask import current_app
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import BooleanField, HiddenField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import ValidationError

from backoffice.codes import MEDICAL_CODE_RE, medical_code_check_digit_ok
from backoffice.inquiries.operations import AccountRequestInput, CategoryNode, InquiryInput
from backoffice.normalize import (
    check_email,
    check_kana,
    check_phone,
    check_postal_code,
    normalize_digits,
    normalize_email,
    normalize_kana,
    normalize_phone,
    normalize_postal_code,
    normalize_text,
)
from forms.attachments import AttachmentsField
from forms.fields import TextArea, TextInput, checked_by, max_length, required

MAJOR_LABEL = "お問い合わせ区分（大カテゴリー）"
MINOR_LABEL = "お問い合わせ区分（中カテゴリー）"
PLEASE_CHOOSE = "選択してください"

# Fields that only the 「介護情報基盤ポータルのID発行申請」 category asks for, in page order.
ACCOUNT_FIELDS = (
    "medical_code",
    "institution_name",
    "institution_kana",
    "postal_code",
    "address",
    "department",
)


# The ID request's fields required with that category, with their labels.
ACCOUNT_REQUIRED = (
    ("medical_code", "医療機関コード"),
    ("institution_name", "医療機関名"),
    ("institution_kana", "医療機関名（フリガナ）"),
    ("postal_code", "郵便番号"),
    ("address", "所在地"),
)


def _medical_code_format(form: Any, field: Any) -> None:
    if field.data and not MEDICAL_CODE_RE.match(field.data):
        raise ValidationError("＊医療機関コードは10桁の数字で入力してください。")


def require_account_fields(form: Any) -> None:
    """The ID request's required fields, as the public form asks them (also the back office's)."""
    for name, label in ACCOUNT_REQUIRED:
        field = form[name]
        if not field.data and not field.errors:
            field.errors.append(f"＊{label}を入力してください。")


def account_request_input(form: Any) -> AccountRequestInput:
    """The ID request's details from a validated form with its fields."""
    return AccountRequestInput(
        medical_code=form.medical_code.data,
        medical_code_check_ok=medical_code_check_digit_ok(form.medical_code.data or ""),
        institution_name=form.institution_name.data,
        institution_kana=form.institution_kana.data,
        postal_code=form.postal_code.data,
        address=form.address.data,
        department=form.department.data or None,
    )


class InquiryForm(FlaskForm):
    """入力: every field of the form. Required-ness of some fields depends on the chosen 中カテゴリー,
    which `validate` checks after the fields' own checks."""

    major_category = SelectField(MAJOR_LABEL, validate_choice=False)
    category = SelectField(MINOR_LABEL, validate_choice=False)
    name = TextInput("氏名", validators=[required("氏名"), max_length("氏名", 100)])
    name_kana = TextInput(
        "氏名（フリガナ）",
        normalizer=normalize_kana,
        validators=[
            required("氏名（フリガナ）"),
            max_length("氏名（フリガナ）", 100),
            checked_by(check_kana, "氏名（フリガナ）"),
        ],
    )
    organization = TextInput("組織名", validators=[max_length("組織名", 200)])
    email = TextInput(
        "メールアドレス",
        normalizer=normalize_email,
        validators=[
            required("メールアドレス"),
            max_length("メールアドレス", 254),
            checked_by(check_email),
        ],
    )
    email_confirm = TextInput(
        "メールアドレス（確認）",
        normalizer=normalize_email,
        validators=[required("メールアドレス（確認）")],
    )
    phone = TextInput(
        "電話番号",
        normalizer=normalize_phone,
        validators=[required("電話番号"), checked_by(check_phone)],
    )
    medical_code = TextInput(
        "医療機関コード", normalizer=normalize_digits, validators=[_medical_code_format]
    )
    institution_name = TextInput("医療機関名", validators=[max_length("医療機関名", 200)])
    institution_kana = TextInput(
        "医療機関名（フリガナ）",
        normalizer=normalize_kana,
        validators=[
            max_length("医療機関名（フリガナ）", 200),
            checked_by(check_kana, "医療機関名（フリガナ）"),
        ],
    )
    postal_code = TextInput(
        "郵便番号", normalizer=normalize_postal_code, validators=[checked_by(check_postal_code)]
    )
    address = TextInput("所在地", validators=[max_length("所在地", 300)])
    department = TextInput("部署名", validators=[max_length("部署名", 100)])
    body = TextArea("お問い合わせ内容", normalizer=normalize_text)
    attachments = AttachmentsField()
    privacy_consent = BooleanField("個人情報の取扱いに同意する")
    # Honeypot: hidden from people by CSS and from assistive technology; bots fill every field.
    contact_time = TextInput("この欄には何も入力しないでください")

    def __init__(self, tree: list[CategoryNode], *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tree = tree
        self.body_max_length: int = current_app.config["INQUIRY_BODY_MAX_LENGTH"]
        self.major_category.choices = [SelectChoice("", PLEASE_CHOOSE)] + [
            SelectChoice(str(m.id), m.name) for m in tree
        ]
        self.category.choices = [SelectChoice("", PLEASE_CHOOSE)] + [
            SelectChoice(
                str(c.id),
                c.name,
                render_kw={
                    "data-parent": str(m.id),
                    "data-account-request": "true" if c.is_account_request else "false",
                },
                optgroup=m.name,
            )
            for m in tree
            for c in m.children
            if c.is_active
        ]
        self.selected_category: CategoryNode | None = None

    @classmethod
    def from_draft(
        cls, tree: list[CategoryNode], data: dict[str, str], *, for_display: bool = False
    ) -> "InquiryForm":
        """Rebuild the form from a stored draft (what the user typed): to show it again for changes
        (with a fresh CSRF token), or to re-validate it before sending (the draft carries no token)."""
        return cls(tree, formdata=MultiDict(data), meta={"csrf": for_display})

    def choose_account_request(self) -> None:
        """Select その他 → 介護情報基盤ポータルのID発行申請 (the link 「ID発行を申請する」 opens the form so)."""
        for major in self.tree:
            for minor in major.children:
                if minor.is_active and minor.is_account_request:
                    self.major_category.data, self.category.data = str(major.id), str(minor.id)
                    return

    @property
    def chosen_kind(self) -> str | None:
        """ "request" or "general" for the 中カテゴリー chosen so far (valid or not), None before one is:
        the page marks the fields that depend on it accordingly."""
        for major in self.tree:
            for minor in major.children:
                if minor.is_active and str(minor.id) == (self.category.data or ""):
                    return "request" if minor.is_account_request else "general"
        return None

    @property
    def is_account_request(self) -> bool:
        return self.selected_category is not None and self.selected_category.is_account_request

    @property
    def honeypot_filled(self) -> bool:
        return bool(self.contact_time.data)

    def raw_input(self) -> dict[str, str]:
        """What the user typed, field by field, for the draft (so 「変更」 shows it exactly)."""
        return {
            f.name: (f.raw_data[0] if f.raw_data else "")
            for f in self
            if f.name not in ("csrf_token", "contact_time", "attachments")
        }

    def validate(self, extra_validators: Any = None) -> bool:
        super().validate(extra_validators)
        self._validate_categories()
        self._validate_conditional_fields()
        if not self.privacy_consent.data:
            self.privacy_consent.errors.append(
                "＊個人情報の取扱いをご確認のうえ、「個人情報の取扱いに同意する」にチェックを入れてください。"
            )
        if (
            self.email.data
            and self.email_confirm.data
            and self.email.data != self.email_confirm.data
        ):
            self.email_confirm.errors.append(
                "＊メールアドレス（確認）には、メールアドレスと同じものを入力してください。"
            )
        return not any(f.errors for f in self)

    def _validate_categories(self) -> None:
        majors = {str(m.id): m for m in self.tree}
        major = majors.get(self.major_category.data or "")
        if major is None:
            self.major_category.errors.append(f"＊{MAJOR_LABEL}を選択してください。")
        minors = {str(c.id): c for m in self.tree for c in m.children if c.is_active}
        minor = minors.get(self.category.data or "")
        if minor is None:
            self.category.errors.append(f"＊{MINOR_LABEL}を選択してください。")
        elif major is not None and minor.parent is not major:
            self.category.errors.append(
                f"＊{MINOR_LABEL}は、選択した大カテゴリー「{major.name}」に含まれるものを選択してください。"
            )
        else:
            self.selected_category = minor

    def _validate_conditional_fields(self) -> None:
        if self.is_account_request:
            require_account_fields(self)
        else:
            if not self.organization.data and not self.organization.errors:
                self.organization.errors.append("＊組織名を入力してください。")
            if not self.body.data:
                self.body.errors.append("＊お問い合わせ内容を入力してください。")
        if len(self.body.data or "") > self.body_max_length:
            self.body.errors.append(
                f"＊お問い合わせ内容は{self.body_max_length}文字以内で入力してください"
                f"（現在{len(self.body.data)}文字）。"
            )

    @property
    def medical_code_check_ok(self) -> bool:
        return medical_code_check_digit_ok(self.medical_code.data or "")

    def to_input(self) -> InquiryInput:
        """The validated, normalised values for `submit_inquiry`; call only after `validate()` passed.

        Raises RuntimeError when called on a form that did not validate.
        """
        if self.selected_category is None:
            raise RuntimeError("to_input() needs a validated form")
        details = account_request_input(self) if self.is_account_request else None
        return InquiryInput(
            category_id=self.selected_category.id,
            requester_name=self.name.data,
            requester_kana=self.name_kana.data,
            organization_name=(
                (self.institution_name.data if details else self.organization.data) or None
            ),
            email=self.email.data,
            phone=self.phone.data,
            body=self.body.data or "",
            account_request=details,
        )


class ConfirmForm(FlaskForm):
    """確認: sends the draft named by `submission_key` (CSRF-protected like every form)."""

    # A label, though never shown: without one WTForms asks Flask-WTF to translate the field's name,
    # which loads WTForms' message catalogue from disk on every request.
    submission_key = HiddenField("送信キー")
