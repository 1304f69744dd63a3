"""初回利用登録 forms."""

from flask_wtf import FlaskForm
from wtforms import PasswordField

from backoffice.eclaims.importer import normalize_eclaims_id
from backoffice.normalize import nfkc
from forms.accounts import OtpForm
from forms.fields import TextInput, required


class EClaimsLoginForm(FlaskForm):
    eclaims_id = TextInput(
        "電子請求受付システムのID",
        normalizer=normalize_eclaims_id,
        validators=[required("電子請求受付システムのID")],
    )
    password = PasswordField("パスワード", validators=[required("パスワード")])


class RegistrationOtpForm(FlaskForm):
    code = OtpForm.code
    security_code = TextInput("セキュリティコード", normalizer=nfkc)
