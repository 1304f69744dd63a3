"""お知らせ with a frozen clock: 管理者 publish them for a period, the public and portal pages show them
from their start to their end on the places chosen; bad input keeps what was typed; only 管理者."""

import re
from datetime import datetime

import pytest
import sqlalchemy as sa
import time_machine

from backoffice.audit.models import AuditEvent
from backoffice.display import JST
from backoffice.notices.models import Notice
from backoffice.operators.models import Role
from tests.builders.web import csrf_token

TITLE = "電子請求受付システムの障害について"
BODY = (
    "12月3日9時ごろから、電子請求受付システムにログインできない状態です。\n復旧までお待ちください。"
)


def jst(*args: int) -> datetime:
    return datetime(*args, tzinfo=JST)


def _form(**overrides: str) -> dict[str, str]:
    data = {
        "title": TITLE,
        "body": BODY,
        "on_public": "y",
        "on_portal": "y",
        "starts_at": "2026-12-03T09:00",
        "ends_at": "2026-12-03T18:00",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def _publish(client, **overrides: str):
    page = client.get("/admin/notices/new")
    return client.post(
        "/admin/notices/new", data={"csrf_token": csrf_token(page.text), **_form(**overrides)}
    )


def _banner(client, path: str) -> str:
    page = client.get(path).text
    found = re.search(r'<section class="site-notices".*?</section>', page, re.S)
    return found.group(0) if found else ""


def test_a_notice_shows_from_its_start_to_its_end(signed_in, client) -> None:
    with time_machine.travel(jst(2026, 12, 3, 8, 0), tick=False):
        assert _publish(signed_in(Role.ADMIN)).status_code == 302
        assert _banner(client, "/inquiry") == ""  # not yet
    for moment in (jst(2026, 12, 3, 9, 0), jst(2026, 12, 3, 17, 59)):
        with time_machine.travel(moment, tick=False):
            for path in ("/", "/inquiry", "/login", "/register"):
                banner = _banner(client, path)
                assert TITLE in banner, (path, moment)
                assert "復旧までお待ちください。" in banner
    with time_machine.travel(jst(2026, 12, 3, 18, 0), tick=False):
        admin = signed_in(Role.ADMIN)
        assert _banner(client, "/inquiry") == ""  # ended
        assert TITLE not in admin.get("/admin/").text  # never on the back office
        assert "掲載終了" in admin.get("/admin/notices/").text


def test_a_cached_notice_still_starts_and_ends_on_time(app, signed_in, client) -> None:
    app.config["NOTICE_CACHE_SECONDS"] = 3600
    with time_machine.travel(jst(2026, 12, 3, 8, 0), tick=False):
        _publish(signed_in(Role.ADMIN))
        assert _banner(client, "/inquiry") == ""  # read (and kept) before its start
    with time_machine.travel(jst(2026, 12, 3, 9, 30), tick=False):
        assert TITLE in _banner(client, "/inquiry")
    with time_machine.travel(jst(2026, 12, 3, 18, 30), tick=False):
        assert _banner(client, "/inquiry") == ""


@pytest.mark.parametrize(
    ("where", "public", "portal"),
    [({"on_portal": None}, True, False), ({"on_public": None}, False, True)],
)
def test_a_notice_shows_only_where_chosen(signed_in, client, where, public, portal) -> None:
    with time_machine.travel(jst(2026, 12, 3, 10, 0), tick=False):
        assert _publish(signed_in(Role.ADMIN), **where).status_code == 302
        assert (TITLE in _banner(client, "/inquiry")) is public
        assert (TITLE in _banner(client, "/login")) is portal


def test_an_important_notice_says_so_and_comes_first(signed_in, client) -> None:
    with time_machine.travel(jst(2026, 12, 3, 10, 0), tick=False):
        admin = signed_in(Role.ADMIN)
        _publish(admin, title="メンテナンスのお知らせ")
        _publish(admin, title="ワンタイムパスワードのメールが遅れています", important="y")
        banner = _banner(client, "/inquiry")
    assert '<span class="site-notice__badge">重要</span>ワンタイムパスワード' in banner
    assert banner.index("ワンタイムパスワード") < banner.index("メンテナンス")


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"title": "　"}, "title", "見出しを入力してください。"),
        ({"title": "長" * 61}, "title", "見出しは60文字以内で入力してください。"),
        ({"body": ""}, "body", "本文を入力してください。"),
        ({"starts_at": ""}, "starts_at", "掲載開始の日時を入力してください。"),
        (
            {"starts_at": "0001-01-01T00:00"},
            "starts_at",
            "2000年から2100年までの日時を入力してください。",
        ),
        (
            {"starts_at": "12/3 9時"},
            "starts_at",
            "日時を「2026-12-03 09:00」の形で入力してください。",
        ),
        (
            {"ends_at": "2026-12-03T08:00"},
            "ends_at",
            "掲載終了は掲載開始より後の日時にしてください。",
        ),
        ({"on_public": None, "on_portal": None}, "on_public", "掲載する画面を選んでください。"),
    ],
)
def test_bad_input_is_refused_next_to_its_field_and_kept(
    signed_in, db, overrides, field, message
) -> None:
    refused = _publish(signed_in(Role.ADMIN), **overrides)
    assert refused.status_code == 422
    assert re.search(rf'id="err-{field}">{re.escape(message)}<', refused.text), refused.text
    assert "復旧までお待ちください。" in refused.text or field == "body"  # what was typed stays
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notice)) == 0


