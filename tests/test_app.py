"""The foundation: configuration, error pages, security headers, health check, CLI."""

import re

import pytest
import sqlalchemy as sa

from backoffice import create_app
from backoffice.config import ConfigError
from backoffice.inquiries.models import Inquiry, InquiryCategory
from tests.builders.app import app_config


def test_outside_development_a_missing_secret_key_or_mail_server_stops_start_up(
    monkeypatch,
) -> None:
    for name in (
        "FLASK_DEVELOPMENT",
        "SECRET_KEY",
        "FLASK_SECRET_KEY",
        "FLASK_MAIL_SERVER",
        "FLASK_PUBLIC_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ConfigError, match=r"FLASK_SECRET_KEY.*FLASK_MAIL_SERVER"):
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    with pytest.raises(ConfigError, match="FLASK_MAIL_SERVER"):
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "k"})


def test_app_configuration_order_defaults_env_then_overrides(monkeypatch) -> None:
    monkeypatch.setenv("FLASK_DEVELOPMENT", "true")
    monkeypatch.setenv("FLASK_MAIL_PORT", "2525")
    monkeypatch.setenv("FLASK_INQUIRY_SEND_LIMIT", "1 per day")
    monkeypatch.setenv("DATABASE_URL", "postgres://u@db.example/kip")
    monkeypatch.setenv("SECRET_KEY", "from-env")
    app = create_app({"INQUIRY_SEND_LIMIT": "9 per day"})
    assert app.config["MAIL_PORT"] == 2525
    assert app.config["INQUIRY_SEND_LIMIT"] == "9 per day"
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@db.example/kip"
    assert app.config["SECRET_KEY"] == "from-env"
    assert app.config["SESSION_COOKIE_SECURE"] is False


def test_production_cookies_are_secure_and_hsts_is_sent(monkeypatch) -> None:
    monkeypatch.delenv("FLASK_DEVELOPMENT", raising=False)
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": "sqlite://",
            "SECRET_KEY": "k",
            "MAIL_SERVER": "mail.example",
            "PUBLIC_URL": "https://localhost",
        }
    )
    with app.app_context():
        from backoffice.extensions import db

        db.create_all()
    response = app.test_client().get("/login", base_url="https://localhost")
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("__Host-kip_session=")
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
    assert {"secure", "httponly", "path"} <= attributes
    assert "domain" not in attributes
    assert "expires" not in attributes  # no remember-me
    assert "max-age" not in attributes
    assert "Path=/" in cookie
    assert "SameSite=Lax" in cookie
    hsts = response.headers["Strict-Transport-Security"]
    assert int(re.search(r"max-age=(\d+)", hsts).group(1)) >= 365 * 24 * 3600
    assert "includeSubDomains" in hsts


def test_security_headers_on_every_page(client) -> None:
    for url in ("/", "/inquiry", "/missing"):
        headers = client.get(url).headers
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert "script-src 'self'" in headers["Content-Security-Policy"]
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Cross-Origin-Opener-Policy"] == "same-origin"


def test_session_cookie_is_httponly_and_lax(client, db) -> None:
    from tests.builders.inquiries import general_input, post_input, seed_tree

    seed_tree()
    response = post_input(client, general_input())
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_pages_have_japanese_language_title_skip_link_and_one_h1(client) -> None:
    for url in ("/", "/flows", "/inquiry", "/inquiry/complete", "/login", "/register", "/missing"):
        html = client.get(url).text
        assert '<html lang="ja">' in html
        assert re.search(r"<title>[^<]+ \| 介護情報基盤ポータル</title>", html)
        assert html.count("<h1") == 1, url
        assert '<a class="skip-link" href="#main">本文へ移動</a>' in html


@pytest.mark.parametrize(
    ("method", "url", "status", "title"),
    [
        ("get", "/missing", 404, "ページが見つかりません"),
        ("delete", "/inquiry", 405, "この操作はできません"),
    ],
)
def test_japanese_error_pages(client, method: str, url: str, status: int, title: str) -> None:
    response = getattr(client, method)(url)
    assert response.status_code == status
    assert f"<h1>{title}</h1>" in response.text


def test_unexpected_error_gets_the_japanese_500_page_and_rolls_back(database_url, db) -> None:

    app = create_app(app_config(database_url, PROPAGATE_EXCEPTIONS=False))

    @app.get("/boom")
    def boom() -> str:
        from backoffice.extensions import db as _db

        _db.session.add(InquiryCategory(name="書きかけ"))
        _db.session.flush()
        raise RuntimeError("boom")

    response = app.test_client().get("/boom")
    assert response.status_code == 500
    assert "申し訳ありません。システムでエラーが発生しました" in response.text
    assert "RuntimeError" not in response.text
    with app.app_context():
        from backoffice.extensions import db as _db

        assert _db.session.scalar(sa.select(sa.func.count()).select_from(InquiryCategory)) == 0
        _db.session.remove()
        _db.engine.dispose()


