"""「アカウント発行」 from ID-issuance tickets: review, duplicates, issue once, reject, merge, and the
operators' account tools."""

import re
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from backoffice.accounts import issuance, members, operator_actions
from backoffice.accounts.errors import UserLimitReached
from backoffice.accounts.models import Organization, PortalUser
from backoffice.accounts.users import UserDetails
from backoffice.audit.models import AuditEvent
from backoffice.db import utcnow
from backoffice.inquiries.models import Inquiry
from backoffice.inquiries.vocabulary import EventKind, InquiryStatus
from backoffice.operators.models import Role
from backoffice.operators.operations import OperatorActor
from tests.builders.accounts import (
    NEW_PASSWORD,
    full_first_login,
    initial_password_of,
    login,
    make_registrant,
    publish_terms,
    signed_in_as,
)
from tests.builders.inquiries import account_request_input, seed_tree, send
from tests.builders.operators import make_operator
from tests.builders.web import csrf_token


@pytest.fixture
def account_request(client, db) -> Inquiry:
    seed_tree()
    publish_terms()
    send(client, account_request_input())
    return db.session.scalars(sa.select(Inquiry)).one()


def issue_via_page(operator_client, inquiry: Inquiry, **overrides: str):
    page = operator_client.get(f"/admin/tickets/{inquiry.id}/issue/")
    fields = dict(re.findall(r'<input[^>]*id="(\w+)"[^>]*value="([^"]*)"', page.text))
    data = {
        k: fields.get(k, "")
        for k in (
            "medical_code",
            "institution_name",
            "institution_kana",
            "postal_code",
            "address",
            "name",
            "name_kana",
            "email",
            "phone",
            "department",
        )
    }
    data.update(overrides)
    return operator_client.post(
        f"/admin/tickets/{inquiry.id}/issue/", data={"csrf_token": csrf_token(page.text), **data}
    )


def smtp_text(server, address: str, subject: str) -> str:
    """The text of the newest message to `address` whose subject contains `subject`."""
    message = [m for m in server.messages if m["To"] == address and subject in m["Subject"]][-1]
    return server.text_of(message)


@pytest.mark.live_smtp
def test_the_whole_medical_institution_flow_through_pages_and_real_mail(
    app, client, signed_in, account_request, db, smtp_server
) -> None:
    operator = signed_in(Role.AGENT)
    ticket_page = operator.get(f"/admin/tickets/{account_request.id}/")
    assert "アカウント発行</a>" in ticket_page.text
    review = operator.get(f"/admin/tickets/{account_request.id}/issue/")
    assert 'value="0110113719"' in review.text  # pre-filled from the inquiry
    response = issue_via_page(operator, account_request)
    assert response.status_code == 302, response.text
    response.close()  # mail goes out once the response has
    email = "sato@sakura-clinic.example.jp"
    mail = smtp_text(smtp_server, email, "初期パスワード")
    password = re.search(r"^初期パスワード：(\S+)$", mail, re.M).group(1)
    assert f"ID（メールアドレス）：{email}" in mail
    assert "初期パスワードの有効期限：" in mail
    assert "http://localhost/login" in mail
    assert "ワンタイムパスワード" in mail
    assert "最大で4名" in mail
    requester_mails = [
        smtp_server.text_of(m) for m in smtp_server.messages if "回答" in m["Subject"]
    ]
    assert any("アカウントを発行しました" in t and password not in t for t in requester_mails)
    db.session.refresh(account_request)
    assert account_request.status is InquiryStatus.RESOLVED
    assert EventKind.ACCOUNT_ISSUED in [e.kind for e in account_request.events]

    portal = app.test_client()

    def otp_from_smtp() -> str:
        return re.search(
            r"^(\d{6})$", smtp_text(smtp_server, email, "ワンタイムパスワード"), re.M
        ).group(1)

    page = portal.get("/login")
    r = portal.post(
        "/login", data={"csrf_token": csrf_token(page.text), "email": email, "password": password}
    )
    r.close()
    page = portal.get("/login/otp")
    r = portal.post(
        "/login/otp", data={"csrf_token": csrf_token(page.text), "code": otp_from_smtp()}
    )
    assert r.headers["Location"] == "/password/change"
    page = portal.get("/password/change")
    portal.post(
        "/password/change",
        data={
            "csrf_token": csrf_token(page.text),
            "current": password,
            "new": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
        },
    )
    page = portal.get("/terms")
    assert (
        portal.post(
            "/terms", data={"csrf_token": csrf_token(page.text), "agree": "y", "decision": "agree"}
        ).headers["Location"]
        == "/mypage"
    )
    assert "さくら在宅クリニック" in portal.get("/mypage").text
    for n in range(1, 6):
        page = portal.get("/mypage/users/new")
        r = portal.post(
            "/mypage/users/new",
            data={
                "csrf_token": csrf_token(page.text),
                "name": f"職員 {n}",
                "name_kana": "ショクイン",
                "email": f"staff{n}@sakura-clinic.example.jp",
                "email_confirm": f"staff{n}@sakura-clinic.example.jp",
                "phone": "0312345678",
                "department": "",
            },
        )
        r.close()
    assert "追加できるユーザは最大4名です" in portal.get("/mypage").text
    assert {m["To"] for m in smtp_server.messages} >= {
        f"staff{n}@sakura-clinic.example.jp" for n in range(1, 5)
    }
    assert "staff5@sakura-clinic.example.jp" not in {m["To"] for m in smtp_server.messages}


