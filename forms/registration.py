"""初回利用登録 forms."""

from flask_wtf import FlaskForm
from wtforms import PasswordField

from backoffice.eclaims.importer import normalize_eclaims_id
from backoffice.normalize import nfkc, normalize_digits
from forms.accounts import six_digits
from forms.fields import TextInput, required


class EClaimsLoginForm(FlaskForm):
    eclaims_id = TextInput(
        "電子請求受付システムのID",
        normalizer=normalize_eclaims_id,
        validators=[required("電子請求受付システムのID")],
    )
    password = PasswordField("パスワード", validators=[required("パスワード")])


class RegistrationOtpForm(FlaskForm):
    code = TextInput(
        "ワンタイムパスワード",
        normalizer=normalize_digits,
        validators=[required("ワンタイムパスワード"), six_digits],
    )
    security_code = TextInput("セキュリティコード", normalizer=nfkc)