def test_healthz_checks_the_database(client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok"}


def test_healthz_reports_an_unreachable_database(tmp_path) -> None:

    app = create_app(app_config(f"sqlite:///{tmp_path}/missing-dir/none.sqlite3"))
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["database"] == "unreachable"


def test_demo_seed_is_idempotent(runner, db) -> None:
    first = runner.invoke(args=["demo", "seed"])
    assert first.exit_code == 0, first.output
    assert "demo inquiries added: 3" in first.output
    assert "demo mails received: 2" in first.output
    second = runner.invoke(args=["demo", "seed"])
    assert "categories added: 0" in second.output
    assert "demo inquiries added: 0" in second.output
    assert "demo mails received: 0" in second.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Inquiry)) == 3
    request = db.session.scalars(sa.select(Inquiry).where(Inquiry.account_request.has())).one()
    assert request.category.is_account_request


def test_categories_seed_keeps_operator_changes(runner, db) -> None:
    runner.invoke(args=["categories", "seed"])
    closed = db.session.scalars(
        sa.select(InquiryCategory).where(InquiryCategory.name == "費用・補助金")
    ).one()
    closed.is_active = False
    db.session.commit()
    result = runner.invoke(args=["categories", "seed"])
    assert "categories added: 0" in result.output
    db.session.refresh(closed)
    assert closed.is_active is False
    tree = db.session.scalars(
        sa.select(InquiryCategory).where(InquiryCategory.parent_id.is_(None))
    ).all()
    names = [c.name for c in tree]
    for required in ("介護情報基盤ポータルについて", "電子請求受付システムについて", "その他"):
        assert required in names
    assert all(len(c.children) >= 3 for c in tree)
    other = next(c for c in tree if c.name == "その他")
    [request] = [c for c in other.children if c.is_account_request]
    assert request.name == "介護情報基盤ポータルのID発行申請"


@pytest.mark.parametrize(
    ("code", "title"),
    [
        (400, "リクエストを処理できませんでした"),
        (403, "このページを表示する権限がありません"),
        (413, "送信内容が大きすぎます"),
        (429, "短時間に多くの操作が行われました"),
    ],
)
def test_every_error_a_user_can_meet_has_a_japanese_page(
    database_url, code: int, title: str
) -> None:
    from flask import abort

    app = create_app(app_config(database_url))
    app.add_url_rule("/fail", "fail", lambda: abort(code))
    response = app.test_client().get("/fail")
    assert response.status_code == code
    assert f"<h1>{title}</h1>" in response.text
    assert "お問い合わせ窓口" in response.text


def test_top_page_links_the_registration_flows_page(client) -> None:
    assert 'href="/flows"' in client.get("/").text
    page = client.get("/flows").text
    assert '介護事業所・みなし介護事業所<a href="#note-1"' in page
    assert "医療機関の方" in page
    assert "最大で4名" in page


@pytest.mark.parametrize(
    ("opens", "closes"),
    [("17:00", "09:00"), ("09:00", "09:00"), ("9時", "17:00"), ("09:00:30", "17:00")],
)
def test_desk_hours_must_be_a_span_within_a_day(monkeypatch, opens: str, closes: str) -> None:
    """The service targets count in 受付時間: a span that is empty or backwards is refused at start
    (it would make every target endless)."""
    monkeypatch.setenv("FLASK_DEVELOPMENT", "true")
    with pytest.raises(ConfigError, match="HELPDESK"):
        create_app(
            {
                "SQLALCHEMY_DATABASE_URI": "sqlite://",
                "HELPDESK_OPENS": opens,
                "HELPDESK_CLOSES": closes,
            }
        )


def test_demo_seed_mails_each_registrant_one_initial_password_that_works(runner, db) -> None:
    from backoffice.accounts.models import PortalUser
    from backoffice.mail.models import OutboundEmail
    from backoffice.mail.outbox import readable
    from backoffice.passwords import verify_password

    seeded = runner.invoke(args=["demo", "seed"])
    assert seeded.exit_code == 0, seeded.output
    printed = dict(re.findall(r"ID: (\S+)\s+初期パスワード: (\S+)", seeded.output))
    registrants = db.session.scalars(sa.select(PortalUser)).all()
    assert registrants
    assert set(printed) == {u.email for u in registrants}
    for user in registrants:
        mails = db.session.scalars(
            sa.select(OutboundEmail).where(
                OutboundEmail.to_address == user.email,
                OutboundEmail.subject.contains("初期パスワード"),
            )
        ).all()
        assert len(mails) == 1, user.email
        mailed = re.search(r"^初期パスワード：(\S+)$", readable(mails[0])[0], re.M).group(1)
        assert mailed == printed[user.email]
        assert verify_password(user.password_hash, mailed)
