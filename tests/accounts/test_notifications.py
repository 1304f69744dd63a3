"""Notices after a change to an account (password, email address, users added or disabled): who gets
them, what they say, that they hold no secret, and that each is queued in the change's own transaction;
and the new session key after a password change."""

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.orm import Session

from backoffice.accounts.models import PortalSession, PortalUser
from backoffice.accounts.operator_actions import operator_set_user_state
from backoffice.accounts.users import SESSIONS
from backoffice.accounts.views import SESSION_KEY
from backoffice.display import format_datetime
from backoffice.mail.models import OutboundEmail
from backoffice.sessions import hash_key
from tests.builders.accounts import (
    NEW_PASSWORD,
    enter_otp,
    full_first_login,
    initial_password_of,
    last_mail_to,
    let_otp_cooldown_pass,
    login,
    otp_of,
    submit,
)

OTHER_PASSWORD = "aki-no-yoru-no-tsuki-2027"
OPERATOR = {"actor_type": "operator", "actor_id": 1, "actor_label": "ops@kaigo-portal.example.jp"}
HELPDESK = ("介護情報基盤ポータル お問い合わせ窓口", "受付時間：平日 9時00分〜17時00分")
# The only pages a notice may link to: none of them carries a token.
TOKEN_FREE_PAGES = {"/password/forgot", "/inquiry", "/login", "/mypage"}

PASSWORD_CHANGED = "【介護情報基盤ポータル】パスワードが変更されました"
EMAIL_CHANGED = "【介護情報基盤ポータル】メールアドレス（ID）が変更されました"
USER_ADDED = "【介護情報基盤ポータル】ユーザが追加されました"
ACCOUNT_DISABLED = "【介護情報基盤ポータル】アカウントが無効になりました"
USER_DISABLED = "【介護情報基盤ポータル】ユーザが無効になりました"


def assert_no_secret(mail: OutboundEmail, *secrets: str) -> None:
    """Stored in clear (nothing to seal), and neither body holds a password, a 6-digit code, a
    status-page link or any link but the token-free pages."""
    assert not mail.contains_secret
    for body in (mail.body_text, mail.body_html):
        for secret in secrets:
            assert secret not in body
        assert not re.search(r"(?<!\d)\d{6}(?!\d)", body), body
        assert "/inquiry/status/" not in body
        assert "token" not in body.lower()
        for url in re.findall(r"https?://[^\s\"<>]+", body):
            parts = urlsplit(url)
            assert parts.path in TOKEN_FREE_PAGES, url
            assert not parts.query, url


def mails_to(db, address: str, subject: str) -> list[OutboundEmail]:
    return list(
        db.session.scalars(
            sa.select(OutboundEmail).where(
                OutboundEmail.to_address == address, OutboundEmail.subject == subject
            )
        )
    )


@contextmanager
def commits(
    db, state: Callable[[Session], Any]
) -> Iterator[list[tuple[Any, list[tuple[str, str]]]]]:
    """Every commit inside the block, read just before it happens and inside its transaction: what
    `state` reads then, and the mails (to, subject) that transaction adds."""
    seen: list[tuple[Any, list[tuple[str, str]]]] = []
    known = set(db.session.scalars(sa.select(OutboundEmail.id)))

    def probe(session: Session) -> None:
        rows = session.execute(
            sa.select(OutboundEmail.id, OutboundEmail.to_address, OutboundEmail.subject)
        ).all()
        seen.append(
            (state(session), [(r.to_address, r.subject) for r in rows if r.id not in known])
        )
        known.update(r.id for r in rows)

    sa.event.listen(Session, "before_commit", probe)
    try:
        yield seen
    finally:
        sa.event.remove(Session, "before_commit", probe)


def queued_with_the_change(seen, changed: Callable[[Any], bool], *mails: tuple[str, str]) -> None:
    """The first commit whose state shows the change adds `mails`, and no commit before it does."""
    index = next(i for i, (state, _) in enumerate(seen) if changed(state))
    for mail in mails:
        assert mail in seen[index][1], (mail, seen)
        assert all(mail not in added for _, added in seen[:index]), (mail, seen)


