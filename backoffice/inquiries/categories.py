"""The standard category tree, loaded by `flask categories seed` and `flask demo seed`.

Operators edit the tree in the back office afterwards; seeding again only adds what is missing and never
undoes their changes (renames aside, which it cannot tell from new categories).
"""

import sqlalchemy as sa

from backoffice.extensions import db
from backoffice.inquiries.models import InquiryCategory
from backoffice.inquiries.vocabulary import CategoryKind

ACCOUNT_REQUEST = "介護情報基盤ポータルのID発行申請"
# Business days to answer; an account should be issued within 3, everything else within 5.
TARGET_DAYS = {CategoryKind.ACCOUNT_REQUEST: 3, CategoryKind.GENERAL: 5}

STANDARD_TREE: list[tuple[str, list[str]]] = [
    (
        "介護情報基盤ポータルについて",
        [
            "初回利用登録",
            "ログイン・パスワード",
            "ワンタイムパスワードが届かない",
            "ユーザの追加・削除",
            "マイページの操作",
            "その他ポータルに関すること",
        ],
    ),
    (
        "電子請求受付システムについて",
        [
            "ID・パスワードが分からない",
            "セキュリティ用メールアドレスの登録",
            "パスワードの再発行",
            "その他電子請求受付システムに関すること",
        ],
    ),
    (
        "介護情報基盤について",
        [
            "導入・利用開始の時期",
            "準備する機器・環境",
            "費用・補助金",
        ],
    ),
    (
        "その他",
        [
            ACCOUNT_REQUEST,
            "ご意見・ご要望",
            "上記以外のお問い合わせ",
        ],
    ),
]


def seed_categories() -> int:
    """Add the standard categories that are missing; returns how many were added. Commits."""
    added = 0
    for major_position, (major_name, minors) in enumerate(STANDARD_TREE, start=1):
        major = db.session.scalar(
            sa.select(InquiryCategory).where(
                InquiryCategory.parent_id.is_(None), InquiryCategory.name == major_name
            )
        )
        if major is None:
            major = InquiryCategory(name=major_name, position=major_position * 10)
            db.session.add(major)
            db.session.flush()
            added += 1
        existing = {c.name for c in major.children}
        for minor_position, minor_name in enumerate(minors, start=1):
            if minor_name in existing:
                continue
            kind = (
                CategoryKind.ACCOUNT_REQUEST
                if minor_name == ACCOUNT_REQUEST
                else CategoryKind.GENERAL
            )
            major.children.append(
                InquiryCategory(
                    name=minor_name,
                    position=minor_position * 10,
                    kind=kind,
                    target_business_days=TARGET_DAYS.get(kind, 5),
                )
            )
            added += 1
    db.session.commit()
    return added
