"""`flask demo seed` and `flask demo code`: the demonstration data of a local run (`make run`)."""

import csv
import io
from email.mime.text import MIMEText
from email.utils import formataddr

import click
import pyotp
import sqlalchemy as sa
import sqlalchemy.orm
from flask import current_app
from flask.cli import AppGroup

from backoffice.accounts.models import Organization, OrganizationKind, PortalUser, TermsVersion
from backoffice.accounts.users import UserDetails, create_user, reissue_initial_password
from backoffice.db import utcnow
from backoffice.eclaims import importer
from backoffice.extensions import db
from backoffice.inbound import addresses
from backoffice.inbound.models import InboundSource
from backoffice.inbound.receive import receive
from backoffice.inquiries import operations
from backoffice.inquiries.canned import CannedReply
from backoffice.inquiries.categories import ACCOUNT_REQUEST, seed_categories
from backoffice.inquiries.models import Inquiry, InquiryCategory
from backoffice.operators import operations as operator_ops
from backoffice.operators.models import Operator, Role
from backoffice.urls import external_url

demo_cli = AppGroup("demo", help="Demonstration data for a local run.")


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
    base_url = current_app.config["PUBLIC_URL"]
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
        click.echo(f"demo mails received: {_demo_inbound_mail()}")
        click.echo(f"canned replies added: {_demo_canned_replies()}")
        _demo_terms()
        _demo_operator()
        _demo_portal_users()
        _demo_eclaims()


def _demo_inbound_mail() -> int:
    """A reply by mail to the ワンタイムパスワード inquiry, and a mail to no ticket (未振り分けメール), each
    taken in as `flask mail receive` would (their Message-IDs make it idempotent)."""
    inquiry = db.session.scalar(
        sa.select(Inquiry).where(Inquiry.submission_key == "demo-inquiry-0003")
    )
    mails = [
        (
            "高橋 美咲",
            inquiry.email,
            addresses.reply_address(inquiry) or "support@kaigo-portal.example.jp",
            f"Re: 【介護情報基盤ポータル】お問い合わせを受け付けました（受付番号 {inquiry.reference_number}）",
            "補足です。携帯電話のメールアドレスで登録しています。よろしくお願いいたします。",
            "<demo-reply-0001@aozora-demo.example.jp>",
        ),
        (
            "山本 健",
            "yamamoto@minato-demo.example.jp",
            "support@kaigo-portal.example.jp",
            "ポータルのID発行について",
            "医療機関のIDを申請したいのですが、どこから申し込めばよいですか。",
            "<demo-mail-0002@minato-demo.example.jp>",
        ),
    ]
    db.session.commit()  # the reply token, if it was just minted
    taken = 0
    for name, sender, to, subject, text, message_id in mails:
        message = MIMEText(text, "plain", "utf-8")
        message["From"] = formataddr((name, sender))
        message["To"] = to
        message["Subject"] = subject
        message["Message-ID"] = message_id
        taken += not receive(message.as_bytes(), InboundSource.PIPE).duplicate
    return taken


DEMO_CANNED_REPLIES = [
    (
        "セキュリティ用メールアドレスの登録方法",
        "電子請求受付システムにログインし、「セキュリティ用メールアドレス」を登録してください。"
        "登録が完了しましたら、あらためて介護情報基盤ポータルの初回利用登録を行ってください。",
    ),
    (
        "ワンタイムパスワードが届かない場合",
        "迷惑メールフォルダをご確認ください。携帯電話のメールアドレスをお使いの場合は、"
        "ドメイン指定受信の設定で当窓口からのメールを受信できるようにしてください。",
    ),
    (
        "ID発行済み（登録者がいる場合）",
        "お問い合わせの医療機関コードでは、すでに介護情報基盤ポータルのアカウントが発行されています。"
        "追加のユーザは、登録者の方がマイページの「ユーザ新規登録」から追加できます（最大4名）。",
    ),
]


def _demo_canned_replies() -> int:
    existing = set(db.session.scalars(sa.select(CannedReply.title)))
    added = 0
    for position, (title, body) in enumerate(DEMO_CANNED_REPLIES, start=1):
        if title not in existing:
            db.session.add(CannedReply(title=title, body=body, position=position * 10))
            added += 1
    db.session.commit()
    return added


DEMO_TERMS_BODY = """第1条（目的）
この規約は、介護情報基盤ポータル（以下「本ポータル」といいます。）の利用条件を定めるものです。

第2条（利用者）
本ポータルを利用できるのは、運営主体が認めた介護事業所、みなし介護事業所および医療機関の職員です。

第3条（ID・パスワードの管理）
利用者は、ID（メールアドレス）およびパスワードを自らの責任で管理し、第三者に知らせてはなりません。

第4条（禁止事項）
利用者は、本ポータルで得た情報を業務以外の目的で利用してはなりません。

第5条（規約の変更）
運営主体は、この規約を変更することがあります。変更後は、改めて同意いただいたうえで利用できます。
"""


def _demo_terms() -> None:
    if db.session.scalar(sa.select(TermsVersion.id).limit(1)) is None:
        db.session.add(
            TermsVersion(
                version="2026-04",
                title="介護情報基盤ポータル利用規約",
                body=DEMO_TERMS_BODY,
                published_at=utcnow(),
            )
        )
        db.session.commit()
        click.echo("terms of use published: 2026-04")