def column_of(user: PortalUser, column: Any) -> Callable[[Session], Any]:
    return lambda session: session.scalar(sa.select(column).where(PortalUser.id == user.id))


def change(client, current: str, new: str):
    return submit(client, "/password/change", {"current": current, "new": new, "confirm": new})


def session_key(client) -> str:
    with client.session_transaction() as s:
        return s[SESSION_KEY]


def with_key(app, key: str):
    client = app.test_client()
    with client.session_transaction() as s:
        s[SESSION_KEY] = key
    return client


def add_staff(client, n: int = 1):
    return submit(
        client,
        "/mypage/users/new",
        {
            "name": f"職員 {n}",
            "name_kana": "しょくいん",
            "email": f"staff{n}@clinic.example.jp",
            "email_confirm": f"staff{n}@clinic.example.jp",
            "phone": "03-1234-5678",
            "department": "看護部",
        },
    )


def test_a_password_change_tells_the_user_when_and_what_to_do_without_the_password(
    client, registrant, db
) -> None:
    user, initial = registrant
    full_first_login(client, user, initial)
    old_hash = user.password_hash
    wrong = change(client, "not the password at all", OTHER_PASSWORD)
    assert wrong.status_code == 422
    assert mails_to(db, user.email, PASSWORD_CHANGED) == []  # a refused change queues nothing
    with commits(db, column_of(user, PortalUser.password_hash)) as seen:
        assert change(client, NEW_PASSWORD, OTHER_PASSWORD).headers["Location"] == "/mypage"
    queued_with_the_change(seen, lambda hash_: hash_ != old_hash, (user.email, PASSWORD_CHANGED))
    [mail] = mails_to(db, user.email, PASSWORD_CHANGED)
    db.session.refresh(user)
    assert f"変更日時：{format_datetime(user.password_changed_at)}" in mail.body_text  # JST
    assert "パスワード変更の画面" in mail.body_text
    assert "お心当たりがない場合" in mail.body_text
    assert "http://localhost/password/forgot" in mail.body_text
    assert 'href="http://localhost/password/forgot"' in mail.body_html
    for line in HELPDESK:
        assert line in mail.body_text
    assert_no_secret(mail, OTHER_PASSWORD, NEW_PASSWORD, initial)


def test_the_first_login_change_from_the_initial_password_mails_no_notice(
    client, registrant, db
) -> None:
    user, initial = registrant
    full_first_login(client, user, initial)
    assert mails_to(db, user.email, PASSWORD_CHANGED) == []


