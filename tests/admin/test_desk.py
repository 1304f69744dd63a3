"""The desk's corrections of a ticket: 区分の変更 (into ID発行申請, then issued), a ticket logged from a
call without an email (nothing is mailed), a corrected address (the acknowledgement goes to it and
the old link is void), and a merge that moves everything once."""

import re

import sqlalchemy as sa

from backoffice.accounts.models import Organization
from backoffice.attachments.models import Attachment
from backoffice.extensions import db
from backoffice.inquiries import links
from backoffice.inquiries.models import Inquiry, InquiryEvent
from backoffice.inquiries.vocabulary import EventKind, InquiryStatus, Intake
from backoffice.mail.models import OutboundEmail
from backoffice.mail.outbox import readable
from backoffice.operators.models import Role
from tests.admin.test_issuance import issue_via_page
from tests.builders.accounts import publish_terms
from tests.builders.inquiries import category, make_inquiry, seed_tree
from tests.builders.web import csrf_token

DETAILS = {
    "refile-medical_code": "0110113719",
    "refile-institution_name": "さくら在宅クリニック",
    "refile-institution_kana": "さくらざいたくくりにっく",
    "refile-postal_code": "060-0001",
    "refile-address": "北海道札幌市中央区北1条西1-1",
}


def _post(agent, inquiry: Inquiry, data: dict[str, str]):
    page = agent.get(f"/admin/tickets/{inquiry.id}/").text
    return agent.post(
        f"/admin/tickets/{inquiry.id}/",
        data={"csrf_token": csrf_token(page), **data},
    )


def _mails_to(address: str) -> list[OutboundEmail]:
    return list(
        db.session.scalars(
            sa.select(OutboundEmail)
            .where(OutboundEmail.to_address == address)
            .order_by(OutboundEmail.id)
        )
    )


def _link(email: OutboundEmail) -> str:
    body = readable(email)[0]
    return re.search(r"http://localhost(/inquiry/status/\S+)", body).group(1)


def test_a_refiled_ticket_asks_the_request_fields_and_is_then_issued(client, signed_in) -> None:
    seed_tree()
    publish_terms()
    inquiry = make_inquiry(client, body="IDの発行をお願いします。")
    request_category = category("その他", "介護情報基盤ポータルのID発行申請")
    agent = signed_in(Role.AGENT)
    # Without the request's fields: refused on the field, what was typed kept, nothing saved.
    missing = _post(
        agent,
        inquiry,
        {
            "refile-category": str(request_category.id),
            "refile-version": str(inquiry.version),
            "refile-institution_name": "さくら在宅クリニック",
        },
    )
    assert missing.status_code == 422
    assert "＊医療機関コードを入力してください。" in missing.text
    assert 'value="さくら在宅クリニック"' in missing.text
    db.session.refresh(inquiry)
    assert inquiry.account_request is None
    assert inquiry.category_id != request_category.id
    # A wrong medical code is checked as on the public form.
    wrong = _post(
        agent,
        inquiry,
        {
            "refile-category": str(request_category.id),
            "refile-version": str(inquiry.version),
            **DETAILS,
            "refile-medical_code": "12345",
        },
    )
    assert "＊医療機関コードは10桁の数字で入力してください。" in wrong.text

    done = _post(
        agent,
        inquiry,
        {
            "refile-category": str(request_category.id),
            "refile-version": str(inquiry.version),
            **DETAILS,
        },
    )
    assert done.status_code == 302
    db.session.refresh(inquiry)
    assert inquiry.category_id == request_category.id
    assert inquiry.account_request.medical_code == "0110113719"
    assert inquiry.account_request.institution_kana == "サクラザイタククリニック"
    change = [e for e in inquiry.events if e.kind is EventKind.CATEGORY_CHANGED]
    assert [(e.new_value, e.operator_id) for e in change] == [
        (request_category.path, agent.operator.id)
    ]
    assert "区分：" in agent.get(f"/admin/tickets/{inquiry.id}/").text

    assert issue_via_page(agent, inquiry).status_code == 302
    assert db.session.scalar(
        sa.select(Organization).where(Organization.office_number == "0110113719")
    )


