"""The audit log in words for people: each action, target and detail in Japanese, operators by name.
The stored events keep their codes (what searching and the database see); only the screen reads them
through here."""

from datetime import date
from typing import Any

import sqlalchemy as sa
from flask import g

from backoffice.display import format_date
from backoffice.extensions import db
from backoffice.inquiries.vocabulary import Channel, InquiryStatus, Priority
from backoffice.operators.models import Operator, Role

ACTIONS = {
    "account.issued": "アカウント発行",
    "account.request_rejected": "ID発行申請の却下",
    "attachment.downloaded": "添付ファイルのダウンロード",
    "mail.dismissed": "受信メールを対応不要にした",
    "mail.filed": "受信メールをお問い合わせに追加",
    "mail.resent": "送信済みメールを再送",
    "mail.original_opened": "受信メールの原本を開いた",
    "retention.applied": "保存期間を過ぎた個人情報を削除",
    "mail.ticket_created": "受信メールからお問い合わせを作成",
    "notice.changed": "お知らせの変更",
    "notice.published": "お知らせの掲載",
    "notice.withdrawn": "お知らせの削除",
    "operator.alert_settings_changed": "通知の設定を変更",
    "operator.created": "運営担当者の作成（コマンド）",
    "operator.enrolled": "認証アプリの登録",
    "operator.enrolment_shown": "登録用リンクを開いた",
    "operator.login": "管理画面へのログイン",
    "operator.logout": "管理画面からのログアウト",
    "operator.password_changed": "パスワードの変更",
    "operator.reenrolled": "認証アプリの再登録",
    "operator.reenrolment_started": "認証アプリの再登録を開始",
    "operator.locked": "ログインの一時停止",
    "operators.authenticator_reset": "認証アプリのリセット",
    "operators.invited": "運営担当者の招待",
    "operators.password_reset": "パスワードのリセット",
    "operators.unlocked": "ログイン停止の解除",
    "organization.disabled": "事業所・医療機関の利用停止",
    "organization.enabled": "事業所・医療機関の利用再開",
    "portal.email_changed": "メールアドレスの変更",
    "portal.initial_password_reissued": "初期パスワードの再発行",
    "portal.login": "ポータルへのログイン",
    "portal.logout": "ポータルからのログアウト",
    "portal.locked": "ログインの一時停止",
    "portal.otp_failed": "ワンタイムパスワードの誤り",
    "portal.otp_passed": "ワンタイムパスワードの確認",
    "portal.otp_sent": "ワンタイムパスワードの送信",
    "portal.password_changed": "パスワードの変更",
    "portal.password_reset": "パスワードの再設定",
    "portal.profile_updated": "登録内容の変更",
    "portal.reauthenticated": "パスワードの再確認",
    "portal.registrant_handed_over": "登録者の引き継ぎ",
    "portal.terms_accepted": "利用規約への同意",
    "portal.terms_declined": "利用規約に同意しなかった",
    "portal.user_added": "ユーザの追加",
    "portal.user_disabled": "ユーザの利用停止",
    "portal.user_enabled": "ユーザの利用再開",
    "portal.user_locked": "ユーザのロック",
    "portal.user_unlocked": "ユーザのロック解除",
    "registration.already_registered": "初回利用登録（登録済みの事業所）",
    "registration.completed": "初回利用登録の完了",
    "registration.credentials": "初回利用登録（ID・パスワードの確認）",
    "registration.no_security_email": "初回利用登録（セキュリティ用メールアドレスなし）",
    "registration.otp_failed": "初回利用登録（ワンタイムパスワードの誤り）",
    "registration.otp_passed": "初回利用登録（ワンタイムパスワードの確認）",
    "registration.otp_sent": "初回利用登録（ワンタイムパスワードの送信）",
    "registration.security_code_failed": "初回利用登録（セキュリティコードの誤り）",
    "terms.published": "利用規約の公開",
    "ticket.assigned": "担当者の変更",
    "ticket.corrected": "依頼者による修正",
    "ticket.correction_requested": "差し戻し",
    "ticket.due_changed": "期限の変更",
    "ticket.exported": "お問い合わせのCSV出力",
    "ticket.link_requested": "確認ページURLの再送依頼",
    "ticket.link_revoked": "確認ページURLの再発行",
    "ticket.merged": "お問い合わせの統合",
    "ticket.recategorized": "お問い合わせ区分の変更",
    "ticket.email_corrected": "依頼者のメールアドレスの訂正",
    "ticket.logged": "電話・FAX・窓口のお問い合わせの登録",
    "ticket.noted": "内部メモ",
    "ticket.priority_changed": "優先度の変更",
    "ticket.replied": "回答",
    "ticket.requester_message": "依頼者からの連絡",
    "ticket.status_changed": "ステータスの変更",
}

# The back office's screens, whose forms audit `<endpoint>.created` and `<endpoint>.updated`.
SCREENS = {
    "categories": "お問い合わせ区分",
    "canned": "定型文",
    "operators": "運営担当者",
    "terms": "利用規約",
    "organizations": "事業所・医療機関",
    "portal_users": "ポータルユーザ",
}
_CHANGES = {"created": "の作成", "updated": "の変更", "deleted": "の削除"}

