"""マイページ「お問い合わせ」: the organization's inquiries (its users' addresses, and the ID request for its
医療機関コード) with their thread, answered while signed in; nobody else's."""

import sqlalchemy as sa

from backoffice.inquiries.models import Inquiry, InquiryEvent
from backoffice.inquiries.vocabulary import Channel, EventKind, InquiryStatus
from backoffice.operators.models import Role
from tests.builders.accounts import full_first_login, make_registrant, publish_terms, submit
from tests.builders.inquiries import account_request_input, make_inquiry, seed_tree, send
from tests.builders.web import csrf_token
from tests.conversation.helpers import message_key, operator_reply

S = InquiryStatus


def test_a_signed_in_user_sees_and_answers_the_organizations_inquiries(
    app, signed_in, db, client
) -> None:
    seed_tree()
    publish_terms()
    user, initial = make_registrant()
    own = make_inquiry(client, email=user.email, email_confirm=user.email)
    request = account_request_input(
        email="someone@clinic.example.jp",
        email_confirm="someone@clinic.example.jp",
        medical_code=user.organization.office_number,
    )
    assert send(app.test_client(), request).status_code == 302
    id_request = db.session.scalars(
        sa.select(Inquiry).where(Inquiry.email == "someone@clinic.example.jp")
    ).one()
    # Anyone may type the code: only the request the account was issued from is the organization's.
    assert (
        send(
            app.test_client(),
            {
                **request,
                "email": "x@elsewhere.example.jp",
                "email_confirm": "x@elsewhere.example.jp",
            },
        ).status_code
        == 302
    )
    typed_code = db.session.scalars(
        sa.select(Inquiry).where(Inquiry.email == "x@elsewhere.example.jp")
    ).one()
    id_request.events.append(
        InquiryEvent(
            kind=EventKind.ACCOUNT_ISSUED,
            actor="運営担当",
            new_value=user.organization.office_number,
        )
    )
    db.session.commit()
    stranger = make_inquiry(
        app.test_client(),
        email="other@elsewhere.example.jp",
        email_confirm="other@elsewhere.example.jp",
    )
    operator_reply(signed_in(Role.AGENT), own, "エラーの文言を教えてください。")

    portal = app.test_client()
    full_first_login(portal, user, initial)
    assert "お問い合わせ一覧" in portal.get("/mypage").text
    listed = portal.get("/mypage/inquiries").text
    assert own.reference_number in listed
    assert id_request.reference_number in listed
    assert typed_code.reference_number not in listed
    assert stranger.reference_number not in listed
    assert "ご回答をお待ちしています" in listed
    assert portal.get(f"/mypage/inquiries/{stranger.reference_number}").status_code == 404

    page = portal.get(f"/mypage/inquiries/{own.reference_number}")
    assert "エラーの文言を教えてください。" in page.text
    sent = portal.post(
        f"/mypage/inquiries/{own.reference_number}",
        data={
            "csrf_token": csrf_token(page.text),
            "message_key": message_key(page.text),
            "body": "「E-102」と表示されます。",
        },
    )
    assert sent.headers["Location"] == f"/mypage/inquiries/{own.reference_number}"
    db.session.expire_all()
    answered = db.session.get(Inquiry, own.id)
    assert answered.status is S.IN_PROGRESS
    [message] = [e for e in answered.events if e.kind is EventKind.REQUESTER_MESSAGE]
    assert message.channel is Channel.PORTAL
    assert (
        "「E-102」と表示されます。" in portal.get(f"/mypage/inquiries/{own.reference_number}").text
    )


def test_the_inquiries_need_a_signed_in_user(client) -> None:
    assert client.get("/mypage/inquiries").headers["Location"] == "/login"
    assert client.get("/mypage/inquiries/AAAA-AAAA").headers["Location"] == "/login"


def test_a_disabled_users_inquiries_are_no_longer_shown(app, db, client) -> None:
    seed_tree()
    publish_terms()
    user, initial = make_registrant()
    portal = app.test_client()
    full_first_login(portal, user, initial)
    staff_email = "staff@clinic.example.jp"
    submit(
        portal,
        "/mypage/users/new",
        {
            "name": "職員 一郎",
            "name_kana": "ショクイン",
            "email": staff_email,
            "email_confirm": staff_email,
            "phone": "0312345678",
            "department": "",
        },
    )
    theirs = make_inquiry(client, email=staff_email, email_confirm=staff_email)
    assert theirs.reference_number in portal.get("/mypage/inquiries").text
    from backoffice.accounts.models import PortalUser

    staff = db.session.scalars(sa.select(PortalUser).where(PortalUser.email == staff_email)).one()
    submit(portal, f"/mypage/users/{staff.id}/disable", {}, page_url="/mypage")
    assert theirs.reference_number not in portal.get("/mypage/inquiries").text
