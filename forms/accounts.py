"""Portal forms: login, one-time password, password change, 利用規約, ユーザ新規登録."""

from typing import Any

from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, RadioField
from wtforms.validators import ValidationError

from backoffice.accounts.profile import ProfileDetails
from backoffice.accounts.users import UserDetails
from backoffice.normalize import (
    check_email,
    normalize_digits,
    normalize_email,
)
from forms.fields import TextInput, checked_by, max_length, required
from forms.inquiry import InquiryForm


def six_digits(form: Any, field: Any) -> None:
    value = field.data or ""
    if not value.isdigit():
        raise ValidationError("＊ワンタイムパスワードは数字で入力してください。")
    if len(value) < 6:
        raise ValidationError("＊ワンタイムパスワードが短すぎます。6桁の数字を入力してください。")
    if len(value) > 6:
        raise ValidationError("＊ワンタイムパスワードが長すぎます。6桁の数字を入力してください。")


class LoginForm(FlaskForm):
    email = TextInput(
        "ID（メールアドレス）",
        normalizer=normalize_email,
        validators=[required("ID（メールアドレス）")],
    )
    password = PasswordField("パスワード", validators=[required("パスワード")])


class OtpForm(FlaskForm):
    code = TextInput(
        "ワンタイムパスワード",
        normalizer=normalize_digits,
        validators=[required("ワンタイムパスワード"), six_digits],
    )


def same_as_new(form: Any, field: Any) -> None:
    if form.new.data and field.data != form.new.data:
        raise ValidationError(
            "＊新しいパスワード（確認）には、新しいパスワードと同じものを入力してください。"
        )


class PasswordChangeForm(FlaskForm):
    current = PasswordField("現在のパスワード", validators=[required("現在のパスワード")])
    new = PasswordField("新しいパスワード", validators=[required("新しいパスワード")])
    confirm = PasswordField(
        "新しいパスワード（確認）", validators=[required("新しいパスワード（確認）"), same_as_new]
    )


class TermsForm(FlaskForm):
    agree = BooleanField("利用規約に同意する")


class UserForm(FlaskForm):
    """ユーザ新規登録 and the registrant's details at 初回利用登録: the public form's field definitions."""

    name = InquiryForm.name
    name_kana = InquiryForm.name_kana
    email = InquiryForm.email
    email_confirm = InquiryForm.email_confirm
    phone = InquiryForm.phone
    department = InquiryForm.department

    def validate_email_confirm(self, field: Any) -> None:
        if self.email.data and field.data and field.data.lower() != self.email.data.lower():
            raise ValidationError(
                "＊メールアドレス（確認）には、メールアドレスと同じものを入力してください。"
            )

    def to_input(self) -> UserDetails:
        return UserDetails(
            name=self.name.data,
            name_kana=self.name_kana.data,
            email=self.email.data,
            phone=self.phone.data,
            department=self.department.data or None,
        )


class NewUserForm(UserForm):
    """ユーザ新規登録 on マイページ: the registrant's own password too, when it is asked again
    (accounts/reauth.py decides; the field is optional here)."""

    password = PasswordField("現在のパスワード")


class DisableUserForm(FlaskForm):
    password = PasswordField("現在のパスワード")


class HandoverForm(FlaskForm):
    """登録者の引き継ぎ: whom to (the view sets the choices), and the password when the session is not
    recent."""

    # The service checks the choice (NoSuchSuccessor): WTForms' own messages are in English.
    successor = RadioField("引き継ぐユーザ", validate_choice=False)
    password = PasswordField("現在のパスワード")

    def successor_id(self) -> int | None:
        value = self.successor.data or ""
        return int(value) if value.isdigit() else None


class ForgotForm(FlaskForm):
    email = TextInput(
        "ID（メールアドレス）",
        normalizer=normalize_email,
        validators=[required("ID（メールアドレス）")],
    )


class ResetForm(FlaskForm):
    code = OtpForm.code
    new = PasswordField("新しいパスワード", validators=[required("新しいパスワード")])
    confirm = PasswordField(
        "新しいパスワード（確認）", validators=[required("新しいパスワード（確認）"), same_as_new]
    )


class ProfileForm(FlaskForm):
    name = InquiryForm.name
    name_kana = InquiryForm.name_kana
    phone = InquiryForm.phone
    department = InquiryForm.department

    def to_changes(self) -> ProfileDetails:
        return ProfileDetails(
            name=self.name.data,
            name_kana=self.name_kana.data,
            phone=self.phone.data,
            department=self.department.data or None,
        )


class EmailChangeForm(FlaskForm):
    email = TextInput(
        "新しいメールアドレス",
        normalizer=normalize_email,
        validators=[
            required("新しいメールアドレス"),
            max_length("新しいメールアドレス", 254),
            checked_by(check_email),
        ],
    )
    email_confirm = TextInput(
        "新しいメールアドレス（確認）",
        normalizer=normalize_email,
        validators=[required("新しいメールアドレス（確認）")],
    )
    password = PasswordField("現在のパスワード", validators=[required("現在のパスワード")])

    def validate_email_confirm(self, field: Any) -> None:
        if self.email.data and field.data and field.data.lower() != self.email.data.lower():
            raise ValidationError(
                "＊新しいメールアドレス（確認）には、新しいメールアドレスと同じものを入力してください。"
            )
