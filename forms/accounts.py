"""Portal forms: login, one-time password, password change, 利用規約, ユーザ新規登録."""

from typing import Any

from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField
from wtforms.validators import ValidationError

from backoffice.normalize import (
    check_email,
    check_kana,
    check_phone,
    normalize_digits,
    normalize_email,
    normalize_kana,
    normalize_phone,
)
from forms.fields import TextInput, checked_by, max_length, required


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


class PasswordChangeForm(FlaskForm):
    current = PasswordField("現在のパスワード", validators=[required("現在のパスワード")])
    new = PasswordField("新しいパスワード", validators=[required("新しいパスワード")])
    confirm = PasswordField(
        "新しいパスワード（確認）", validators=[required("新しいパスワード（確認）")]
    )

    def validate_confirm(self, field: Any) -> None:
        if self.new.data and field.data != self.new.data:
            raise ValidationError(
                "＊新しいパスワード（確認）には、新しいパスワードと同じものを入力してください。"
            )


class TermsForm(FlaskForm):
    agree = BooleanField("利用規約に同意する")


class UserForm(FlaskForm):
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
    department = TextInput("部署名", validators=[max_length("部署名", 100)])

    def validate_email_confirm(self, field: Any) -> None:
        if self.email.data and field.data and field.data.lower() != self.email.data.lower():
            raise ValidationError(
                "＊メールアドレス（確認）には、メールアドレスと同じものを入力してください。"
            )


class ForgotForm(FlaskForm):
    email = TextInput(
        "ID（メールアドレス）",
        normalizer=normalize_email,
        validators=[required("ID（メールアドレス）")],
    )


class ResetForm(FlaskForm):
    code = TextInput(
        "ワンタイムパスワード",
        normalizer=normalize_digits,
        validators=[required("ワンタイムパスワード"), six_digits],
    )
    new = PasswordField("新しいパスワード", validators=[required("新しいパスワード")])
    confirm = PasswordField(
        "新しいパスワード（確認）", validators=[required("新しいパスワード（確認）")]
    )

    def validate_confirm(self, field: Any) -> None:
        if self.new.data and field.data != self.new.data:
            raise ValidationError(
                "＊新しいパスワード（確認）には、新しいパスワードと同じものを入力してください。"
            )


class ProfileForm(FlaskForm):
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
    phone = TextInput(
        "電話番号",
        normalizer=normalize_phone,
        validators=[required("電話番号"), checked_by(check_phone)],
    )
    department = TextInput("部署名", validators=[max_length("部署名", 100)])


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
