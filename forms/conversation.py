"""The requester's 「追加で連絡する」 form (status page and マイページ)."""

import re
import secrets
from typing import Any

from flask import current_app
from flask_wtf import FlaskForm
from wtforms import HiddenField
from wtforms.validators import ValidationError

from backoffice.normalize import normalize_text
from forms.fields import TextArea, required

KEY_RE = re.compile(r"[A-Za-z0-9_-]{32,60}")


def _within_limit(form: Any, field: Any) -> None:
    limit = current_app.config["INQUIRY_BODY_MAX_LENGTH"]
    if field.data and len(field.data) > limit:
        raise ValidationError(
            f"＊連絡内容は{limit}文字以内で入力してください（現在{len(field.data)}文字）。"
        )


def _page_key(form: Any, field: Any) -> None:
    if not KEY_RE.fullmatch(field.data or ""):
        raise ValidationError(
            "＊送信できませんでした。ページを読み込み直して、もう一度送信してください。"
        )


class MessageForm(FlaskForm):
    body = TextArea(
        "連絡内容", normalizer=normalize_text, validators=[required("連絡内容"), _within_limit]
    )
    # One key per page shown: sending the same page twice stores one message.
    message_key = HiddenField(validators=[_page_key])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.body_max_length: int = current_app.config["INQUIRY_BODY_MAX_LENGTH"]
        if not self.message_key.data:
            self.message_key.data = secrets.token_urlsafe(32)
