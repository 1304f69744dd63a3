"""What the back office says for each `InboundEmail.reason` and flag (one word in the database)."""

REASONS = {
    "sender_mismatch": "送信者が依頼者のメールアドレスと異なります",
    "unknown_token": "返信先アドレスのお問い合わせが見つかりません",
    "no_token": "お問い合わせの返信先アドレス宛てではありません",
    "too_large": "サイズが上限を超えています",
    "malformed": "メールの形式が壊れています",
    "unknown_charset": "文字コードを読み取れません",
    "auto_submitted": "自動送信のメール（Auto-Submitted）",
    "precedence": "一括・自動送信のメール（Precedence）",
    "autoreply_header": "自動応答・不在通知",
    "mailing_list": "メーリングリストのメール",
    "report": "配信・開封の通知",
    "null_sender": "配信システムからの通知",
    "own_mail": "当窓口から送信したメール",
    "to_return_path": "送信元アドレス宛ての自動応答",
    "permanent": "宛先に届きませんでした",
    "delayed": "配信が遅れています（再送中）",
    "unknown_mail": "当窓口のどのメールへの通知か分かりません",
    "unverified": "不達通知の宛先が確認できないため、メールの状態は変えていません",
    "other_recipient": "依頼者のアドレスとは別の宛先（転送先など）に届かなかった通知です",
    "throttled": "同じ送信者からのメールが多すぎます",
    "spam_ticket": "スパムとしたお問い合わせへのメール",
    "processing_error": "処理中にエラーが発生しました（記録して保留しています）",
}

FLAGS = {
    "header_mismatch": "件名の受付番号や返信元のメール（In-Reply-To/References）が、別のお問い合わせを指しています",
    "no_message_id": "Message-ID がありません",
    "truncated": "長すぎるため、本文の一部だけを追加しました",
    "empty": "本文がありません",
}


def reason_label(reason: str | None) -> str:
    return REASONS.get(reason or "", reason or "")


def flag_labels(flags: list[str] | None) -> list[str]:
    return [FLAGS.get(flag, flag) for flag in flags or []]
