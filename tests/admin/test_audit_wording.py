"""The audit log and the ticket history in words for people: Japanese actions and details, operators
by name; the codes stay in the database only."""

import re
from pathlib import Path

from backoffice.audit import wording
from backoffice.inquiries import replies, triage
from backoffice.inquiries.vocabulary import InquiryStatus, Priority
from backoffice.operators.models import Role
from backoffice.operators.operations import OperatorActor
from backoffice.paths import ROOT
from tests.builders.operators import make_operator

CODE = re.compile(r"\b[a-z_]+\.[a-z_]+\b|'old'|'new'|in_progress|resolved")


def test_the_audit_log_says_what_happened_in_japanese_with_operators_by_name(
    signed_in, inquiry, db
) -> None:
    agent = make_operator(Role.AGENT, email="tanaka@ops.example.jp", name="田中 一郎")
    actor = OperatorActor.of(agent)
    for changes in (
        triage.InquiryChanges(status=InquiryStatus.IN_PROGRESS, assignee_id=agent.id),
        triage.InquiryChanges(status=InquiryStatus.RESOLVED, priority=Priority.HIGH),
    ):
        triage.update_inquiry(inquiry.id, changes, actor, expected_version=inquiry.version)
    page = signed_in(Role.ADMIN).get("/admin/audit/")
    assert page.status_code == 200
    assert "ステータス：新規 → 対応中" in page.text
    assert "ステータス：対応中 → 解決済" in page.text
    assert "担当者：（未割り当て） → 田中 一郎" in page.text
    assert "優先度：通常 → 高" in page.text
    assert "ステータスの変更" in page.text
    assert "田中 一郎" in page.text
    table = page.text[page.text.index("<table") : page.text.index("</table>")]
    assert "tanaka@ops.example.jp" not in table
    cells = re.findall(r"<td[^>]*>(.*?)</td>", table, re.S)
    assert [c for c in cells if CODE.search(re.sub(r"<[^>]+>", "", c))] == []


def test_the_ticket_history_names_operators(signed_in, inquiry) -> None:
    agent = make_operator(Role.AGENT, email="tanaka@ops.example.jp", name="田中 一郎")
    triage.update_inquiry(
        inquiry.id,
        triage.InquiryChanges(status=InquiryStatus.IN_PROGRESS),
        OperatorActor.of(agent),
        expected_version=inquiry.version,
    )
    page = signed_in(Role.VIEWER).get(f"/admin/tickets/{inquiry.id}/")
    history = page.text[page.text.index('id="history"') :]
    assert "田中 一郎" in history
    assert "tanaka@ops.example.jp" not in history


def test_every_action_the_code_records_has_words() -> None:
    found = set()
    for path in Path(ROOT, "backoffice").rglob("*.py"):
        for call in re.finditer(r'record\(\s*"([a-z_]+\.[a-z_]+)"', path.read_text()):
            found.add(call.group(1))
    assert len(found) > 40
    assert {a for a in found if wording.action_label(a) == "その他の操作"} == set()
    # Those built from a prefix or a screen's endpoint.
    for action in ("operator.login", "operator.locked", "portal.locked", "categories.updated"):
        assert wording.action_label(action) != "その他の操作"


def test_a_reply_follows_the_status_it_gave_the_ticket_in_the_history(signed_in, inquiry) -> None:
    actor = OperatorActor.of(make_operator(Role.AGENT))
    replies.reply(
        inquiry.id,
        "再設定の手順をご案内します。",
        actor,
        expected_version=inquiry.version,
        next_status=InquiryStatus.ANSWERED,
    )
    page = signed_in(Role.VIEWER).get(f"/admin/tickets/{inquiry.id}/").text
    history = page[page.index('id="history"') :]
    received = history.index("受付しました（新規）")
    status = history.index("ステータス：新規 → 回答済")
    reply = history.index("再設定の手順をご案内します。")
    assert received < status < reply
