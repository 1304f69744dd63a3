"""差し戻し of an ID発行申請: the operator marks the wrong fields and says why; the mail and the status page
ask for exactly those; the corrected values replace the old ones (kept in the history), the issuance
review shows what changed, and the account is issued with the corrected code."""

import sqlalchemy as sa

from backoffice.accounts.models import Organization
from backoffice.inquiries.models import Inquiry
from backoffice.inquiries.vocabulary import EventKind, InquiryStatus
from backoffice.mail.outbox import readable
from backoffice.operators.models import Role
from tests.admin.test_issuance import issue_via_page
from tests.builders.inquiries import account_request_input, seed_tree, send
from tests.builders.web import csrf_token
from tests.conversation.helpers import link_in, mails_to

S = InquiryStatus
WRONG_CODE = "1310110048"  # its check digit fails
RIGHT_CODE = "1310110049"


def id_request(client, db) -> Inquiry:
    seed_tree()
    assert send(client, account_request_input(medical_code=WRONG_CODE)).status_code == 302
    return db.session.scalars(sa.select(Inquiry)).one()


def ask_correction(operator, inquiry, db, fields: list[str], reason: str):
    page = operator.get(f"/admin/tickets/{inquiry.id}/")
    db.session.refresh(inquiry)
    return operator.post(
        f"/admin/tickets/{inquiry.id}/",
        data={
            "csrf_token": csrf_token(page.text),
            "fix-fields": fields,
            "fix-reason": reason,
            "fix-version": str(inquiry.version),
        },
    )


def send_correction(client, link: str, values: dict[str, str]):
    page = client.get(link)
    return client.post(
        f"{link}/correction",
        data={"csrf_token": csrf_token(page.text), **{f"fix-{k}": v for k, v in values.items()}},
    )


def test_a_correction_is_asked_made_and_the_account_issued_with_it(signed_in, client, db) -> None:
    inquiry = id_request(client, db)
    operator = signed_in(Role.AGENT)
    asked = ask_correction(
        operator,
        inquiry,
        db,
        ["medical_code", "institution_name"],
        "医療機関コードの検証番号が一致しません。指定通知書でご確認ください。",
    )
    assert asked.status_code == 302
    db.session.expire_all()
    inquiry = db.session.get(Inquiry, inquiry.id)
    assert inquiry.status is S.WAITING
    assert inquiry.account_request.correction_fields == ["medical_code", "institution_name"]
    mail = readable(mails_to(inquiry.email)[-1])[0]
    assert "修正をお願いする項目：医療機関コード、医療機関名" in mail
    assert "検証番号が一致しません" in mail

    link = link_in(mails_to(inquiry.email)[-1])
    page = client.get(link).text
    assert "修正をお願いしている項目" in page
    assert 'name="fix-medical_code"' in page
    assert f'value="{WRONG_CODE}"' in page  # refilled with what was sent
    assert 'name="fix-institution_name"' in page
    assert 'name="fix-postal_code"' not in page
    assert 'name="fix-email"' not in page

    bad = send_correction(client, link, {"medical_code": "13101", "institution_name": ""})
    assert bad.status_code == 422
    assert "＊医療機関コードは10桁の数字で入力してください。" in bad.text
    assert "＊医療機関名を入力してください。" in bad.text
    assert 'value="13101"' in bad.text

    # The email address is never changed by a token holder, even when sent.
    done = send_correction(
        client,
        link,
        {
            "medical_code": "１３１０１１００４９",
            "institution_name": "さくら在宅クリニック本院",
            "email": "evil@example.jp",
        },
    )
    assert done.status_code == 302
    again = send_correction(client, link, {"medical_code": RIGHT_CODE, "institution_name": "x"})
    assert again.status_code == 302
    assert "この修正は送信済みです" in client.get(link).text
    db.session.expire_all()
    inquiry = db.session.get(Inquiry, inquiry.id)
    details = inquiry.account_request
    assert details.medical_code == RIGHT_CODE
    assert details.medical_code_check_ok
    assert details.institution_name == "さくら在宅クリニック本院"
    assert details.correction_fields is None
    assert inquiry.email != "evil@example.jp"
    assert inquiry.status is S.IN_PROGRESS
    assert inquiry.requester_replied_at is not None
    [corrected] = [e for e in inquiry.events if e.kind is EventKind.CORRECTED]
    assert f"医療機関コード：{WRONG_CODE} → {RIGHT_CODE}" in corrected.body
    assert "医療機関コード" in client.get(link).text

    review = operator.get(f"/admin/tickets/{inquiry.id}/issue/").text
    assert "依頼者が修正した項目" in review
    assert f"{WRONG_CODE} → {RIGHT_CODE}" in review
    assert f'value="{RIGHT_CODE}"' in review
    assert issue_via_page(operator, inquiry).status_code == 302
    organization = db.session.scalars(sa.select(Organization)).one()
    assert organization.office_number == RIGHT_CODE


def test_a_correction_needs_fields_and_a_reason(signed_in, client, db) -> None:
    inquiry = id_request(client, db)
    operator = signed_in(Role.AGENT)
    refused = ask_correction(operator, inquiry, db, [], " ")
    assert refused.status_code == 422
    assert "＊修正を依頼する項目を選んでください。" in refused.text
    forged = ask_correction(operator, inquiry, db, ["email"], "メールを直してください")
    assert forged.status_code == 422
    db.session.expire_all()
    assert db.session.get(Inquiry, inquiry.id).account_request.correction_fields is None


def test_nothing_to_correct_without_a_request(client, db) -> None:
    inquiry = id_request(client, db)
    link = link_in(mails_to(inquiry.email)[0])
    assert "修正をお願いしている項目" not in client.get(link).text
    sent = send_correction(client, link, {"medical_code": RIGHT_CODE})
    assert sent.status_code == 302
    db.session.expire_all()
    assert db.session.get(Inquiry, inquiry.id).account_request.medical_code == WRONG_CODE


def test_a_correction_closes_when_the_request_is_rejected(signed_in, client, db) -> None:
    from backoffice.accounts import issuance
    from backoffice.operators.operations import OperatorActor

    inquiry = id_request(client, db)
    operator = signed_in(Role.AGENT)
    ask_correction(operator, inquiry, db, ["medical_code"], "コードをご確認ください。")
    issuance.reject_request(
        inquiry.id, "重複のため却下します。", OperatorActor.of(operator.operator)
    )
    link = link_in(mails_to(inquiry.email)[0])
    assert 'name="fix-medical_code"' not in client.get(link).text
    send_correction(client, link, {"medical_code": RIGHT_CODE})
    db.session.expire_all()
    assert db.session.get(Inquiry, inquiry.id).account_request.medical_code == WRONG_CODE