def test_refiling_out_of_an_id_request_keeps_its_details_in_the_history(client, signed_in) -> None:
    from tests.builders.inquiries import account_request_input, send

    seed_tree()
    send(client, account_request_input())
    inquiry = db.session.scalars(sa.select(Inquiry)).one()
    general = category("介護情報基盤ポータルについて", "ログイン・パスワード")
    agent = signed_in(Role.AGENT)
    response = _post(
        agent,
        inquiry,
        {"refile-category": str(general.id), "refile-version": str(inquiry.version)},
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert inquiry.account_request is None
    entry = next(e for e in inquiry.events if e.kind is EventKind.CATEGORY_CHANGED)
    assert "0110113719" in entry.body


def test_a_phone_ticket_without_email_sends_nothing_and_says_so(client, signed_in) -> None:
    seed_tree()
    cat = category("介護情報基盤ポータルについて", "ログイン・パスワード")
    agent = signed_in(Role.AGENT)
    page = agent.get("/admin/tickets/log/")
    assert page.status_code == 200
    token = csrf_token(page.text)
    before = db.session.scalar(sa.select(sa.func.count()).select_from(OutboundEmail))
    # Neither an email nor a phone: the requester cannot be reached, refused on the field.
    refused = agent.post(
        "/admin/tickets/log/",
        data={
            "csrf_token": token,
            "intake": "phone",
            "category": str(cat.id),
            "name": "山田 太郎",
            "body": "ワンタイムパスワードが届かない",
        },
    )
    assert refused.status_code == 422
    assert "電話番号かメールアドレスを入力してください" in refused.text
    assert "ワンタイムパスワードが届かない" in refused.text
    response = agent.post(
        "/admin/tickets/log/",
        data={
            "csrf_token": token,
            "intake": "phone",
            "category": str(cat.id),
            "name": "山田　太郎",
            "phone": "０３－１２３４－５６７８",
            "body": "ワンタイムパスワードが届かないとのお電話。",
            "acknowledge": "y",
        },
    )
    assert response.status_code == 302
    inquiry = db.session.scalars(sa.select(Inquiry).order_by(Inquiry.id.desc())).first()
    assert (inquiry.intake, inquiry.email, inquiry.phone) == (Intake.PHONE, None, "0312345678")
    assert inquiry.assignee_id == agent.operator.id
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboundEmail)) == before
    ticket = agent.get(f"/admin/tickets/{inquiry.id}/").text
    assert "電話" in ticket
    assert "なし（メールは送信されません" in ticket
    # A reply is kept in the history and mails nothing.
    reply = _post(
        agent,
        inquiry,
        {
            "reply-body": "迷惑メールフォルダをご確認ください。",
            "reply-version": str(inquiry.version),
        },
    )
    assert reply.status_code == 302
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboundEmail)) == before
    # Found by the search box like any other ticket.
    found = agent.get("/admin/tickets/", query_string={"search": "ワンタイム"}).text
    assert inquiry.reference_number in found


def test_a_corrected_address_gets_the_acknowledgement_and_the_old_link_is_void(
    client, signed_in
) -> None:
    seed_tree()
    inquiry = make_inquiry(
        client, email="yamda@himawari.example.jp", email_confirm="yamda@himawari.example.jp"
    )
    old_link = _link(_mails_to("yamda@himawari.example.jp")[0])
    assert client.get(old_link).status_code == 200
    agent = signed_in(Role.AGENT)
    mismatch = _post(
        agent,
        inquiry,
        {
            "address-email": "yamada@himawari.example.jp",
            "address-email_confirm": "x@example.jp",
            "address-version": str(inquiry.version),
        },
    )
    assert mismatch.status_code == 422
    assert "同じものを入力してください" in mismatch.text
    response = _post(
        agent,
        inquiry,
        {
            "address-email": "yamada@himawari.example.jp",
            "address-email_confirm": "yamada@himawari.example.jp",
            "address-version": str(inquiry.version),
        },
    )
    assert response.status_code == 302
    db.session.refresh(inquiry)
    assert inquiry.email == "yamada@himawari.example.jp"
    sent = _mails_to("yamada@himawari.example.jp")
    assert [m.kind for m in sent] == ["inquiry_received"]
    assert len(_mails_to("yamda@himawari.example.jp")) == 1  # nothing more to the wrong one
    assert client.get(old_link).status_code == 404
    new_link = _link(sent[0])
    assert inquiry.reference_number in client.get(new_link).text
    entry = [e for e in inquiry.events if e.kind is EventKind.EMAIL_CORRECTED]
    assert [e.body for e in entry] == ["yamda@himawari.example.jp → yamada@himawari.example.jp"]


