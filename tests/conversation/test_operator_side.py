"""The operator's side of the conversation: 「依頼者から返信あり」 in the list, its filter and the
dashboard's count, and the reply form's next status."""

import re

import sqlalchemy as sa

from backoffice.inquiries.models import Inquiry
from backoffice.inquiries.vocabulary import InquiryStatus
from backoffice.operators.models import Role
from tests.builders.inquiries import make_inquiry
from tests.conversation.helpers import link_in, mails_to, operator_reply, requester_message

S = InquiryStatus


def test_requester_answers_are_counted_listed_and_filtered(signed_in, inquiry, db, client) -> None:
    other = make_inquiry(client, email="other@example.jp", email_confirm="other@example.jp")
    operator = signed_in(Role.AGENT)
    requester_message(client, link_in(mails_to(inquiry.email)[0]), "補足です。")

    dashboard = operator.get("/admin/").text
    count = re.search(
        r'<span class="count">(\d+)</span>件\s*<a href="([^"]+)">依頼者から返信あり', dashboard
    )
    assert count.group(1) == "1"
    listed = operator.get(count.group(2).replace("&amp;", "&")).text
    assert inquiry.reference_number in listed
    assert other.reference_number not in listed
    whole = operator.get("/admin/tickets/").text
    assert whole.count("依頼者から返信あり</span>") == 1

    operator_reply(operator, inquiry, "承知しました。")
    dashboard = operator.get("/admin/").text
    assert re.search(
        r'<span class="count">0</span>件\s*<a href="[^"]+">依頼者から返信あり', dashboard
    )


def test_the_reply_form_offers_the_next_status_and_refuses_a_forged_one(
    signed_in, inquiry, db
) -> None:
    operator = signed_in(Role.AGENT)
    page = operator.get(f"/admin/tickets/{inquiry.id}/").text
    options = re.findall(
        r'<option (?:selected )?value="(\w+)"', page.split("回答後のステータス")[1]
    )
    assert options[:3] == ["waiting", "answered", "resolved"]
    forged = operator_reply(operator, inquiry, "回答です。", next_status="closed")
    assert forged.status_code == 422
    assert "＊回答後のステータスを選び直してください。" in forged.text
    resolved = operator_reply(operator, inquiry, "解決しました。", next_status="resolved")
    assert resolved.status_code == 302
    db.session.expire_all()
    assert db.session.get(Inquiry, inquiry.id).status is S.RESOLVED
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Inquiry)) == 1
