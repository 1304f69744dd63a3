"""Japanese error pages for every error a user can meet, and the rollback after an unexpected one
(and at the end of every request, where a connection the database cut must not raise)."""

import logging

from flask import Flask, render_template, request
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError, ServiceUnavailable

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
    try:
        return render_template(
            "errors/error.html", code=code, title=title, message=message or default_message
        ), code
    except Exception:
        # The layout itself failed (e.g. the database went away while it asked for the operator):
        # still answer in Japanese, with nothing that could fail again.
        log.exception("error page %s could not be rendered", code)
        return _BARE_PAGE.format(
            title=escape(title), message=escape(message or default_message)
        ), code


_BARE_PAGE = (
    '<!doctype html><html lang="ja"><head><meta charset="utf-8"><title>{title}</title></head>'
    "<body><h1>{title}</h1><p>{message}</p></body></html>"
)


def _rollback() -> None:
    """Roll back after an error or at the end of an app context; a connection that died is only
    discarded (the failed rollback already ended the transaction, so closing sends nothing)."""
    try:
        db.session.rollback()
    except Exception:
        log.warning("rollback failed; the connection is discarded", exc_info=True)
        db.session.close()


def _end_transaction(_error: BaseException | None) -> None:
    _rollback()


def init_app(app: Flask) -> None:
    # Flask-SQLAlchemy's teardown ends the request's transaction with a ROLLBACK that raises when the
    # database cut the connection after the view answered (a restart); that escapes Flask, and gunicorn
    # sends its bare English 500 instead of the answer. Registered after db.init_app, so it runs first.
    app.teardown_appcontext(_end_transaction)

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> ResponseReturnValue:
        log.info("CSRF refused on %s %s: %s", request.method, request.path, error.description)
        from backoffice.attachments.web import cut_off_message

        return render_error(400, cut_off_message() or CSRF_MESSAGE)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> ResponseReturnValue:
        code = error.code or 500
        if code not in PAGES:
            return error
        if code >= 500:
            _rollback()
        if code == 413:
            from backoffice.attachments.web import too_large_message

            return render_error(code, too_large_message())
        return render_error(code)

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception) -> ResponseReturnValue:
        if isinstance(error, HTTPException):
            return http_error(error)
        log.exception("unhandled error on %s %s", request.method, request.path)
        _rollback()
        if isinstance(error, OperationalError | InterfaceError) or (
            isinstance(error, DBAPIError) and error.connection_invalidated
        ):
            # The database is unreachable or restarting: nothing was saved, and trying again later
            # will work (the pool reconnects by itself).
            return render_error(ServiceUnavailable.code)
        return render_error(InternalServerError.code)