def test_changing_and_withdrawing_a_notice(signed_in, client, db) -> None:
    with time_machine.travel(jst(2026, 12, 3, 10, 0), tick=False):
        admin = signed_in(Role.ADMIN)
        _publish(admin)
        notice = db.session.scalars(sa.select(Notice)).one()
        page = admin.get(f"/admin/notices/{notice.id}/")
        assert 'value="2026-12-03T09:00"' in page.text  # shown in Japan time
        changed = admin.post(
            f"/admin/notices/{notice.id}/",
            data={"csrf_token": csrf_token(page.text), **_form(title="復旧しました")},
        )
        assert changed.status_code == 302
        assert "復旧しました" in _banner(client, "/inquiry")
        listing = admin.get("/admin/notices/")
        assert "掲載中" in listing.text
        withdrawn = admin.post(
            f"/admin/notices/{notice.id}/delete", data={"csrf_token": csrf_token(listing.text)}
        )
        assert withdrawn.status_code == 302
        assert _banner(client, "/inquiry") == ""
    actions = db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert [a for a in actions if a.startswith("notice.")] == [
        "notice.published",
        "notice.changed",
        "notice.withdrawn",
    ]
    audit = signed_in(Role.ADMIN).get("/admin/audit/").text
    assert "お知らせの掲載" in audit
    assert "お知らせの削除" in audit


@pytest.mark.parametrize("role", [Role.AGENT, Role.VIEWER])
def test_only_admins_publish(signed_in, db, role) -> None:
    operator = signed_in(role)
    assert operator.get("/admin/notices/").status_code == 403
    assert operator.get("/admin/notices/new").status_code == 403
    page = operator.get("/admin/")
    posted = operator.post(
        "/admin/notices/new", data={"csrf_token": csrf_token(page.text), **_form()}
    )
    assert posted.status_code == 403
    assert "/admin/notices/" not in page.text  # not in their menu
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notice)) == 0


def test_the_time_may_be_typed_as_the_message_shows_it(signed_in, db) -> None:
    with time_machine.travel(jst(2026, 12, 3, 8, 0), tick=False):
        typed = _publish(
            signed_in(Role.ADMIN), starts_at="2026-12-03 09:00", ends_at="2026-12-03 18:00:00"
        )
    assert typed.status_code == 302
    notice = db.session.scalars(sa.select(Notice)).one()
    assert notice.starts_at == jst(2026, 12, 3, 9, 0)