def test_issuing_twice_makes_one_account(signed_in, account_request, db) -> None:
    operator = signed_in(Role.AGENT)
    assert issue_via_page(operator, account_request).status_code == 302
    again = issue_via_page(operator, account_request)
    assert again.status_code == 409
    assert "すでに発行されています" in again.text
    assert (
        '発行済み：<a href="/admin/organizations/?search=0110113719">さくら在宅クリニック'
        in again.text
    )
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Organization)) == 1


def test_two_operators_at_once_make_one_account(app, account_request, db, database_url) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("the race is decided by PostgreSQL's unique index under concurrency")
    actors = [
        OperatorActor.of(make_operator(Role.AGENT, email=f"op{i}@ops.example.jp")) for i in range(2)
    ]
    details = account_request.account_request
    data = issuance.IssuanceInput(
        medical_code=details.medical_code,
        institution_name=details.institution_name,
        institution_kana=details.institution_kana,
        postal_code=details.postal_code,
        address=details.address,
        name=account_request.requester_name,
        name_kana=account_request.requester_kana,
        email=account_request.email,
        phone=account_request.phone,
        department=None,
    )
    ticket_id = account_request.id
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def issue(actor: OperatorActor) -> None:
        with app.app_context():
            barrier.wait()
            try:
                issuance.issue_account(ticket_id, data, actor, check_digit_acknowledged=False)
                outcomes.append("issued")
            except issuance.AlreadyIssued:
                outcomes.append("already")
            except Exception as error:
                outcomes.append(repr(error))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=issue, args=(a,)) for a in actors]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["already", "issued"]
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Organization)) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PortalUser)) == 1


def test_duplicates_are_shown_before_anything_is_created(
    app, client, signed_in, account_request, db
) -> None:
    existing, _ = make_registrant(email="boss@sakura-clinic.example.jp", office_number="0110113719")
    send(
        client,
        account_request_input(
            email="other@sakura-clinic.example.jp", email_confirm="other@sakura-clinic.example.jp"
        ),
    )
    second = db.session.scalars(sa.select(Inquiry).order_by(Inquiry.id.desc())).first()
    operator = signed_in(Role.AGENT)
    review = operator.get(f"/admin/tickets/{account_request.id}/issue/").text
    assert "この医療機関コードのアカウントは発行済みです" in review
    assert "b***@s***.example.jp" in review  # the registrant, masked
    assert existing.email not in review
    assert second.reference_number in review
    refused = issue_via_page(operator, account_request)
    assert refused.status_code == 409
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PortalUser)) == 1
    # The open duplicate request can be merged into this inquiry.
    token = csrf_token(review)
    operator.post(
        f"/admin/tickets/{account_request.id}/merge/{second.id}/", data={"csrf_token": token}
    )
    db.session.refresh(second)
    assert second.status is InquiryStatus.RESOLVED
    assert any(account_request.reference_number in (e.body or "") for e in second.events)


def test_email_already_in_use_is_refused_on_the_field(signed_in, account_request, db) -> None:
    make_registrant(email="sato@sakura-clinic.example.jp", office_number="0110112489")
    operator = signed_in(Role.AGENT)
    review = operator.get(f"/admin/tickets/{account_request.id}/issue/").text
    assert "このメールアドレスは、すでにほかのユーザが使っています：" in review
    assert "/admin/portal_users/?search=sato@sakura-clinic.example.jp" in review
    response = issue_via_page(operator, account_request)
    assert response.status_code == 422
    assert "すでにほかのユーザが使っています" in response.text
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Organization)) == 1


