"""マイページ「ユーザ新規登録」: at most 4 users besides the registrant, also under concurrent adds."""

import threading

import pytest
import sqlalchemy as sa

from backoffice.accounts import first_login, members
from backoffice.accounts.errors import UserLimitReached
from backoffice.accounts.models import PortalUser
from backoffice.accounts.users import UserDetails
from backoffice.audit.models import AuditEvent
from backoffice.mail.outbox import readable
from tests.builders.accounts import (
    full_first_login,
    initial_password_of,
    last_mail_to,
    make_registrant,
    submit,
)


def user_input(n: int, **overrides: str) -> dict[str, str]:
    data = {
        "name": f"職員 {n}",
        "name_kana": "しょくいん",
        "email": f"staff{n}@clinic.example.jp",
        "email_confirm": f"staff{n}@clinic.example.jp",
        "phone": "03-1234-5678",
        "department": "看護部",
    }
    data.update(overrides)
    return data


@pytest.fixture
def ready_registrant(app, registrant, db):
    """A registrant who has finished the first login (password, terms)."""
    user, password = registrant
    client = app.test_client()
    full_first_login(client, user, password)
    return user, client


def test_registrant_adds_four_users_and_the_fifth_is_refused(ready_registrant, db) -> None:
    _user, client = ready_registrant
    assert "ユーザはあと4名追加できます（最大で4名）。" in client.get("/mypage").text
    for n in range(1, 5):
        page = client.get("/mypage/users/new")
        assert f"あと{5 - n}名追加できます" in page.text
        response = submit(client, "/mypage/users/new", user_input(n))
        assert response.status_code == 302, response.text
    mypage = client.get("/mypage").text
    assert "すでに4名が登録されています" in mypage
    assert "ユーザ新規登録</a>" not in mypage
    fifth = submit(client, "/mypage/users/new", user_input(5))
    assert fifth.status_code == 302
    assert "追加できるユーザは最大4名です" in client.get("/mypage").text
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PortalUser)) == 5
    added = [
        e for e in db.session.scalars(sa.select(AuditEvent.action)) if e == "portal.user_added"
    ]
    assert len(added) == 4


def test_new_user_gets_their_own_initial_password_never_shown_to_the_registrant(
    ready_registrant, db
) -> None:
    user, client = ready_registrant
    response = submit(client, "/mypage/users/new", user_input(1))
    page = client.get(response.headers["Location"])
    new_user = db.session.scalars(
        sa.select(PortalUser).where(PortalUser.email == "staff1@clinic.example.jp")
    ).one()
    password = initial_password_of(new_user)
    assert password not in page.text
    assert "staff1@clinic.example.jp に初期パスワードをお送りしました" in page.text
    mail = last_mail_to(new_user.email)
    assert "初期パスワードの有効期限" in readable(mail)[0]
    assert "お問い合わせフォームから" not in readable(mail)[0]  # added users ask their registrant
    assert new_user.must_change_password
    assert new_user.organization_id == user.organization_id
    assert new_user.name_kana == "ショクイン"


def test_added_user_goes_through_the_first_login_but_cannot_add_users(
    app, ready_registrant, db
) -> None:
    _user, client = ready_registrant
    submit(client, "/mypage/users/new", user_input(1))
    new_user = db.session.scalars(
        sa.select(PortalUser).where(PortalUser.email == "staff1@clinic.example.jp")
    ).one()
    other = app.test_client()
    full_first_login(other, new_user, initial_password_of(new_user))
    mypage = other.get("/mypage").text
    assert "職員 1" in mypage
    assert "ユーザ新規登録</a>" not in mypage
    assert other.get("/mypage/users/new").status_code == 403


def test_add_user_validation_keeps_what_was_typed(ready_registrant) -> None:
    _, client = ready_registrant
    response = submit(
        client,
        "/mypage/users/new",
        user_input(1, email="taken@", email_confirm="other@clinic.example.jp", name_kana="山田"),
    )
    assert response.status_code == 422
    assert "＊氏名（フリガナ）はカタカナで入力してください。" in response.text
    assert "＊メールアドレスの形式が正しくありません" in response.text
    assert 'value="taken@"' in response.text


def test_email_in_use_is_refused(ready_registrant, db) -> None:
    user, client = ready_registrant
    response = submit(
        client,
        "/mypage/users/new",
        user_input(1, email=user.email.upper(), email_confirm=user.email),
    )
    assert response.status_code == 422
    assert "すでにほかのユーザが使っています" in response.text


def test_organizations_see_only_their_own_users(app, ready_registrant, db) -> None:
    user, client = ready_registrant
    submit(client, "/mypage/users/new", user_input(1))
    other, password = make_registrant(email="boss@care.example.jp", office_number="04A0700017")
    other_client = app.test_client()
    full_first_login(other_client, other, password)
    page = other_client.get("/mypage").text
    assert "boss@care.example.jp" in page
    assert user.email not in page
    assert "staff1@clinic.example.jp" not in page


