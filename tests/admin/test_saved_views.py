"""保存した表示: an operator saves what the ticket list shows, opens it from the menu, deletes it; each
sees only their own, and a bad name gets its message next to 「表示名」 with the name kept."""

import re
import urllib.parse

import sqlalchemy as sa

from backoffice.operators.models import Role
from backoffice.saved_views.models import SavedView
from backoffice.saved_views.operations import MAX_VIEWS
from tests.builders.inquiries import general_input, seed_tree, send
from tests.builders.web import csrf_token


def _numbers(page: str) -> list[str]:
    return re.findall(r">(\w{4}-\w{4})</a>", page)


def _save(client, list_url: str, name: str):
    page = client.get(list_url)
    query = urllib.parse.urlsplit(list_url).query
    return client.post(
        f"/admin/tickets/views/save?{query}",
        data={"name": name, "csrf_token": csrf_token(page.text)},
    )


def _menu(page: str) -> list[tuple[str, str]]:
    return re.findall(
        r'<a class="dropdown-item" href="(/admin/tickets/views/\d+)">([^<]+)</a>', page
    )


def test_a_saved_view_opens_the_same_list_from_the_menu(signed_in, client, db) -> None:
    seed_tree()
    for i, body in enumerate(
        ("ログインできません", "パスワードを忘れました", "ログイン画面が出ない")
    ):
        email = f"r{i}@x.example.jp"
        send(client, general_input(body=body, email=email, email_confirm=email))
    viewer = signed_in(Role.VIEWER)  # views change nothing: 閲覧者 save them too
    listed = viewer.get("/admin/tickets/?flt0_0=new&search=r1%40x.example.jp&sort=0&desc=1")
    assert len(_numbers(listed.text)) == 1
    assert "この表示を保存" in listed.text

    saved = _save(
        viewer, "/admin/tickets/?flt0_0=new&search=r1%40x.example.jp&sort=0&desc=1", "新規　r1"
    )
    assert saved.status_code == 302
    view = db.session.scalars(sa.select(SavedView)).one()
    assert view.name == "新規 r1"  # NFKC, spaces folded
    assert view.filters == [["status", "new"]]
    assert (view.search, view.sort, view.sort_desc) == ("r1@x.example.jp", "reference_number", True)

    page = viewer.get("/admin/tickets/")
    assert _menu(page.text) == [(f"/admin/tickets/views/{view.id}", "新規 r1")]
    opened = viewer.get(f"/admin/tickets/views/{view.id}", follow_redirects=True)
    assert _numbers(opened.text) == _numbers(listed.text)
    # The menu is on every page of the back office, not only the list.
    assert _menu(viewer.get("/admin/").text) == [(f"/admin/tickets/views/{view.id}", "新規 r1")]


def test_a_bad_name_is_refused_next_to_the_field_and_kept(signed_in, db) -> None:
    seed_tree()
    agent = signed_in(Role.AGENT)
    url = "/admin/tickets/?flt0_0=new"
    empty = _save(agent, url, "　")
    assert empty.status_code == 422
    assert 'id="save-view-error"' in empty.text
    assert "表示名を入力してください。" in empty.text
    long = _save(agent, url, "長" * 41)
    assert "表示名は40文字以内で入力してください。" in long.text
    assert f'value="{"長" * 41}"' in long.text  # what was typed stays in the field
    assert _save(agent, url, "新規").status_code == 302
    twice = _save(agent, "/admin/tickets/?flt0_0=closed", "新規")
    assert twice.status_code == 422
    assert "「新規」という表示はすでにあります。" in twice.text
    # Nothing narrowed: nothing worth saving, and the form is not offered.
    assert "この表示を保存" not in agent.get("/admin/tickets/").text
    assert (
        "絞り込みか検索をしてから保存してください。" in _save(agent, "/admin/tickets/", "全部").text
    )
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SavedView)) == 1


def test_an_operator_keeps_at_most_the_limit(signed_in, db) -> None:
    seed_tree()
    agent = signed_in(Role.AGENT)
    for i in range(MAX_VIEWS):
        db.session.add(
            SavedView(operator_id=agent.operator.id, name=f"v{i}", filters=[["status", "new"]])
        )
    db.session.commit()
    refused = _save(agent, "/admin/tickets/?flt0_0=new", "もう一つ")
    assert refused.status_code == 422
    assert f"保存できる表示は{MAX_VIEWS}件までです。" in refused.text


def test_views_are_each_operators_own(signed_in, db) -> None:
    seed_tree()
    mine, other = signed_in(Role.AGENT), signed_in(Role.AGENT)
    assert _save(mine, "/admin/tickets/?flt0_0=new", "新規").status_code == 302
    view = db.session.scalars(sa.select(SavedView)).one()
    assert _menu(other.get("/admin/tickets/").text) == []
    assert other.get(f"/admin/tickets/views/{view.id}").status_code == 404
    page = other.get("/admin/tickets/views/")
    assert "新規" not in re.sub(r"<nav.*?</nav>", "", page.text, flags=re.S)
    deleting = other.post(
        f"/admin/tickets/views/{view.id}/delete", data={"csrf_token": csrf_token(page.text)}
    )
    assert deleting.status_code == 404
    assert db.session.get(SavedView, view.id) is not None


def test_deleting_a_view_needs_the_form_and_removes_it(signed_in, db) -> None:
    seed_tree()
    agent = signed_in(Role.AGENT)
    _save(agent, "/admin/tickets/?flt0_0=new", "新規")
    view = db.session.scalars(sa.select(SavedView)).one()
    assert agent.post(f"/admin/tickets/views/{view.id}/delete").status_code == 400  # no CSRF token
    page = agent.get("/admin/tickets/views/")
    assert "新規" in page.text
    done = agent.post(
        f"/admin/tickets/views/{view.id}/delete",
        data={"csrf_token": csrf_token(page.text)},
        follow_redirects=True,
    )
    assert "「新規」を削除しました。" in done.text
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SavedView)) == 0


def test_a_filter_this_release_lacks_is_left_out_not_an_error(signed_in, db) -> None:
    seed_tree()
    agent = signed_in(Role.AGENT)
    view = SavedView(
        operator_id=agent.operator.id,
        name="古い表示",
        filters=[["gone", "1"], ["status", "new"]],
        sort="gone_column",
    )
    db.session.add(view)
    db.session.commit()
    opened = agent.get(f"/admin/tickets/views/{view.id}")
    assert opened.status_code == 302
    assert opened.location == "/admin/tickets/?flt0_0=new"


def test_a_search_too_long_to_keep_is_said_and_url_for_keywords_are_ignored(signed_in) -> None:
    seed_tree()
    agent = signed_in(Role.AGENT)
    long = _save(agent, "/admin/tickets/?search=" + "あ" * 201, "長い検索")
    assert long.status_code == 422
    assert "検索する文字が長すぎるため保存できません（200文字まで）。" in long.text
    # url_for's own keywords in the query string never reach the links the page builds.
    page = agent.get("/admin/tickets/?flt0_0=new&_method=GET&_anchor=x&_external=1")
    assert page.status_code == 200
    assert 'action="/admin/tickets/views/save?flt0_0=new"' in page.text