def test_failing_check_digit_must_be_acknowledged(client, signed_in, db) -> None:
    seed_tree()
    send(client, account_request_input(medical_code="0110113710"))
    inquiry = db.session.scalars(sa.select(Inquiry)).one()
    operator = signed_in(Role.AGENT)
    refused = issue_via_page(operator, inquiry)
    assert refused.status_code == 422
    assert "検証番号の不一致を確認した" in refused.text
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Organization)) == 0
    assert issue_via_page(operator, inquiry, acknowledge_check_digit="y").status_code == 302
    assert db.session.scalars(sa.select(Organization.office_number)).one() == "0110113710"


def test_operator_can_correct_fields_with_the_same_validation(
    signed_in, account_request, db
) -> None:
    operator = signed_in(Role.AGENT)
    bad = issue_via_page(operator, account_request, phone="12", institution_kana="漢字")
    assert bad.status_code == 422
    assert "＊電話番号は0から始まる10桁または11桁の数字で入力してください。" in bad.text
    assert "＊医療機関名（フリガナ）はカタカナで入力してください。" in bad.text
    good = issue_via_page(
        operator,
        account_request,
        institution_name="さくら在宅クリニック分院",
        phone="０３－９８７６－５４３２",
    )
    assert good.status_code == 302
    organization = db.session.scalars(sa.select(Organization)).one()
    assert organization.name == "さくら在宅クリニック分院"
    assert organization.users[0].phone == "0398765432"


def test_rejection_is_mailed_with_the_reason(signed_in, account_request, db) -> None:
    from backoffice.mail.models import OutboundEmail
    from backoffice.mail.outbox import readable

    operator = signed_in(Role.AGENT)
    page = operator.get(f"/admin/tickets/{account_request.id}/issue/")
    response = operator.post(
        f"/admin/tickets/{account_request.id}/reject/",
        data={
            "csrf_token": csrf_token(page.text),
            "body": "医療機関コードを確認できませんでした。",
        },
    )
    assert response.status_code == 302
    db.session.refresh(account_request)
    assert account_request.status is InquiryStatus.REJECTED
    mail = db.session.scalars(sa.select(OutboundEmail).order_by(OutboundEmail.id.desc())).first()
    assert mail.to_address == account_request.email
    assert "医療機関コードを確認できませんでした。" in readable(mail)[0]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Organization)) == 0
    # The reason reached the requester: the request is answered (it no longer counts as 未回答 if reopened).
    assert account_request.first_response_at is not None
    history = [e.kind for e in account_request.events]
    assert history[-2:] == [EventKind.PUBLIC_REPLY, EventKind.STATUS_CHANGED]


def test_viewer_cannot_issue(signed_in, account_request) -> None:
    viewer = signed_in(Role.VIEWER)
    assert viewer.get(f"/admin/tickets/{account_request.id}/issue/").status_code == 403
    assert "アカウント発行</a>" not in viewer.get(f"/admin/tickets/{account_request.id}/").text


def test_reissue_after_expiry_and_disabling_ends_sessions(app, signed_in, db) -> None:
    publish_terms()
    user, old_password = make_registrant()
    user.initial_password_expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert "有効期限が切れています" in login(app.test_client(), user.email, old_password).text
    operator = signed_in(Role.AGENT)
    token = csrf_token(operator.get("/admin/portal_users/").text)
    operator.post(
        "/admin/portal_users/action/",
        data={"csrf_token": token, "action": "reissue", "rowid": user.id},
    )
    new_password = initial_password_of(user)
    assert new_password != old_password
    portal = app.test_client()
    full_first_login(portal, user, new_password)
    assert portal.get("/mypage").status_code == 200
    # Disabling the user, or the whole organization, ends the session at once.
    operator.post(
        "/admin/portal_users/action/",
        data={"csrf_token": token, "action": "disable", "rowid": user.id},
    )
    assert portal.get("/mypage").headers["Location"] == "/login"
    operator.post(
        "/admin/portal_users/action/",
        data={"csrf_token": token, "action": "enable", "rowid": user.id},
    )
    again = signed_in_as(app, user)
    assert again.get("/mypage").status_code == 200
    operator.post(
        "/admin/organizations/action/",
        data={"csrf_token": token, "action": "disable", "rowid": user.organization_id},
    )
    assert again.get("/mypage").headers["Location"] == "/login"
    actions = set(db.session.scalars(sa.select(AuditEvent.action)))
    assert {
        "portal.initial_password_reissued",
        "portal.user_disabled",
        "organization.disabled",
    } <= actions


def test_lock_and_unlock_by_an_operator(app, signed_in, db) -> None:
    publish_terms()
    user, password = make_registrant()
    operator = signed_in(Role.AGENT)
    token = csrf_token(operator.get("/admin/portal_users/").text)
    operator.post(
        "/admin/portal_users/action/",
        data={"csrf_token": token, "action": "lock", "rowid": user.id},
    )
    assert "正しくありません" in login(app.test_client(), user.email, password).text
    operator.post(
        "/admin/portal_users/action/",
        data={"csrf_token": token, "action": "unlock", "rowid": user.id},
    )
    assert login(app.test_client(), user.email, password).status_code == 302


