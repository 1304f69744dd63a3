"""Back-office sign-in and authenticator enrolment forms."""

from flask_wtf import FlaskForm
from wtforms import PasswordField

from backoffice.normalize import normalize_digits, normalize_email
from forms.fields import TextInput, required


class SignInForm(FlaskForm):
    email = TextInput(
        "メールアドレス", normalizer=normalize_email, validators=[required("メールアドレス")]
    )
    password = PasswordField("パスワード", validators=[required("パスワード")])
    code = TextInput("確認コード", normalizer=normalize_digits, validators=[required("確認コード")])


class EnrolForm(FlaskForm):
    email = TextInput(
        "メールアドレス", normalizer=normalize_email, validators=[required("メールアドレス")]
    )
    password = PasswordField("パスワード", validators=[required("パスワード")])


class PasswordCheckForm(FlaskForm):
    password = PasswordField("パスワード", validators=[required("パスワード")])


class CodeForm(FlaskForm):
    code = TextInput("確認コード", normalizer=normalize_digits, validators=[required("確認コード")])