def test_a_password_reset_tells_the_user_without_the_password_or_the_code(
    app, client, registrant, db
) -> None:
    user, initial = registrant
    submit(client, "/password/forgot", {"email": user.email})
    code = otp_of(user.email)
    wrong_code = "000000" if code != "000000" else "111111"
    refused = submit(
        client,
        "/password/reset",
        {"code": wrong_code, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert refused.status_code == 422
    assert mails_to(db, user.email, PASSWORD_CHANGED) == []  # a refused reset queues nothing
    old_hash = user.password_hash
    with commits(db, column_of(user, PortalUser.password_hash)) as seen:
        done = submit(
            client, "/password/reset", {"code": code, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD}
        )
    assert done.headers["Location"] == "/login"
    queued_with_the_change(seen, lambda hash_: hash_ != old_hash, (user.email, PASSWORD_CHANGED))
    [mail] = mails_to(db, user.email, PASSWORD_CHANGED)
    db.session.refresh(user)
    assert f"変更日時：{format_datetime(user.password_changed_at)}" in mail.body_text
    assert "「パスワードを忘れた方」からの再設定" in mail.body_text
    assert "http://localhost/password/forgot" in mail.body_text
    for line in HELPDESK:
        assert line in mail.body_text
    assert_no_secret(mail, NEW_PASSWORD, initial, code)


def test_an_email_change_tells_the_old_and_the_new_address(app, client, registrant, db) -> None:
    user, initial = registrant
    full_first_login(client, user, initial)
    old, new = user.email, "new@clinic.example.jp"
    submit(
        client,
        "/mypage/email",
        {"email": new, "email_confirm": new, "password": NEW_PASSWORD},
    )
    code = otp_of(new)
    wrong_code = "000000" if code != "000000" else "111111"
    assert submit(client, "/mypage/email/confirm", {"code": wrong_code}).status_code == 422
    assert mails_to(db, new, EMAIL_CHANGED) == []  # a refused code queues nothing
    with commits(db, column_of(user, PortalUser.email)) as seen:
        done = submit(client, "/mypage/email/confirm", {"code": code})
    assert done.headers["Location"] == "/mypage"
    queued_with_the_change(
        seen, lambda email: email == new, (old, EMAIL_CHANGED), (new, EMAIL_CHANGED)
    )
    [to_new] = mails_to(db, new, EMAIL_CHANGED)
    assert "このメールアドレスに変更しました" in to_new.body_text
    assert f"新しいメールアドレス（ID）：{new}" in to_new.body_text
    assert "変更日時：" in to_new.body_text
    for line in HELPDESK:
        assert line in to_new.body_text
    [to_old] = mails_to(db, old, EMAIL_CHANGED)
    for mail in (to_new, to_old):
        assert_no_secret(mail, NEW_PASSWORD, initial, code)


def test_adding_a_user_tells_the_registrant_who_was_added(app, client, registrant, db) -> None:
    user, initial = registrant
    full_first_login(client, user, initial)
    count = db.session.scalar(sa.select(sa.func.count()).select_from(PortalUser))
    with commits(
        db, lambda s: s.scalar(sa.select(sa.func.count()).select_from(PortalUser))
    ) as seen:
        assert add_staff(client).status_code == 302
    staff = db.session.scalars(
        sa.select(PortalUser).where(PortalUser.email == "staff1@clinic.example.jp")
    ).one()
    queued_with_the_change(seen, lambda n: n > count, (user.email, USER_ADDED))
    assert last_mail_to(staff.email).contains_secret  # the initial password, to the new user only
    staff_initial = initial_password_of(staff)
    [notice] = mails_to(db, user.email, USER_ADDED)
    assert "氏名：職員 1" in notice.body_text
    assert "ID（メールアドレス）：staff1@clinic.example.jp" in notice.body_text
    assert "追加日時：" in notice.body_text
    assert "http://localhost/mypage" in notice.body_text
    for line in HELPDESK:
        assert line in notice.body_text
    assert_no_secret(notice, staff_initial, NEW_PASSWORD, initial)
    # An address already in use adds nobody and tells nobody.
    assert add_staff(client).status_code == 422
    assert len(mails_to(db, user.email, USER_ADDED)) == 1


def test_disabling_a_user_from_mypage_tells_the_user_and_the_registrant(
    app, client, registrant, db
) -> None:
    user, initial = registrant
    full_first_login(client, user, initial)
    add_staff(client)
    staff = db.session.scalars(
        sa.select(PortalUser).where(PortalUser.email == "staff1@clinic.example.jp")
    ).one()
    staff_initial = initial_password_of(staff)
    with commits(db, column_of(staff, PortalUser.is_active)) as seen:
        submit(client, f"/mypage/users/{staff.id}/disable", {}, page_url="/mypage")
    queued_with_the_change(
        seen,
        lambda active: not active,
        (staff.email, ACCOUNT_DISABLED),
        (user.email, USER_DISABLED),
    )
    [to_staff] = mails_to(db, staff.email, ACCOUNT_DISABLED)
    assert "さくら在宅クリニックの登録者の方が" in to_staff.body_text
    assert "ログインできなくなりました" in to_staff.body_text
    assert "無効にした日時：" in to_staff.body_text
    [to_registrant] = mails_to(db, user.email, USER_DISABLED)
    assert "マイページの操作で" in to_registrant.body_text
    assert "氏名：職員 1" in to_registrant.body_text
    assert "ID（メールアドレス）：staff1@clinic.example.jp" in to_registrant.body_text
    for mail in (to_staff, to_registrant):
        for line in HELPDESK:
            assert line in mail.body_text
        assert_no_secret(mail, staff_initial, NEW_PASSWORD, initial)
    # Disabling again changes nothing and tells nobody again.
    submit(client, f"/mypage/users/{staff.id}/disable", {}, page_url="/mypage")
    assert len(mails_to(db, staff.email, ACCOUNT_DISABLED)) == 1


def test_an_operator_disabling_a_user_tells_the_user_and_the_registrant(
    app, client, registrant, db
) -> None:
    user, initial = registrant
    full_first_login(client, user, initial)
    add_staff(client)
    staff = db.session.scalars(
        sa.select(PortalUser).where(PortalUser.email == "staff1@clinic.example.jp")
    ).one()
    staff_initial = initial_password_of(staff)
    # As the back office's action runs it: in a request (links are built from PUBLIC_URL there).
    with app.test_request_context(), commits(db, column_of(staff, PortalUser.is_active)) as seen:
        operator_set_user_state(staff, OPERATOR, active=False)
    queued_with_the_change(
        seen,
        lambda active: not active,
        (staff.email, ACCOUNT_DISABLED),
        (user.email, USER_DISABLED),
    )
    [to_staff] = mails_to(db, staff.email, ACCOUNT_DISABLED)
    assert "運営担当者が" in to_staff.body_text
    [to_registrant] = mails_to(db, user.email, USER_DISABLED)
    assert "運営担当者が" in to_registrant.body_text
    assert "ID（メールアドレス）：staff1@clinic.example.jp" in to_registrant.body_text
    for mail in (to_staff, to_registrant):
        assert_no_secret(mail, staff_initial, NEW_PASSWORD, initial)
    # Locking is not disabling, and an already disabled user is not told twice.
    with app.test_request_context():
        operator_set_user_state(staff, OPERATOR, locked=True, active=False)
    assert len(mails_to(db, staff.email, ACCOUNT_DISABLED)) == 1
    # The registrant disabled: one notice, to them.
    with app.test_request_context():
        operator_set_user_state(user, OPERATOR, active=False)
    assert len(mails_to(db, user.email, ACCOUNT_DISABLED)) == 1
    assert len(mails_to(db, user.email, USER_DISABLED)) == 1


def test_a_password_change_moves_the_browser_to_a_new_session_key(
    app, client, registrant, db
) -> None:
    user, initial = registrant
    # The first-login change, from the initial password.
    login(client, user.email, initial)
    enter_otp(client, otp_of(user.email))
    before = session_key(client)
    assert change(client, initial, NEW_PASSWORD).headers["Location"] == "/terms"
    after = session_key(client)
    assert after != before
    assert SESSIONS.load(before) is None
    assert SESSIONS.load(after) is user
    submit(client, "/terms", {"agree": "y", "decision": "agree"})
    # A later change, with another browser signed in.
    let_otp_cooldown_pass()
    elsewhere = app.test_client()
    login(elsewhere, user.email, NEW_PASSWORD)
    enter_otp(elsewhere, otp_of(user.email))
    before = session_key(client)
    assert change(client, NEW_PASSWORD, OTHER_PASSWORD).headers["Location"] == "/mypage"
    after = session_key(client)
    assert after != before
    assert SESSIONS.load(before) is None
    assert SESSIONS.load(after) is user
    assert client.get("/mypage").status_code == 200  # still signed in, under the new key
    assert with_key(app, before).get("/mypage").headers["Location"] == "/login"
    assert elsewhere.get("/mypage").headers["Location"] == "/login"  # the other sessions end
    # The absolute limit still counts from the login: the new key does not lengthen the sign-in.
    rows = {
        row.key_hash: row
        for row in db.session.scalars(sa.select(PortalSession).where(PortalSession.owner == user))
    }
    assert rows[hash_key(after)].created_at == rows[hash_key(before)].created_at
    assert rows[hash_key(before)].revoked_at is not None