def test_organizations_list_shows_onboarding_state(app, signed_in, db) -> None:
    publish_terms()
    user, password = make_registrant()
    make_registrant(email="boss@care.example.jp", office_number="04A0700017")
    full_first_login(app.test_client(), user, password)
    viewer = signed_in(Role.VIEWER)
    page = viewer.get("/admin/organizations/").text
    assert "さくら在宅クリニック" in page
    assert "1/5" in page
    logged_in = viewer.get("/admin/organizations/", query_string={"flt0_0": "1"}).text
    assert user.email in logged_in
    assert "boss@care.example.jp" not in logged_in


def _staff(n: int) -> UserDetails:
    return UserDetails(
        name=f"職員{n}",
        name_kana="ショクイン",
        email=f"staff{n}@clinic.example.jp",
        phone="0312345678",
        department=None,
    )


def _organization_with_added_users(count: int) -> tuple[PortalUser, list[PortalUser]]:
    registrant, _ = make_registrant()
    return registrant, [members.add_user(registrant, _staff(n)) for n in range(count)]


def _active_added(db) -> int:
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(PortalUser)
        .where(PortalUser.is_registrant.is_(False), PortalUser.is_active)
    )


def test_enabling_a_user_keeps_the_four_added_users_limit(app, signed_in, db) -> None:
    registrant, added = _organization_with_added_users(4)
    members.disable_user(registrant, added[0].id)
    members.add_user(registrant, _staff(5))
    assert _active_added(db) == 4
    operator = signed_in(Role.AGENT)
    token = csrf_token(operator.get("/admin/portal_users/").text)
    response = operator.post(
        "/admin/portal_users/action/",
        data={"csrf_token": token, "action": "enable", "rowid": added[0].id},
        follow_redirects=True,
    )
    assert "追加できるユーザは最大4名です" in response.text
    assert _active_added(db) == 4
    assert not db.session.get(PortalUser, added[0].id).is_active


def test_two_concurrent_enables_at_three_users_let_one_through(app, db, database_url) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("the concurrency guarantee is PostgreSQL's row lock")
    registrant, added = _organization_with_added_users(4)
    for user in added[:2]:
        members.disable_user(registrant, user.id)
    assert _active_added(db) == 2
    members.add_user(registrant, _staff(5))
    ids = [u.id for u in added[:2]]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def enable(user_id: int) -> None:
        with app.app_context():
            user = db.session.get(PortalUser, user_id)
            barrier.wait()
            try:
                operator_actions.operator_set_user_state(
                    user, {"actor_type": "operator", "actor_label": "ops"}, active=True
                )
                outcomes.append("enabled")
            except UserLimitReached:
                outcomes.append("refused")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=enable, args=(i,)) for i in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["enabled", "refused"]
    db.session.expire_all()
    assert _active_added(db) == 4


def test_a_blocked_request_offers_no_issue_button_and_says_a_name_differs(
    signed_in, account_request, db
) -> None:
    make_registrant(email="boss@sakura-clinic.example.jp", office_number="0110113719")
    db.session.execute(
        sa.update(Organization).values(name="ひまわり内科医院")
    )  # the code's account is another institution's
    db.session.commit()
    operator = signed_in(Role.AGENT)
    review = operator.get(f"/admin/tickets/{account_request.id}/issue/").text
    assert ">発行する</button>" not in review
    assert "このままでは発行できません。" in review
    assert (
        "申請の医療機関名（さくら在宅クリニック）は、発行済みのアカウントの医療機関名（ひまわり内科医院）と異なります。"
        in review
    )
    # 「直した内容で重複を確認する」 re-checks the typed values and issues nothing, even when they are free.
    rechecked = issue_via_page(operator, account_request, medical_code="1310000012", recheck="1")
    assert rechecked.status_code == 200
    assert ">発行する</button>" in rechecked.text
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Organization)) == 1


def test_the_issuer_becomes_the_assignee_and_the_history_reads_in_order(
    signed_in, account_request, db
) -> None:
    operator = signed_in(Role.AGENT)
    assert issue_via_page(operator, account_request).status_code == 302
    db.session.refresh(account_request)
    assert account_request.assignee_id == operator.operator.id
    kinds = [e.kind for e in account_request.events]
    assert kinds[-4:] == [
        EventKind.ASSIGNED,
        EventKind.ACCOUNT_ISSUED,
        EventKind.STATUS_CHANGED,
        EventKind.PUBLIC_REPLY,
    ]
