"""マイページ「登録者の引き継ぎ」: the registrant passes the role to another user who has finished the first
login, confirmed with a one-time password to the registrant's own address; both are mailed."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine

from backoffice.accounts.models import PortalUser
from backoffice.audit.models import AuditEvent
from backoffice.mail.outbox import readable
from tests.builders.accounts import (
    NEW_PASSWORD,
    full_first_login,
    initial_password_of,
    last_mail_to,
    make_registrant,
    otp_of,
    signed_in_as,
    submit,
)
from tests.builders.web import csrf_token

CHOOSE = "＊引き継ぐユーザを、一覧から選んでください。"


def staff(n: int) -> dict[str, str]:
    return {
        "name": f"職員 {n}",
        "name_kana": "ショクイン",
        "email": f"staff{n}@clinic.example.jp",
        "email_confirm": f"staff{n}@clinic.example.jp",
        "phone": "03-1234-5678",
        "department": "看護部",
    }


@pytest.fixture
def office(app, registrant, db):
    """A registrant signed in, one added user who has logged in, one who has not yet."""
    user, password = registrant
    client = app.test_client()
    full_first_login(client, user, password)
    for n in (1, 2):
        assert submit(client, "/mypage/users/new", staff(n)).status_code == 302
    ready = db.session.scalars(
        sa.select(PortalUser).where(PortalUser.email == "staff1@clinic.example.jp")
    ).one()
    full_first_login(app.test_client(), ready, initial_password_of(ready))
    waiting = db.session.scalars(
        sa.select(PortalUser).where(PortalUser.email == "staff2@clinic.example.jp")
    ).one()
    return user, client, ready, waiting


def roles(db) -> dict[str, bool]:
    db.session.expire_all()
    return {u.email: u.is_registrant for u in db.session.scalars(sa.select(PortalUser))}


def test_the_registrant_hands_the_role_over_with_a_one_time_password(app, office, db) -> None:
    registrant, client, ready, waiting = office
    mypage = client.get("/mypage").text
    assert 'href="/mypage/handover"' in mypage
    page = client.get("/mypage/handover").text
    assert "職員 1" in page
    assert ready.email in page
    assert waiting.email not in page  # not logged in yet: not offered
    sent = submit(client, "/mypage/handover", {"successor": str(ready.id)})
    assert sent.headers["Location"] == "/mypage/handover/confirm"
    mail = readable(last_mail_to(registrant.email))[0]
    assert "登録者をほかのユーザに引き継ぐ操作を確認する" in mail
    confirm = client.get("/mypage/handover/confirm").text
    assert "職員 1さん" in confirm
    assert f"{registrant.email} にワンタイムパスワード" in confirm

    wrong = submit(
        client, "/mypage/handover/confirm", {"code": "000000", "successor": str(ready.id)}
    )
    assert wrong.status_code == 422
    assert "ワンタイムパスワードが正しくありません" in wrong.text
    assert roles(db)[registrant.email] is True

    done = submit(
        client,
        "/mypage/handover/confirm",
        {"code": otp_of(registrant.email), "successor": str(ready.id)},
    )
    assert done.headers["Location"] == "/mypage"
    assert roles(db) == {registrant.email: False, ready.email: True, waiting.email: False}
    assert (
        last_mail_to(registrant.email).subject == "【介護情報基盤ポータル】登録者を引き継ぎました"
    )
    received = readable(last_mail_to(ready.email))[0]
    assert "佐藤 花子さん" in received
    assert "あなたが引き継ぎました" in received
    event = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "portal.registrant_handed_over")
    ).one()
    assert (event.actor_id, event.target_id) == (registrant.id, str(ready.id))

    # The former registrant is now an added user; the successor can add and disable users.
    after = client.get("/mypage").text
    assert "登録者を職員 1さんに引き継ぎました。" in after
    assert "ユーザ新規登録</a>" not in after
    assert "/mypage/handover" not in after
    assert client.get("/mypage/users/new").status_code == 403
    assert client.get("/mypage/handover").status_code == 403
    successor = signed_in_as(app, ready)
    assert successor.get("/mypage/users/new").status_code == 200
    assert 'href="/mypage/handover"' in successor.get("/mypage").text


def test_only_a_user_of_the_organization_past_the_first_login_can_be_chosen(
    app, office, db
) -> None:
    registrant, client, _ready, waiting = office
    stranger, _ = make_registrant(email="other@care.example.jp", office_number="04A0700017")
    for choice in ("", str(waiting.id), str(stranger.id), str(registrant.id), "x"):
        refused = submit(client, "/mypage/handover", {"successor": choice})
        assert refused.status_code == 422, choice
        assert CHOOSE in refused.text
    assert client.get("/mypage/handover/confirm").headers["Location"] == "/mypage/handover"
    assert roles(db)[registrant.email] is True


def test_a_successor_disabled_before_the_code_is_entered_is_not_made_registrant(
    app, office, db
) -> None:
    registrant, client, ready, _ = office
    submit(client, "/mypage/handover", {"successor": str(ready.id)})
    code = otp_of(registrant.email)
    ready.is_active = False
    db.session.commit()
    moved = submit(
        client,
        "/mypage/handover/confirm",
        {"code": code, "successor": str(ready.id)},
        page_url="/mypage",
    )
    assert moved.headers["Location"] == "/mypage/handover"
    assert roles(db)[registrant.email] is True
    assert roles(db)[ready.email] is False


def test_the_same_code_sent_twice_hands_over_once(app, office, db) -> None:
    registrant, client, ready, _ = office
    submit(client, "/mypage/handover", {"successor": str(ready.id)})
    code = otp_of(registrant.email)
    page = client.get("/mypage/handover/confirm").text
    token = csrf_token(page)
    data = {"csrf_token": token, "code": code, "successor": str(ready.id)}
    first = client.post("/mypage/handover/confirm", data=data)
    again = client.post("/mypage/handover/confirm", data=data)
    assert first.headers["Location"] == "/mypage"
    assert again.headers["Location"] == "/mypage/handover"  # no longer the registrant
    assert roles(db)[registrant.email] is False
    assert roles(db)[ready.email] is True
    handed = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "portal.registrant_handed_over")
    ).all()
    assert len(handed) == 1


def test_an_old_session_gives_the_password_again_before_the_code_is_sent(app, office, db) -> None:
    _registrant, client, ready, _ = office
    later = datetime.now(UTC) + timedelta(minutes=app.config["PORTAL_REAUTH_MINUTES"] + 1)
    with time_machine.travel(later, tick=True):
        asked = submit(client, "/mypage/handover", {"successor": str(ready.id)})
        assert asked.status_code == 422
        assert "＊安全のため、現在のパスワードをもう一度入力してください。" in asked.text
        assert re.search(rf'<input checked[^>]*value="{ready.id}"', asked.text)  # kept
        wrong = submit(client, "/mypage/handover", {"successor": str(ready.id), "password": "nope"})
        assert "＊現在のパスワードが正しくありません。" in wrong.text
        sent = submit(
            client, "/mypage/handover", {"successor": str(ready.id), "password": NEW_PASSWORD}
        )
        assert sent.headers["Location"] == "/mypage/handover/confirm"


def test_a_registrant_with_nobody_to_hand_over_to_is_told_why(app, registrant, db) -> None:
    user, password = registrant
    client = app.test_client()
    full_first_login(client, user, password)
    assert "/mypage/handover" not in client.get("/mypage").text  # nobody to hand over to
    page = client.get("/mypage/handover")
    assert page.status_code == 200
    assert "引き継げるユーザがいません。" in page.text
    refused = submit(client, "/mypage/handover", {"successor": str(user.id)})
    assert refused.status_code == 200
    assert "引き継げるユーザがいません。" in refused.text


def test_the_confirmation_hands_over_to_the_user_it_shows_only(app, office, db) -> None:
    """A second tab that chose someone else meanwhile does not change what the first tab confirms."""
    registrant, client, ready, _ = office
    submit(client, "/mypage/handover", {"successor": str(ready.id)})
    page = client.get("/mypage/handover/confirm").text
    token = csrf_token(page)
    code = otp_of(registrant.email)
    shown = client.post(
        "/mypage/handover/confirm",
        data={"csrf_token": token, "code": code, "successor": str(ready.id + 1000)},
    )
    assert shown.headers["Location"] == "/mypage/handover"
    assert roles(db)[registrant.email] is True
    assert roles(db)[ready.email] is False
