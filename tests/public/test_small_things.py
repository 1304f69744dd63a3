"""Small things users trip on: the registration OTP's expiry as a clock time, 「最初からやり直す」, the
password rule named before it is hit, and an acknowledgement without an empty body line."""

import re

import sqlalchemy as sa

from backoffice.display import format_time
from backoffice.eclaims.importer import import_csv
from backoffice.extensions import db
from backoffice.mail.models import OutboundEmail
from backoffice.mail.outbox import readable
from backoffice.otp.models import OtpChallenge
from tests.builders.accounts import make_registrant, publish_terms, signed_in_as, submit
from tests.builders.inquiries import account_request_input, general_input, seed_tree, send

OFFICE = (
    "eclaims_id,password,security_email,security_code,office_number,office_name,kind\n"
    "KJ000000000001,eclaims-pass-1,sec1@demo.example.jp,,1310100019,あおぞら訪問介護,care\n"
)


def test_the_registration_otp_page_gives_the_expiry_as_a_clock_time(app) -> None:
    publish_terms()
    import_csv(OFFICE)
    client = app.test_client()
    submit(client, "/register", {"eclaims_id": "KJ000000000001", "password": "eclaims-pass-1"})
    page = client.get("/register/otp").text
    expires = db.session.scalars(sa.select(OtpChallenge)).one().expires_at
    assert f"有効期限は10分間（{format_time(expires)}まで）です。" in page
    assert '<a href="/register">最初からやり直す' in page


def test_the_password_hints_name_the_rule_about_ones_own_details(app) -> None:
    user, _ = make_registrant()
    page = signed_in_as(app, user).get("/password/change").text
    hint = re.search(r'<p class="field__hint" id="hint-new">([^<]*)</p>', page).group(1)
    assert "メールアドレス・氏名・事業所名・事業所番号（医療機関コード）" in hint
    assert "よく使われているもの" in hint


def _acknowledgement() -> tuple[str, str]:
    mail = db.session.scalars(sa.select(OutboundEmail)).one()
    return readable(mail)


def test_an_acknowledgement_without_a_body_leaves_the_body_out(client) -> None:
    seed_tree()
    send(client, account_request_input(body=""))
    text, html = _acknowledgement()
    assert "お問い合わせ内容（冒頭）" not in text
    assert "（なし）" not in text
    assert "お問い合わせ内容（冒頭）" not in html


def test_an_acknowledgement_with_a_body_quotes_its_start(client) -> None:
    seed_tree()
    send(client, general_input(body="ログインできません。"))
    text, html = _acknowledgement()
    assert "お問い合わせ内容（冒頭）：\nログインできません。" in text
    assert "ログインできません。" in html
