"""Links in mail come from PUBLIC_URL only, and unknown Host headers are refused outside development."""

from collections.abc import Iterator

import pytest
from flask import Flask

from backoffice import create_app
from backoffice.config import ConfigError
from backoffice.extensions import db
from backoffice.mail.outbox import readable
from tests.builders.accounts import last_mail_to
from tests.builders.inquiries import general_input, seed_tree, send

PRODUCTION = {
    "SECRET_KEY": "k",
    "MAIL_SERVER": "mail.example",
    "PUBLIC_URL": "https://portal.example.jp",
    "RATELIMIT_ENABLED": False,
}


@pytest.fixture
def production_app(tmp_path, monkeypatch) -> Iterator[Flask]:
    monkeypatch.delenv("FLASK_DEVELOPMENT", raising=False)
    app = create_app(
        {**PRODUCTION, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'p.sqlite3'}"}
    )
    with app.app_context():
        db.create_all()
        yield app


def test_outside_development_a_missing_or_malformed_public_url_stops_start_up(monkeypatch) -> None:
    monkeypatch.delenv("FLASK_DEVELOPMENT", raising=False)
    monkeypatch.delenv("FLASK_PUBLIC_URL", raising=False)
    without = {k: v for k, v in PRODUCTION.items() if k != "PUBLIC_URL"}
    with pytest.raises(ConfigError, match="FLASK_PUBLIC_URL"):
        create_app({**without, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    with pytest.raises(ConfigError, match="http"):
        create_app(
            {
                **PRODUCTION,
                "PUBLIC_URL": "portal.example.jp",
                "SQLALCHEMY_DATABASE_URI": "sqlite://",
            }
        )


def test_outside_development_only_the_public_host_is_answered(production_app: Flask) -> None:
    client = production_app.test_client()
    assert client.get("/", base_url="https://portal.example.jp").status_code == 200
    refused = client.get("/", base_url="https://evil.example")
    assert refused.status_code == 400
    assert "リクエストを処理できませんでした" in refused.text
    forged = client.get("/inquiry", headers={"Host": "evil.example"})
    assert forged.status_code == 400


def test_a_health_probe_by_ip_address_still_gets_healthz(production_app: Flask) -> None:
    client = production_app.test_client()
    for host in ("10.0.0.5", "10.0.0.5:8000", "[fd00::5]:8000"):
        response = client.get("/healthz", base_url=f"http://{host}")
        assert response.status_code == 200, host
        assert response.json == {"status": "ok", "database": "ok"}
        assert client.get("/", base_url=f"http://{host}").status_code == 400
    assert client.get("/healthz", base_url="http://evil.example").status_code == 400


def test_prometheus_scrapes_each_server_by_ip_address(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("FLASK_DEVELOPMENT", raising=False)
    app = create_app(
        {
            **PRODUCTION,
            "METRICS_TOKEN": "t" * 32,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'p.sqlite3'}",
        }
    )
    with app.app_context():
        db.create_all()
        client = app.test_client()
        auth = {"Authorization": "Bearer " + "t" * 32}
        scraped = client.get("/metrics", base_url="http://10.0.0.5:8000", headers=auth)
        assert scraped.status_code == 200
        assert "kip_database_up 1.0" in scraped.text
        assert client.get("/metrics", base_url="http://10.0.0.5:8000").status_code == 401
        assert (
            client.get("/metrics", base_url="http://evil.example", headers=auth).status_code == 400
        )


@pytest.mark.parametrize("app_overrides", [{"SERVER_NAME": "evil.example"}])
def test_mailed_links_ignore_the_request_host(client, db) -> None:
    seed_tree()
    data = general_input()
    assert send(client, data).status_code == 302  # every request with Host: evil.example
    body = readable(last_mail_to(data["email"]))[0]
    assert "http://localhost/inquiry/status/" in body
    assert "evil.example" not in body