def test_ten_concurrent_adds_end_with_four_users(app, registrant, db, database_url) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip(
            "the concurrency guarantee is PostgreSQL's row lock; SQLite serialises writers anyway"
        )
    user, _ = registrant
    user.must_change_password = False
    db.session.commit()
    from backoffice.accounts.models import TermsVersion

    terms = db.session.scalars(sa.select(TermsVersion)).one()
    first_login.accept_terms(user, terms)
    user_id = user.id
    barrier = threading.Barrier(10)
    outcomes: list[str] = []

    def add(n: int) -> None:
        with app.app_context():
            registrant_user = db.session.get(PortalUser, user_id)
            barrier.wait()
            try:
                members.add_user(
                    registrant_user,
                    UserDetails(
                        name=f"職員{n}",
                        name_kana="ショクイン",
                        email=f"race{n}@clinic.example.jp",
                        phone="0312345678",
                        department=None,
                    ),
                )
                outcomes.append("added")
            except UserLimitReached:
                outcomes.append("refused")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=add, args=(n,)) for n in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["added"] * 4 + ["refused"] * 6
    db.session.expire_all()
    added = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(PortalUser)
        .where(PortalUser.is_registrant.is_(False))
    )
    assert added == 4


def test_checklist_ticks_what_is_really_done(app, registrant, db) -> None:
    user, password = registrant
    client = app.test_client()
    full_first_login(client, user, password)
    page = client.get("/mypage").text
    assert "☑</span>\n      <span>ログイン・ワンタイムパスワード認証" in page
    assert "☑</span>\n      <span>パスワード変更・利用規約同意" in page
    assert (
        "☐</span>\n      <span>ユーザ新規登録（マイページ作成）"
        '<span class="marker marker--optional">※任意</span>' in page
    )
    # Needing no other users, the office is ready: the optional step does not hold the list open.
    assert "利用開始までの手続きはすべて完了しています" in page
    submit(client, "/mypage/users/new", user_input(1))
    assert "☑</span>\n      <span>ユーザ新規登録（マイページ作成）" in client.get("/mypage").text


def test_checklist_is_not_complete_while_a_required_step_is_open(db) -> None:
    from backoffice.accounts.checklist import checklist, complete

    user, _ = make_registrant()
    steps = checklist(user.organization)
    assert [s.optional for s in steps] == [False, False, False, True]
    assert not complete(steps)  # the password is not changed yet
    user.first_login_at = user.password_changed_at = user.terms_accepted_at = user.created_at
    assert complete(checklist(user.organization))


def test_checklist_of_a_care_office_follows_its_flow(db) -> None:
    from backoffice.accounts.checklist import checklist
    from backoffice.accounts.models import OrganizationKind

    user, _ = make_registrant(
        email="boss@care.example.jp", office_number="04A0700017", kind=OrganizationKind.CARE
    )
    steps = checklist(user.organization)
    assert [s.done for s in steps] == [False, False, True, False, False]
    user.organization.eclaims_id = "KJ123456789012"
    assert [s.done for s in checklist(user.organization)][:2] == [True, True]


def test_disabling_a_user_ends_their_sessions_and_frees_the_place(
    app, ready_registrant, db
) -> None:
    _user, client = ready_registrant
    for n in range(1, 5):
        submit(client, "/mypage/users/new", user_input(n))
    staff = db.session.scalars(
        sa.select(PortalUser).where(PortalUser.email == "staff1@clinic.example.jp")
    ).one()
    staff_client = app.test_client()
    full_first_login(staff_client, staff, initial_password_of(staff))
    assert staff_client.get("/mypage").status_code == 200
    response = submit(client, f"/mypage/users/{staff.id}/disable", {}, page_url="/mypage")
    assert response.status_code == 302
    assert staff_client.get("/mypage").headers["Location"] == "/login"
    assert "ユーザはあと1名追加できます" in client.get("/mypage").text
    assert submit(client, "/mypage/users/new", user_input(9)).status_code == 302


def test_resending_an_initial_password_replaces_the_old_one(app, ready_registrant, db) -> None:
    _, client = ready_registrant
    submit(client, "/mypage/users/new", user_input(1))
    staff = db.session.scalars(
        sa.select(PortalUser).where(PortalUser.email == "staff1@clinic.example.jp")
    ).one()
    old = initial_password_of(staff)
    submit(client, f"/mypage/users/{staff.id}/resend", {}, page_url="/mypage")
    new = initial_password_of(staff)
    assert new != old
    from tests.builders.accounts import login

    assert "正しくありません" in login(app.test_client(), staff.email, old).text
    assert login(app.test_client(), staff.email, new).status_code == 302


def test_another_organizations_users_cannot_be_reached_by_changing_ids(
    app, ready_registrant, db
) -> None:
    _, client = ready_registrant
    submit(client, "/mypage/users/new", user_input(1))
    staff = db.session.scalars(
        sa.select(PortalUser).where(PortalUser.email == "staff1@clinic.example.jp")
    ).one()
    intruder, password = make_registrant(email="boss@care.example.jp", office_number="04A0700017")
    intruder_client = app.test_client()
    full_first_login(intruder_client, intruder, password)
    for action in ("disable", "resend"):
        response = submit(
            intruder_client, f"/mypage/users/{staff.id}/{action}", {}, page_url="/mypage"
        )
        assert response.status_code == 404, action
        unknown = submit(intruder_client, f"/mypage/users/999999/{action}", {}, page_url="/mypage")
        assert unknown.status_code == 404
    db.session.refresh(staff)
    assert staff.is_active
    # Added users cannot act on their colleagues either.
    staff_client = app.test_client()
    full_first_login(staff_client, staff, initial_password_of(staff))
    registrant_id = db.session.scalars(
        sa.select(PortalUser.id).where(
            PortalUser.is_registrant, PortalUser.organization_id == staff.organization_id
        )
    ).one()
    refused = submit(staff_client, f"/mypage/users/{registrant_id}/disable", {}, page_url="/mypage")
    assert refused.status_code == 302
    assert "登録者の方だけです" in staff_client.get("/mypage").text