def test_a_merge_moves_everything_once_and_the_link_leads_to_the_survivor(
    client, signed_in
) -> None:
    seed_tree()
    first = make_inquiry(client, body="ログインできません。")
    second = make_inquiry(client, body="ワンタイムパスワードも届きません。")
    other = make_inquiry(
        client, email="someone@else.example.jp", email_confirm="someone@else.example.jp"
    )
    second_link = _link(_mails_to(second.email)[-1])
    db.session.add(
        Attachment(
            inquiry_id=second.id,
            filename="画面.png",
            size=1,
            content_type="image/png",
            sha256="0" * 64,
            uploaded_by="依頼者",
        )
    )
    db.session.commit()
    agent = signed_in(Role.AGENT)
    refused = _post(
        agent, second, {"merge-into": other.reference_number, "merge-version": str(second.version)}
    )
    assert refused.status_code == 422
    assert "依頼者（メールアドレス）が同じ" in refused.text
    events_before = {
        i: db.session.scalar(
            sa.select(sa.func.count()).select_from(InquiryEvent).where(InquiryEvent.inquiry_id == i)
        )
        for i in (first.id, second.id)
    }
    response = _post(
        agent,
        second,
        {"merge-into": first.reference_number.lower(), "merge-version": str(second.version)},
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/admin/tickets/{first.id}/")
    db.session.expire_all()
    moved = lambda i: db.session.scalar(  # noqa: E731
        sa.select(sa.func.count()).select_from(InquiryEvent).where(InquiryEvent.inquiry_id == i)
    )
    # Everything of the merged ticket once on the survivor, plus one entry on each saying so
    # (and the merged one's closing).
    assert moved(first.id) == events_before[first.id] + events_before[second.id] + 1
    assert [e.kind for e in second.events] == [EventKind.MERGED, EventKind.STATUS_CHANGED]
    assert second.status is InquiryStatus.CLOSED
    assert second.merged_into_id == first.id
    assert db.session.scalars(sa.select(Attachment.inquiry_id)).all() == [first.id]
    mails = db.session.scalars(
        sa.select(OutboundEmail.inquiry_id).where(OutboundEmail.to_address == first.email)
    ).all()
    assert set(mails) == {first.id}
    # The merged ticket's link and reply address lead to the survivor.
    page = client.get(second_link).text
    assert first.reference_number in page
    second.reply_token = "merged-reply-token"
    db.session.commit()
    found = db.session.scalar(sa.select(Inquiry).where(Inquiry.reply_token == "merged-reply-token"))
    assert found.surviving.id == first.id
    assert links.find(second_link.rsplit("/", 1)[1]).id == first.id
    # The survivor is found by the merged ticket's words.
    found_page = agent.get(
        "/admin/tickets/", query_string={"search": "ワンタイムパスワードも"}
    ).text
    assert first.reference_number in found_page
    # Merging again is refused.
    assert (
        "統合済み"
        in _post(
            agent,
            second,
            {"merge-into": first.reference_number, "merge-version": str(second.version)},
        ).text
    )


def test_a_correction_from_an_outdated_page_is_refused(client, signed_in) -> None:
    seed_tree()
    inquiry = make_inquiry(client)
    general = category("介護情報基盤ポータルについて", "初回利用登録")
    agent = signed_in(Role.AGENT)
    response = _post(
        agent,
        inquiry,
        {"refile-category": str(general.id), "refile-version": str(inquiry.version - 1)},
    )
    assert response.status_code == 409
    db.session.refresh(inquiry)
    assert inquiry.category_id != general.id


def test_a_merged_ticket_takes_no_more_work_and_its_links_go_with_the_survivors(
    client, signed_in
) -> None:
    from backoffice.inquiries import merging
    from backoffice.operators.operations import OperatorActor

    seed_tree()
    first = make_inquiry(client, body="ログインできません。")
    second = make_inquiry(client, body="ワンタイムパスワードも届きません。")
    second_link = _link(_mails_to(second.email)[-1])
    agent = signed_in(Role.AGENT)
    actor = OperatorActor.of(agent.operator)
    merging.merge(second.id, first.reference_number, actor, expected_version=second.version)
    db.session.expire_all()
    # No reply, status change or note on the merged ticket.
    reply = _post(
        agent, second, {"reply-body": "ご確認ください。", "reply-version": str(second.version)}
    )
    assert reply.status_code == 422
    assert db.session.get(Inquiry, second.id).status is InquiryStatus.CLOSED
    assert "統合済みのため" in agent.get(f"/admin/tickets/{second.id}/").text
    # The merged ticket's text is on the survivor, which the search finds by it.
    merged_entry = next(e for e in first.events if e.kind is EventKind.MERGED)
    assert "ワンタイムパスワードも届きません。" in merged_entry.body
    found = agent.get("/admin/tickets/", query_string={"search": "ワンタイムパスワードも"}).text
    assert first.reference_number in found
    # The survivor's link re-issued (a leak): the merged ticket's old link stops working too.
    assert client.get(second_link).status_code == 200
    links.revoke(first.id, actor)
    assert client.get(second_link).status_code == 404


def test_a_merge_into_a_finished_ticket_is_refused(client, signed_in) -> None:
    seed_tree()
    first = make_inquiry(client)
    second = make_inquiry(client)
    first.status = InquiryStatus.CLOSED
    db.session.commit()
    agent = signed_in(Role.AGENT)
    refused = _post(
        agent, second, {"merge-into": first.reference_number, "merge-version": str(second.version)}
    )
    assert refused.status_code == 422
    assert "統合先を対応中に戻してから" in refused.text
    assert db.session.get(Inquiry, second.id).merged_into_id is None


def test_logging_the_same_call_twice_makes_one_ticket(client, signed_in) -> None:
    seed_tree()
    cat = category("介護情報基盤ポータルについて", "ログイン・パスワード")
    agent = signed_in(Role.AGENT)
    page = agent.get("/admin/tickets/log/").text
    key = re.search(r'name="form_key" type="hidden" value="([^"]+)"', page).group(1)
    data = {
        "csrf_token": csrf_token(page),
        "form_key": key,
        "intake": "counter",
        "category": str(cat.id),
        "name": "山田 太郎",
        "email": "visitor@himawari.example.jp",
        "body": "窓口でのご相談。",
        "acknowledge": "y",
    }
    first, second = (
        agent.post("/admin/tickets/log/", data=data),
        agent.post("/admin/tickets/log/", data=data),
    )
    assert first.headers["Location"] == second.headers["Location"]
    tickets = db.session.scalars(
        sa.select(Inquiry).where(Inquiry.email == "visitor@himawari.example.jp")
    ).all()
    assert [t.intake for t in tickets] == [Intake.COUNTER]
    assert [m.kind for m in _mails_to("visitor@himawari.example.jp")] == ["inquiry_received"]


def test_a_ticket_without_email_waiting_for_an_answer_is_not_reminded_or_closed(
    client, signed_in
) -> None:
    from datetime import timedelta

    from backoffice.db import utcnow
    from backoffice.inquiries.sweep import sweep

    seed_tree()
    cat = category("介護情報基盤ポータルについて", "ログイン・パスワード")
    agent = signed_in(Role.AGENT)
    page = agent.get("/admin/tickets/log/").text
    agent.post(
        "/admin/tickets/log/",
        data={
            "csrf_token": csrf_token(page),
            "intake": "phone",
            "category": str(cat.id),
            "name": "山田 太郎",
            "phone": "0312345678",
            "body": "お電話",
        },
    )
    inquiry = db.session.scalars(sa.select(Inquiry)).one()
    inquiry.status = InquiryStatus.WAITING
    inquiry.waiting_since = utcnow() - timedelta(days=60)
    db.session.commit()
    sweep(now=utcnow())
    db.session.expire_all()
    assert inquiry.status is InquiryStatus.WAITING
    assert not [e for e in inquiry.events if e.kind is EventKind.REMINDER_SENT]
