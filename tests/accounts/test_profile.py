"""マイページ: the user's own profile, and an email change proven by a one-time password."""

import sqlalchemy as sa

from backoffice.accounts.models import PortalUser
from backoffice.audit.models import AuditEvent
from tests.builders.accounts import (
    NEW_PASSWORD,
    full_first_login,
    last_mail_to,
    login,
    make_registrant,
    otp_of,
    submit,
)


def ready(app, registrant):
    user, password = registrant
    client = app.test_client()
    full_first_login(client, user, password)
    return user, client


def test_profile_edit(app, registrant, db) -> None:
    user, client = ready(app, registrant)
    page = client.get("/mypage/profile")
    assert 'value="佐藤 花子"' in page.text
    response = submit(
        client,
        "/mypage/profile",
        {
            "name": "佐藤 花子",
            "name_kana": "さとう はなこ",
            "phone": "０９０－１１１１－２２２２",
            "department": "医事課",
        },
    )
    assert response.status_code == 302
    db.session.refresh(user)
    assert (user.phone, user.department, user.name_kana) == (
        "09011112222",
        "医事課",
        "サトウ ハナコ",
    )
    bad = submit(
        client, "/mypage/profile", {"name": "", "name_kana": "x", "phone": "1", "department": ""}
    )
    assert bad.status_code == 422
    assert "＊氏名を入力してください。" in bad.text
    event = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "portal.profile_updated")
    ).one()
    assert set(event.detail["fields"]) == {"phone", "department"}  # フリガナ was already that


def test_email_change_needs_the_password_and_a_code_from_the_new_address(
    app, registrant, db
) -> None:
    user, client = ready(app, registrant)
    old = user.email
    wrong = submit(
        client,
        "/mypage/email",
        {
            "email": "new@clinic.example.jp",
            "email_confirm": "new@clinic.example.jp",
            "password": "nope",
        },
    )
    assert "＊現在のパスワードが正しくありません。" in wrong.text
    sent = submit(
        client,
        "/mypage/email",
        {
            "email": "New@Clinic.example.jp",
            "email_confirm": "new@clinic.example.jp",
            "password": NEW_PASSWORD,
        },
    )
    assert sent.headers["Location"] == "/mypage/email/confirm"
    page = client.get("/mypage/email/confirm")
    assert "new@clinic.example.jp にワンタイムパスワード" in page.text  # the address just typed
    done = submit(client, "/mypage/email/confirm", {"code": otp_of("new@clinic.example.jp")})
    assert done.headers["Location"] == "/mypage"
    db.session.refresh(user)
    assert user.email == "new@clinic.example.jp"
    assert (
        last_mail_to(old).subject == "【介護情報基盤ポータル】メールアドレス（ID）が変更されました"
    )
    assert login(app.test_client(), "new@clinic.example.jp", NEW_PASSWORD).status_code == 302
    assert "正しくありません" in login(app.test_client(), old, NEW_PASSWORD).text
    assert "portal.email_changed" in set(db.session.scalars(sa.select(AuditEvent.action)))


def test_email_of_another_user_is_refused(app, registrant, db) -> None:
    user, client = ready(app, registrant)
    other, _ = make_registrant(email="taken@care.example.jp", office_number="04A0700017")
    response = submit(
        client,
        "/mypage/email",
        {"email": other.email, "email_confirm": other.email, "password": NEW_PASSWORD},
    )
    assert response.status_code == 422
    assert "すでにほかのユーザが使っています" in response.text
    assert db.session.get(PortalUser, user.id).email == user.email


def test_email_confirmation_cannot_be_skipped(app, registrant) -> None:
    _, client = ready(app, registrant)
    assert client.get("/mypage/email/confirm").headers["Location"] == "/mypage/email"
