"""Inquiries as requesters make them: the category tree, form input, and walking the public form."""

import re
from typing import Any

import sqlalchemy as sa
from flask.testing import FlaskClient

from backoffice.extensions import db
from backoffice.inquiries.categories import ACCOUNT_REQUEST, seed_categories
from backoffice.inquiries.models import Inquiry, InquiryCategory
from tests.builders.web import csrf_token


def seed_tree() -> None:
    seed_categories()


def category(major: str, minor: str) -> InquiryCategory:
    parent = sa.orm.aliased(InquiryCategory)
    return db.session.execute(
        sa.select(InquiryCategory)
        .join(parent, InquiryCategory.parent)
        .where(parent.name == major, InquiryCategory.name == minor)
    ).scalar_one()


def general_input(**overrides: Any) -> dict[str, str]:
    """A valid general inquiry, as a person would type it (full-width where people do)."""
    cat = category("介護情報基盤ポータルについて", "ログイン・パスワード")
    data = {
        "major_category": str(cat.parent_id),
        "category": str(cat.id),
        "name": "山田　太郎",
        "name_kana": "やまだ　たろう",
        "organization": "ひまわりデイサービス",
        "email": "yamada@himawari.example.jp",
        "email_confirm": "yamada@himawari.example.jp",
        "phone": "０３－１２３４－５６７８",
        "body": "ログインできません。",
        "privacy_consent": "y",
    }
    data.update(overrides)
    return data


def account_request_input(**overrides: Any) -> dict[str, str]:
    """A valid 「介護情報基盤ポータルのID発行申請」 inquiry."""
    cat = category("その他", ACCOUNT_REQUEST)
    data = {
        "major_category": str(cat.parent_id),
        "category": str(cat.id),
        "name": "佐藤 花子",
        "name_kana": "サトウ ハナコ",
        "email": "sato@sakura-clinic.example.jp",
        "email_confirm": "sato@sakura-clinic.example.jp",
        "phone": "03-1234-5678",
        "medical_code": "0110113719",
        "institution_name": "さくら在宅クリニック",
        "institution_kana": "さくらざいたくクリニック",
        "postal_code": "〒100-0001",
        "address": "東京都千代田区千代田１－１",
        "department": "事務部",
        "body": "",
        "privacy_consent": "y",
    }
    data.update(overrides)
    return data


def post_input(client: FlaskClient, data: dict[str, str]):
    """入力 step: GET the form (for its CSRF token), then POST the data."""
    page = client.get("/inquiry")
    return client.post("/inquiry", data={**data, "csrf_token": csrf_token(page.text)})


def confirm_page(client: FlaskClient, data: dict[str, str]):
    response = post_input(client, data)
    assert response.status_code == 302, response.text
    return client.get(response.headers["Location"])


def send(client: FlaskClient, data: dict[str, str]):
    """Walk 入力 → 確認 → 送信 and return the 送信 response (a redirect to 完了)."""
    page = confirm_page(client, data)
    return client.post("/inquiry/confirm", data=confirm_fields(page.text))


def confirm_fields(html: str) -> dict[str, str]:
    key = re.search(r'name="submission_key" type="hidden" value="([^"]+)"', html)
    assert key, "no submission key on the confirmation page"
    return {"csrf_token": csrf_token(html), "submission_key": key.group(1)}


def make_inquiry(client: FlaskClient, **overrides: Any) -> Inquiry:
    """A general inquiry sent through the public form (入力 → 確認 → 送信), with `overrides` of the
    typed fields; the category tree must exist (`seed_tree()`)."""
    data = general_input(**overrides)
    response = send(client, data)
    assert response.status_code == 302, response.text
    return db.session.scalars(
        sa.select(Inquiry)
        .where(Inquiry.email == data["email"])
        .order_by(Inquiry.id.desc())
        .limit(1)
    ).one()
