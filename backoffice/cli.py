"""Command-line groups: `flask categories seed`, `flask demo seed` (and `mail`, from its package)."""

import click
import sqlalchemy as sa
import sqlalchemy.orm
from flask import Flask, current_app
from flask.cli import AppGroup

from backoffice.extensions import db
from backoffice.inquiries import operations
from backoffice.inquiries.categories import ACCOUNT_REQUEST, seed_categories
from backoffice.inquiries.models import InquiryCategory
from backoffice.mail.cli import mail_cli
from backoffice.urls import external_url

categories_cli = AppGroup("categories", help="The inquiry category tree.")
demo_cli = AppGroup("demo", help="Demonstration data for a local run.")


@categories_cli.command("seed")
def categories_seed() -> None:
    """Add the standard 大/中カテゴリー that are missing (idempotent)."""
    click.echo(f"categories added: {seed_categories()}")


# Demo inquiries: fixed submission keys make seeding idempotent (a second run finds them).
DEMO_INQUIRIES = [
    {
        "key": "demo-inquiry-0001",
        "category": ("その他", ACCOUNT_REQUEST),
        "requester_name": "佐藤 花子",
        "requester_kana": "サトウ ハナコ",
        "email": "sato.hanako@clinic-demo.example.jp",
        "phone": "0312345678",
        "body": "訪問看護の利用者について、介護情報基盤ポータルを利用したいため、IDの発行をお願いします。",
        "account_request": operations.AccountRequestInput(
            medical_code="1310110049",
            medical_code_check_ok=True,
            institution_name="さくら在宅クリニック",
            institution_kana="サクラザイタククリニック",
            postal_code="100-0001",
            address="東京都千代田区千代田1-1",
            department="事務部",
        ),
    },
    {
        "key": "demo-inquiry-0002",
        "category": ("電子請求受付システムについて", "セキュリティ用メールアドレスの登録"),
        "requester_name": "鈴木 一郎",
        "requester_kana": "スズキ イチロウ",
        "organization_name": "ひまわりデイサービス",
        "email": "suzuki@himawari-demo.example.jp",
        "phone": "0451234567",
        "body": "初回利用登録をしようとしたところ、セキュリティ用メールアドレスが未登録と表示されました。"
        "どこで登録すればよいでしょうか。",
    },
    {
        "key": "demo-inquiry-0003",
        "category": ("介護情報基盤ポータルについて", "ワンタイムパスワードが届かない"),
        "requester_name": "高橋 美咲",
        "requester_kana": "タカハシ ミサキ",
        "organization_name": "あおぞら訪問介護ステーション",
        "email": "takahashi@aozora-demo.example.jp",
        "phone": "09012345678",
        "body": "ログイン時のワンタイムパスワードのメールが届きません。迷惑メールフォルダも確認しました。",
    },
]


@demo_cli.command("seed")
def demo_seed() -> None:
    """Load demonstration data: the category tree and a few inquiries (idempotent)."""
    click.echo(f"categories added: {seed_categories()}")
    base_url = current_app.config["PUBLIC_URL"] or "http://127.0.0.1:5000"
    created = 0
    with current_app.test_request_context(base_url=base_url):
        for demo in DEMO_INQUIRIES:
            major_name, minor_name = demo["category"]
            category = _category(major_name, minor_name)
            result = operations.submit_inquiry(
                operations.InquiryInput(
                    category_id=category.id,
                    requester_name=demo["requester_name"],
                    requester_kana=demo["requester_kana"],
                    organization_name=demo.get("organization_name")
                    or demo["account_request"].institution_name,
                    email=demo["email"],
                    phone=demo["phone"],
                    body=demo["body"],
                    account_request=demo.get("account_request"),
                ),
                submission_key=demo["key"],
                status_url_for=lambda token: external_url("inquiries.status", token=token),
            )
            created += result.created
    click.echo(f"demo inquiries added: {created}")


def _category(major_name: str, minor_name: str) -> InquiryCategory:
    parent = sa.orm.aliased(InquiryCategory)
    return db.session.execute(
        sa.select(InquiryCategory)
        .join(parent, InquiryCategory.parent)
        .where(parent.name == major_name, InquiryCategory.name == minor_name)
    ).scalar_one()


def init_app(app: Flask) -> None:
    for group in (categories_cli, demo_cli, mail_cli):
        app.cli.add_command(group)