TARGETS = {
    "inquiry": "お問い合わせ",
    "operator": "運営担当者",
    "portal_user": "ポータルユーザ",
    "organization": "事業所・医療機関",
    "inbound_email": "受信メール",
    "attachment": "添付ファイル",
    "outbound_email": "送信メール",
    "registration": "初回利用登録",
    "terms": "利用規約",
    "notice": "お知らせ",
    **SCREENS,
}

_KEYS = {
    "reason": "理由",
    "channel": "経路",
    "reopened": "再開",
    "inquiry_id": "お問い合わせ",
    "filename": "ファイル名",
    "notice": "お知らせ",
    "minutes": "停止時間（分）",
    "role": "権限",
    "purpose": "目的",
    "fields": "項目",
    "acknowledged": "受付確認メール",
    "search": "検索",
    "filters": "絞り込み",
    "follow_up_of": "元のお問い合わせ",
    "version": "版",
    "terms_version": "利用規約の版",
    "into": "統合先",
    "assigned": "担当の割り当て",
    "answers": "依頼者からの返信",
    "digest": "毎朝の一覧",
    "watched": "通知する区分",
    "old": "変更前",
    "new": "変更後",
    "office_number": "事業所番号・医療機関コード",
    "email": "メールアドレス",
    "attempts": "回数",
    "original_id": "元のメール",
}
_WORDS = {
    "locked": "ロック中",
    "no_match": "受付番号とメールアドレスが一致しない",
    "cooldown": "再送の間隔が短い",
    "unknown_or_disabled": "不明または停止中のアカウント",
    "initial_password_expired": "初期パスワードの期限切れ",
    "wrong_password": "パスワードの誤り",
    "wrong_code": "確認コードの誤り",
    "wrong_password_enrolment": "登録時のパスワードの誤り",
    "wrong_code_enrolment": "登録時の確認コードの誤り",
    "wrong_password_change": "パスワード変更時の現在のパスワードの誤り",
    "wrong_code_change": "パスワード変更時の確認コードの誤り",
    "wrong_otp": "ワンタイムパスワードの誤り",
    "wrong_reset_code": "再設定用コードの誤り",
    "login": "ログイン",
    "password_reset": "パスワードの再設定",
    "email_change": "メールアドレスの変更",
    "password": "パスワードの設定",
    "authenticator": "認証アプリの登録",
}


def action_label(action: str) -> str:
    if action in ACTIONS:
        return ACTIONS[action]
    screen, _, change = action.rpartition(".")
    if screen in SCREENS and change in _CHANGES:
        return SCREENS[screen] + _CHANGES[change]
    return "その他の操作"


def target_label(target_type: str | None) -> str:
    return TARGETS.get(target_type or "", "") if target_type else ""


def operator_names() -> dict[int, str]:
    """Every operator's name by id, read once a request (the table is small)."""
    if "kip_operator_names" not in g:
        g.kip_operator_names = dict(db.session.execute(sa.select(Operator.id, Operator.name)).all())
    return g.kip_operator_names


def actor_name(actor_type: str, actor_id: int | None, label: str | None) -> str:
    """An operator by name; anyone else by what the event recorded (a portal user's ID, 依頼者)."""
    if actor_type == "operator" and actor_id is not None:
        return operator_names().get(actor_id) or "（削除された運営担当者）"
    return label or {"requester": "依頼者", "system": "自動処理"}.get(actor_type, "")


def _value(key: str, value: Any) -> str:
    if isinstance(value, bool):
        return "あり" if value else "なし"
    if value is None or value == "":
        return "（なし）"
    if isinstance(value, list):
        return "、".join(_value(key, v) for v in value) or "（なし）"
    if isinstance(value, dict):
        return "、".join(f"{_KEYS.get(k, k)}：{_value(k, v)}" for k, v in value.items())
    text = str(value)
    if key == "role":
        return next((r.label for r in Role if r.value == text), text)
    if key == "channel":
        return next((c.label for c in Channel if c.value == text), text)
    if key == "watched":
        return text
    return _WORDS.get(text, text)


def _status(value: str | None) -> str:
    return InquiryStatus(value).label if value else "（なし）"


def _priority(value: str | None) -> str:
    return Priority(value).label if value else "（なし）"


def _day(value: str | None) -> str:
    return format_date(date.fromisoformat(value)) if value else "（なし）"


# The details of changes to a ticket: 「ステータス：新規 → 解決済」.
_TRANSITIONS = {
    "ticket.status_changed": ("ステータス", _status),
    "ticket.assigned": ("担当者", lambda v: v or "（未割り当て）"),
    "ticket.priority_changed": ("優先度", _priority),
    "ticket.due_changed": ("期限", _day),
}


def detail_text(action: str, detail: dict[str, Any] | None) -> str:
    """The event's detail as a line of Japanese."""
    if not detail:
        return ""
    if action in _TRANSITIONS and set(detail) <= {"old", "new"}:
        label, word = _TRANSITIONS[action]
        try:
            return f"{label}：{word(detail.get('old'))} → {word(detail.get('new'))}"
        except ValueError:
            pass  # a value from before a rename: said as stored below
    return "、".join(f"{_KEYS.get(k, '内容')}：{_value(k, v)}" for k, v in detail.items())
