"""通知の設定: each 担当者 and 管理者 chooses their alerts; 閲覧者 have none to choose."""

import sqlalchemy as sa

from backoffice.alerts import operations as alerts
from backoffice.audit.models import AuditEvent
from backoffice.operators.models import Role
from tests.builders.inquiries import category, seed_tree
from tests.builders.web import csrf_token

PAGE = "/admin/account/alerts"
LOGIN = ("介護情報基盤ポータルについて", "ログイン・パスワード")


def test_an_agent_saves_their_choices_and_sees_them_again(signed_in, db) -> None:
    seed_tree()
    agent = signed_in(Role.AGENT)
    page = agent.get(PAGE)
    assert page.status_code == 200
    assert "通知の設定" in page.text
    assert 'name="assigned"' in page.text
    assert "checked" in page.text  # the defaults: assignments, answers, digest on
    watched = category(*LOGIN)
    response = agent.post(
        PAGE,
        data={"csrf_token": csrf_token(page.text), "answers": "y", "watched": str(watched.id)},
    )
    assert response.status_code == 302
    assert alerts.settings_of(agent.operator) == alerts.AlertChoices(
        assigned=False, answers=True, digest=False, watched=(watched.id,)
    )
    again = agent.get(PAGE)
    assert f'value="{watched.id}" id="watched-{watched.id}" checked' in again.text
    assert "通知の設定を保存しました" in again.text
    event = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "operator.alert_settings_changed")
    ).one()
    assert event.detail == {
        "assigned": False,
        "answers": True,
        "digest": False,
        "watched": [watched.id],
    }


def test_a_category_that_is_not_a_minor_one_is_refused_and_nothing_saved(signed_in) -> None:
    seed_tree()
    agent = signed_in(Role.AGENT)
    page = agent.get(PAGE)
    major = category(*LOGIN).parent_id
    response = agent.post(
        PAGE, data={"csrf_token": csrf_token(page.text), "assigned": "y", "watched": str(major)}
    )
    assert response.status_code == 422
    assert "区分を選び直してください" in response.text
    assert 'id="err-watched"' in response.text
    assert alerts.settings_of(agent.operator).watched == ()


def test_a_viewer_has_no_alerts_to_choose(signed_in) -> None:
    seed_tree()
    viewer = signed_in(Role.VIEWER)
    assert viewer.get(PAGE).status_code == 403
    assert "通知の設定" not in viewer.get("/admin/").text
    assert "通知の設定" in signed_in(Role.ADMIN).get("/admin/").text


def test_the_page_needs_sign_in_and_csrf(client, signed_in) -> None:
    seed_tree()
    assert client.get(PAGE).status_code == 302
    agent = signed_in(Role.AGENT)
    assert agent.post(PAGE, data={"assigned": "y"}).status_code == 400
