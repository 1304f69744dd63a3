"""Attachments on the web: the larger request limit of the routes that take files, the files of a
form, and serving a file to someone the view has already found allowed to read it."""

from collections.abc import Callable
from typing import IO, Any, TypeVar

from flask import Flask, current_app, request, send_file
from flask import Request as FlaskRequest
from flask.wrappers import Response
from werkzeug.datastructures import FileStorage

from backoffice.attachments import operations
from backoffice.attachments.models import Attachment

F = TypeVar("F", bound=Callable[..., Any])


def takes_files(view: F) -> F:
    """Mark a view whose POST may carry files (put it nearest the function: the other decorators
    keep the mark)."""
    view.takes_files = True  # type: ignore[attr-defined]
    return view


class Request(FlaskRequest):
    """Closes every file stream the form parser opened when the request ends. Werkzeug closes only
    the parts it finished; a part cut off by the size limit or a dropped connection would hold its
    temporary file open until the garbage collector found it."""

    def _get_file_stream(self, *args: Any, **kwargs: Any) -> IO[bytes]:
        stream = super()._get_file_stream(*args, **kwargs)
        self.__dict__.setdefault("_file_streams", []).append(stream)
        return stream

    def close(self) -> None:
        super().close()
        for stream in self.__dict__.pop("_file_streams", ()):
            stream.close()


def init_app(app: Flask) -> None:
    """Registered before CSRF protection, which reads the form (and so the request's body) first."""
    app.request_class = Request

    @app.before_request
    def _raise_limit_for_files() -> None:
        view = app.view_functions.get(request.endpoint or "")
        if view is not None and getattr(view, "takes_files", False):
            request.max_content_length = operations.request_limit()


def uploads(files: list[FileStorage]) -> list[operations.Upload]:
    """The files a file input sent (an input left empty sends one nameless, empty part)."""
    found = []
    for item in files:
        if not isinstance(item, FileStorage) or not (item.filename or item.content_length):
            continue
        stream = item.stream
        stream.seek(0, 2)
        size = stream.tell()
        stream.seek(0)
        if not item.filename and size == 0:
            continue
        found.append(operations.Upload(stream, item.filename or "", size))  # type: ignore[arg-type]
    return found


# The sandbox makes the file its own opaque origin: even a document a browser chose to render
# could run nothing and reach nothing of the site.
FILE_CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"


def send(row: Attachment, *, thumbnail: bool = False, inline: bool = False) -> Response:
    """The file (or its thumbnail) as a download; images may be shown inline, as re-encoded.
    Raises FileNotFoundError when its contents are gone."""
    handle = operations.contents(row, thumbnail=thumbnail)
    image = row.is_image
    mimetype = "image/jpeg" if thumbnail else (row.content_type or "application/octet-stream")
    try:
        response = send_file(
            handle,
            mimetype=mimetype,
            as_attachment=not ((inline or thumbnail) and image),
            download_name=row.filename,
            max_age=0,
            etag=False,
            conditional=False,
        )
    except BaseException:
        handle.close()
        raise
    response.headers["Content-Security-Policy"] = FILE_CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
    return response


def too_large_message() -> str | None:
    """The 413 page's words on a route that takes files."""
    view = current_app.view_functions.get(request.endpoint or "")
    if view is None or not getattr(view, "takes_files", False):
        return None
    return (
        "添付ファイルが大きすぎるため、送信できませんでした。添付できるのは"
        f"{operations.limits().text}です。前の画面に戻り、ファイルを選び直してください。"
    )


def cut_off_message() -> str | None:
    """The words for a form that arrived without its fields on a route that takes files: the upload
    was cut off (the connection dropped), which is not the stale page CSRF would otherwise blame."""
    view = current_app.view_functions.get(request.endpoint or "")
    if view is None or not getattr(view, "takes_files", False):
        return None
    if request.mimetype != "multipart/form-data" or request.form or not request.content_length:
        return None
    return (
        "送信が途中で切れたため、受け付けられませんでした。通信状態のよいところで、"
        "前の画面に戻ってもう一度お試しください（添付ファイルは選び直してください）。"
    )