# Organizations with a registrant each, ready for the first login (docs/flows.md: 医療機関 and 介護事業所).
DEMO_ORGANIZATIONS = [
    (
        {
            "kind": OrganizationKind.MEDICAL,
            "name": "さくら在宅クリニック",
            "name_kana": "サクラザイタククリニック",
            "office_number": "1310110049",
            "postal_code": "100-0001",
            "address": "東京都千代田区千代田1-1",
        },
        UserDetails(
            name="佐藤 花子",
            name_kana="サトウ ハナコ",
            email="registrant@sakura-clinic-demo.example.jp",
            phone="0312345678",
            department="事務部",
        ),
    ),
    (
        {
            "kind": OrganizationKind.CARE,
            "name": "ひまわりデイサービス",
            "name_kana": "ヒマワリデイサービス",
            "office_number": "04A0700017",
            "eclaims_id": "KJ123456789012",
        },
        UserDetails(
            name="鈴木 一郎",
            name_kana="スズキ イチロウ",
            email="registrant@himawari-demo.example.jp",
            phone="0451234567",
            department="管理者",
        ),
    ),
]


def _demo_portal_users() -> None:
    """Create the demo organizations once; in development, give each registrant who has not chosen a
    password yet a fresh initial password and print it (initial passwords exist only in the mail)."""
    for org_fields, registrant in DEMO_ORGANIZATIONS:
        organization = db.session.scalar(
            sa.select(Organization).where(Organization.office_number == org_fields["office_number"])
        )
        if organization is None:
            organization = Organization(**org_fields)
            db.session.add(organization)
            # In development the password is set (and mailed) once, below, where it is printed.
            create_user(
                organization,
                registrant,
                is_registrant=True,
                initial_password=not current_app.config["DEVELOPMENT"],
            )
            db.session.commit()
            click.echo(f"demo organization added: {organization.name}")
        if not current_app.config["DEVELOPMENT"]:
            continue
        user = db.session.scalar(sa.select(PortalUser).where(PortalUser.email == registrant.email))
        if user is not None and user.must_change_password:
            password = reissue_initial_password(user, reveal=True)
            click.echo(
                f"  portal: /login  ID: {user.email}  初期パスワード: {password}  ({organization.kind.label})"
            )


# Offices of the 電子請求受付システム showing every branch of 初回利用登録 (one password for all).
DEMO_ECLAIMS_PASSWORD = "eclaims-demo-2026"  # noqa: S105 (demo data, printed in development)
DEMO_ECLAIMS = [
    (
        "KJ000000000001",
        "aozora-security@demo.example.jp",
        "",
        "1310100019",
        "あおぞら訪問介護ステーション",
        "care",
        "セキュリティ用メールアドレスあり",
    ),
    (
        "KJ000000000002",
        "",
        "",
        "1310100027",
        "こもれび通所介護",
        "care",
        "セキュリティ用メールアドレスなし（※3の案内）",
    ),
    (
        "KJ000000000003",
        "midori-security@demo.example.jp",
        "7391",
        "2710100039",
        "みどりケアセンター",
        "care",
        "セキュリティコードあり（7391）",
    ),
    (
        "KJ000000000004",
        "kaede-security@demo.example.jp",
        "",
        "0110112489",
        "かえで内科クリニック",
        "deemed",
        "みなし介護事業所（事業所番号＝医療機関コード）",
    ),
    (
        "KJ123456789012",
        "himawari-security@demo.example.jp",
        "",
        "04A0700017",
        "ひまわりデイサービス",
        "care",
        "登録済み（登録済みの案内）",
    ),
]


def _demo_eclaims() -> None:
    rows = [importer.HEADER] + [
        [eid, DEMO_ECLAIMS_PASSWORD, email, code, number, name, kind]
        for eid, email, code, number, name, kind, _ in DEMO_ECLAIMS
    ]
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    report = importer.import_csv(buffer.getvalue())
    click.echo(f"e-claims offices: added {report.added}, updated {report.updated}")
    if current_app.config["DEVELOPMENT"]:
        click.echo(
            f"  初回利用登録: /register  パスワード（全事業所共通）: {DEMO_ECLAIMS_PASSWORD}"
        )
        for eid, *_, note in DEMO_ECLAIMS:
            click.echo(f"    {eid}  {note}")


# Printed on the console in development only: a demo that nobody can sign in to shows nothing.
DEMO_OPERATOR = ("demo-admin@kaigo-portal.example.jp", "デモ管理者", "hanami-tsukimi-2026")


def _demo_operator() -> None:
    email, name, password = DEMO_OPERATOR
    operator = db.session.scalar(sa.select(Operator).where(Operator.email == email))
    if operator is None:
        operator = operator_ops.create_operator(email, name, Role.ADMIN, password)
        click.echo("demo operator added")
    if not current_app.config["DEVELOPMENT"]:
        return
    click.echo(f"  back office: /admin/  email: {email}  password: {password}")
    click.echo(f"  authenticator URI: {operator_ops.provisioning_uri(operator.totp_secret, email)}")
    click.echo(
        "  no authenticator app at hand? `flask --app wsgi demo code` prints the current code"
    )


@demo_cli.command("code")
def demo_code() -> None:
    """Print the demo operator's current authenticator code (development only)."""
    if not current_app.config["DEVELOPMENT"]:
        raise click.ClickException("Only in development (FLASK_DEVELOPMENT=true).")
    operator = db.session.scalar(sa.select(Operator).where(Operator.email == DEMO_OPERATOR[0]))
    if operator is None:
        raise click.ClickException("No demo operator: run `flask --app wsgi demo seed` first.")
    click.echo(pyotp.TOTP(operator.totp_secret).now())


def _category(major_name: str, minor_name: str) -> InquiryCategory:
    parent = sa.orm.aliased(InquiryCategory)
    return db.session.execute(
        sa.select(InquiryCategory)
        .join(parent, InquiryCategory.parent)
        .where(parent.name == major_name, InquiryCategory.name == minor_name)
    ).scalar_one()
