"""Back-office sign-in and authenticator enrolment forms."""

from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField

from backoffice.normalize import normalize_digits, normalize_email
from backoffice.operators.models import Role
from forms.accounts import same_as_new
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


class OwnPasswordForm(FlaskForm):
    """パスワードの変更 (an operator's own, from inside the back office)."""

    current = PasswordField("現在のパスワード", validators=[required("現在のパスワード")])
    code = TextInput("確認コード", normalizer=normalize_digits, validators=[required("確認コード")])
    new = PasswordField("新しいパスワード", validators=[required("新しいパスワード")])
    confirm = PasswordField(
        "新しいパスワード（確認）", validators=[required("新しいパスワード（確認）"), same_as_new]
    )


class EnrolmentLinkForm(FlaskForm):
    """The page of a mailed enrolment link; the view removes the fields the link does not need."""

    new = PasswordField("新しいパスワード", validators=[required("新しいパスワード")])
    confirm = PasswordField(
        "新しいパスワード（確認）", validators=[required("新しいパスワード（確認）"), same_as_new]
    )
    current = PasswordField("現在のパスワード", validators=[required("現在のパスワード")])
    code = TextInput("確認コード", normalizer=normalize_digits, validators=[required("確認コード")])


class InviteForm(FlaskForm):
    """運営担当者を招待する: the invited operator sets their own password and authenticator."""

    email = TextInput(
        "メールアドレス", normalizer=normalize_email, validators=[required("メールアドレス")]
    )
    name = TextInput("氏名", validators=[required("氏名")])
    role = SelectField(
        "権限",
        choices=[(role.value, role.label) for role in Role],
        default=Role.AGENT.value,
        validators=[required("権限", "選択")],
    )
