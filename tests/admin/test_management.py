"""Admins' screens: operators, categories, the audit log; Flask-Admin in Japanese."""

import sqlalchemy as sa

from backoffice.audit.models import AuditEvent
from backoffice.inquiries.models import InquiryCategory
from backoffice.operators.models import Operator, Role
from tests.builders.inquiries import seed_tree
from tests.builders.operators import login, make_operator
from tests.builders.web import csrf_token


def test_back_office_speaks_japanese(signed_in) -> None:
    page = signed_in(Role.ADMIN).get("/admin/tickets/").text
    assert '<html lang="ja">' in page
    assert "フィルターを追加" in page
    assert "検索" in page
    assert "本文へ移動" in page


def test_deactivating_an_operator_ends_their_sessions_and_is_audited(signed_in, db) -> None:
    agent = signed_in(Role.AGENT)
    assert agent.get("/admin/").status_code == 200
    admin = signed_in(Role.ADMIN)
    url = f"/admin/operators/edit/?id={agent.operator.id}"
    page = admin.get(url)
    response = admin.post(
        url, data={"csrf_token": csrf_token(page.text), "name": "元担当", "role": "agent"}
    )  # is_active unticked
    assert response.status_code == 302
    assert agent.get("/admin/").status_code == 302
    event = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "operators.updated")
    ).one()
    assert event.actor_id == admin.operator.id
    assert event.target_id == str(agent.operator.id)
    assert event.detail["fields"]["is_active"] is False


def test_unlock_and_authenticator_reset_actions(signed_in, db) -> None:
    admin = signed_in(Role.ADMIN)
    operator = make_operator(Role.AGENT, email="locked@ops.example.jp")
    operator.failed_attempts, operator.locked_until = 9, sa.func.now()
    db.session.commit()
    token = csrf_token(admin.get("/admin/operators/").text)
    admin.post(
        "/admin/operators/action/",
        data={"csrf_token": token, "action": "unlock", "rowid": operator.id},
    )
    db.session.refresh(operator)
    assert (operator.failed_attempts, operator.locked_until) == (0, None)
    old_secret = operator.totp_secret
    admin.post(
        "/admin/operators/action/",
        data={"csrf_token": token, "action": "reset_authenticator", "rowid": operator.id},
    )
    db.session.refresh(operator)
    assert operator.totp_secret != old_secret
    assert operator.totp_confirmed_at is None
    actions = set(db.session.scalars(sa.select(AuditEvent.action)))
    assert {"operators.unlocked", "operators.authenticator_reset"} <= actions


def test_admin_edits_the_category_tree(signed_in, db) -> None:
    seed_tree()
    admin = signed_in(Role.ADMIN)
    category = db.session.scalars(
        sa.select(InquiryCategory).where(InquiryCategory.name == "費用・補助金")
    ).one()
    url = f"/admin/categories/edit/?id={category.id}"
    page = admin.get(url)
    assert page.status_code == 200
    data = {
        "csrf_token": csrf_token(page.text),
        "parent": str(category.parent_id),
        "name": "費用・補助金について",
        "position": "5",
        "kind": "general",
        "first_response_business_days": "0",
        "target_business_days": "2",
    }
    refused = admin.post(url, data=data)
    assert "＊1から60までの営業日の数を入力してください。" in refused.text
    assert 'value="費用・補助金について"' in refused.text
    response = admin.post(url, data=data | {"first_response_business_days": "2"})
    assert response.status_code == 302
    db.session.refresh(category)
    assert (
        category.name,
        category.is_active,
        category.first_response_business_days,
        category.target_business_days,
    ) == ("費用・補助金について", False, 2, 2)
    assert "費用・補助金について" not in admin.get("/inquiry").text  # closed: no longer offered


def test_audit_log_is_read_only_and_filterable(signed_in, db) -> None:
    admin = signed_in(Role.ADMIN)
    make_operator(Role.VIEWER, email="new@ops.example.jp")
    page = admin.get("/admin/audit/", query_string={"search": "operator.created"})
    assert page.status_code == 200
    assert "operator.created" in page.text
    assert admin.get("/admin/audit/new/").status_code in (302, 403, 404)
    assert admin.get("/admin/audit/edit/?id=1").status_code in (302, 403, 404)
    count = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))
    token = csrf_token(page.text)
    admin.post("/admin/audit/delete/", data={"csrf_token": token, "id": "1"})
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == count


def test_no_secret_is_ever_in_the_audit_log(signed_in, client, db) -> None:
    operator = make_operator(Role.AGENT, email="audit@ops.example.jp")
    login(client, operator.email, "correct horse battery staple", "123456")
    for event in db.session.scalars(sa.select(AuditEvent)):
        text = repr((event.detail, event.actor_label, event.target_id))
        assert "correct horse" not in text
        assert operator.totp_secret not in text
        assert "123456" not in text
    assert db.session.get(Operator, operator.id).password_hash.startswith("$argon2id$")


def test_admin_publishes_terms_and_a_published_version_stays_as_it_was(signed_in, db) -> None:
    from backoffice.accounts.models import TermsVersion

    admin = signed_in(Role.ADMIN)
    page = admin.get("/admin/terms/new/")
    created = admin.post(
        "/admin/terms/new/",
        data={
            "csrf_token": csrf_token(page.text),
            "version": "2026-10",
            "title": "利用規約",
            "body": "第1条 改定",
        },
    )
    assert created.status_code == 302
    terms = db.session.scalars(sa.select(TermsVersion)).one()
    assert terms.published_at is None
    token = csrf_token(admin.get("/admin/terms/").text)
    admin.post(
        "/admin/terms/action/", data={"csrf_token": token, "action": "publish", "rowid": terms.id}
    )
    db.session.refresh(terms)
    assert terms.published_at is not None
    assert "terms.published" in set(db.session.scalars(sa.select(AuditEvent.action)))
    edit = admin.get(f"/admin/terms/edit/?id={terms.id}")
    admin.post(
        f"/admin/terms/edit/?id={terms.id}",
        data={
            "csrf_token": csrf_token(edit.text),
            "version": "2026-10",
            "title": "利用規約",
            "body": "こっそり変更",
        },
    )
    db.session.refresh(terms)
    assert terms.body == "第1条 改定"
    assert signed_in(Role.AGENT).get("/admin/terms/").status_code == 403
