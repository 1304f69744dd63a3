"""Japanese error pages for every error a user can meet, and the rollback after an unexpected one."""

import logging

from flask import Flask, render_template, request
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from backoffice.extensions import db

log = logging.getLogger(__name__)

PAGES: dict[int, tuple[str, str]] = {
    400: (
        "リクエストを処理できませんでした",
        "送信された内容を読み取れませんでした。お手数ですが、前の画面に戻ってもう一度お試しください。",
    ),
    403: (
        "このページを表示する権限がありません",
        "ログインしているアカウントでは、このページを表示できません。",
    ),
    404: (
        "ページが見つかりません",
        "お探しのページは、移動または削除されたか、URLが間違っている可能性があります。",
    ),
    405: ("この操作はできません", "このページでは、その操作を受け付けていません。"),
    413: (
        "送信内容が大きすぎます",
        "一度に送信できる量を超えています。お問い合わせ内容を短くして、もう一度お試しください。",
    ),
    429: (
        "短時間に多くの操作が行われました",
        "しばらく時間をおいてから、もう一度お試しください。",
    ),
    500: (
        "申し訳ありません。システムでエラーが発生しました",
        "時間をおいてもう一度お試しください。入力内容は保存されていない可能性があります。",
    ),
    503: (
        "申し訳ありません。ただいまサービスを利用できません",
        "時間をおいてもう一度お試しください。",
    ),
}

CSRF_MESSAGE = (
    "画面を開いてから時間がたったか、別の画面で操作したため、送信を受け付けられませんでした。"
    "お手数ですが、前の画面に戻り、ページを再読み込みしてからもう一度お試しください。"
)


def render_error(code: int, message: str | None = None) -> ResponseReturnValue:
    title, default_message = PAGES.get(code, PAGES[500])
    return render_template(
        "errors/error.html", code=code, title=title, message=message or default_message
    ), code


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> ResponseReturnValue:
        log.info("CSRF refused on %s %s: %s", request.method, request.path, error.description)
        return render_error(400, CSRF_MESSAGE)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> ResponseReturnValue:
        code = error.code or 500
        if code not in PAGES:
            return error
        if code >= 500:
            db.session.rollback()
        return render_error(code)

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception) -> ResponseReturnValue:
        if isinstance(error, HTTPException):
            return http_error(error)
        log.exception("unhandled error on %s %s", request.method, request.path)
        db.session.rollback()
        return render_error(InternalServerError.code)
