"""The requester's 「追加で連絡する」 form (status page and マイページ), and the request for a lost link."""

import re
import secrets
from typing import Any

from flask import current_app
from flask_wtf import FlaskForm
from wtforms import HiddenField
from wtforms.validators import ValidationError

from backoffice.inquiries.corrections import FIELDS as CORRECTABLE
from backoffice.inquiries.links import normalize_reference_number
from backoffice.inquiries.operations import REFERENCE_ALPHABET
from backoffice.normalize import check_email, normalize_email, normalize_text
from forms.attachments import AttachmentsField
from forms.fields import TextArea, TextInput, checked_by, required
from forms.inquiry import InquiryForm

# 43 characters as the page makes them; at most 56, so that 「message:」 + key fits the submission key.
KEY_RE = re.compile(r"[A-Za-z0-9_-]{32,56}")
REFERENCE_RE = re.compile(f"[{REFERENCE_ALPHABET}]{{4}}-[{REFERENCE_ALPHABET}]{{4}}")


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
    attachments = AttachmentsField()
    # One key per page shown: sending the same page twice stores one message.
    message_key = HiddenField(validators=[_page_key])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.body_max_length: int = current_app.config["INQUIRY_BODY_MAX_LENGTH"]
        if not self.message_key.data:
            self.message_key.data = secrets.token_urlsafe(32)


def check_reference_number(form: Any, field: Any) -> None:
    if not REFERENCE_RE.fullmatch(field.data or ""):
        raise ValidationError(
            "＊受付番号は、受付確認メールに記載の「K7QD-3MWA」のような8文字で入力してください。"
        )


class LinkRequestForm(FlaskForm):
    """確認ページのURLの再送: 受付番号 and the address the inquiry was sent from."""

    reference_number = TextInput(
        "受付番号",
        normalizer=normalize_reference_number,
        validators=[required("受付番号"), check_reference_number],
    )
    email = TextInput(
        "メールアドレス",
        normalizer=normalize_email,
        validators=[required("メールアドレス"), checked_by(check_email)],
    )


class _CorrectionForm(FlaskForm):
    """修正をお願いしている項目: only the fields a 差し戻し asked for, checked like the public form's."""

    asked: list[str]

    def validate(self, extra_validators: Any = None) -> bool:
        super().validate(extra_validators)
        for name in self.asked:
            field = self[name]
            if name != "department" and not field.data and not field.errors:
                field.errors.append(f"＊{CORRECTABLE[name]}を入力してください。")
        return not any(f.errors for f in self)

    def values(self) -> dict[str, str | None]:
        return {name: self[name].data or None for name in self.asked}


def correction_form(asked: list[str], **kwargs: Any) -> _CorrectionForm:
    """The form for `asked` (prefix `fix`), refilled from `obj=` (the ticket's current values)."""
    fields = {name: getattr(InquiryForm, name) for name in asked}
    form = type("CorrectionForm", (_CorrectionForm,), fields)(prefix="fix", **kwargs)
    form.asked = asked
    return form
