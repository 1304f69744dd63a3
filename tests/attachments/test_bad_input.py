"""Bad files on the form: each gets its Japanese message next to 「添付ファイル」, the rest of the form
stays as typed, nothing is stored, and never a 500."""

import gc
import io

import pytest
import sqlalchemy as sa

from backoffice.attachments.checks import check_and_store, display_name
from backoffice.attachments.models import Attachment
from backoffice.attachments.storage import storage
from backoffice.extensions import db
from backoffice.inquiries.drafts import InquiryDraft
from tests.attachments import helpers as files
from tests.builders.inquiries import general_input, seed_tree
from tests.builders.web import csrf_token


def _stored_files() -> list[str]:
    root = storage().root  # type: ignore[attr-defined]
    return [str(p) for p in root.rglob("*") if p.is_file()] if root.exists() else []


def _post(client, attachments, **fields):
    page = client.get("/inquiry")
    data = {**general_input(name="山田 花子", **fields), "csrf_token": csrf_token(page.text)}
    data["attachments"] = [(io.BytesIO(content), name) for content, name in attachments]
    return client.post("/inquiry", data=data, content_type="multipart/form-data")


_BOUNDARY = "XyZ"


def _post_raw(client, file_part: bytes):
    """The form written by hand, as a client may send it: the typed fields, then a file part that
    starts with `file_part` (its name parameter, headers and contents, and whatever ends it)."""
    page = client.get("/inquiry")
    fields = {**general_input(), "csrf_token": csrf_token(page.text)}
    body = "".join(
        f'--{_BOUNDARY}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
        for k, v in fields.items()
    ).encode()
    body += f'--{_BOUNDARY}\r\nContent-Disposition: form-data; name="attachments"; '.encode()
    return client.post(
        "/inquiry",
        data=body + file_part,
        content_type=f"multipart/form-data; boundary={_BOUNDARY}",
    )


CASES = {
    "html named .png": (
        [(files.html_as_png(), "screenshot.png")],
        "名前が.pngですが、内容が画像ではありません",
    ),
    "zip bomb named .pdf": ([(files.zip_bomb(), "manual.pdf")], "添付できない形式（ZIP）です"),
    "40,000 × 40,000 png": ([(files.huge_png(), "huge.png")], "画素数が多すぎます"),
    "truncated jpeg": ([(files.truncated_jpeg(), "photo.jpg")], "画像として読み取れませんでした"),
    "300 characters with ../": (
        [(files.png(), "../../" + "あ" * 296 + ".png")],
        "ファイル名が長すぎます（300文字）",
    ),
    "too many files": ([(files.png(), f"{i}.png") for i in range(6)], "添付ファイルは5個までです"),
    "an executable": ([(b"MZ\x90\x00" + b"\0" * 500, "tool.exe")], "添付できない形式（EXE）です"),
    "an empty file": ([(b"", "empty.txt")], "空のファイルです"),
    "a damaged HEIC": ([(files.damaged_heic(), "IMG_3.HEIC")], "画像として読み取れませんでした"),
    "a JPEG with a broken EXIF block": (
        [(files.broken_exif_jpeg(), "photo.jpg")],
        "画像として読み取れませんでした",
    ),
    "html as text": (
        [(b"<html><body>x</body></html>", "note.txt")],
        "添付できない形式（HTMLなど）です",
    ),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_a_bad_file_is_refused_next_to_the_field_with_the_form_kept(client, case) -> None:
    seed_tree()
    attachments, message = CASES[case]
    response = _post(client, attachments)
    assert response.status_code == 422, response.text[:500]
    assert message in response.text
    # Next to the field (its error element), and in the summary at the top linking to it.
    assert 'id="err-attachments"' in response.text
    assert 'href="#attachments"' in response.text
    assert "ファイルはもう一度選んでください" in response.text
    assert 'value="山田 花子"' in response.text  # what was typed stays
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Attachment)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(InquiryDraft)) == 0
    assert _stored_files() == []


def test_too_large_a_file_and_too_large_a_total_are_said_before_anything_is_read(
    app, client
) -> None:
    seed_tree()
    app.config.update(ATTACHMENT_MAX_BYTES=2000, ATTACHMENT_MAX_TOTAL_BYTES=3000)
    big = _post(client, [(b"a" * 2500, "big.txt")])
    assert big.status_code == 422
    assert "「big.txt」は大きすぎます" in big.text
    total = _post(client, [(b"a" * 1800, "one.txt"), (b"b" * 1800, "two.txt")])
    assert "添付ファイルの合計が大きすぎます" in total.text
    assert _stored_files() == []


# Werkzeug's parser drops the temporary file of a part it could not finish; the app's request closes
# it (a file left to the garbage collector would fail the test with its ResourceWarning).
def test_an_upload_cut_off_midway_is_not_a_500_and_stores_nothing(client) -> None:
    seed_tree()
    # The connection ends inside the file: no closing boundary.
    response = _post_raw(
        client,
        b'filename="a.png"\r\nContent-Type: image/png\r\n\r\n' + files.png()[:40],
    )
    assert response.status_code == 400
    assert "送信が途中で切れたため、受け付けられませんでした" in response.text
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Attachment)) == 0
    assert _stored_files() == []
    gc.collect()  # finds no file left open


def test_good_files_of_every_kind_are_taken(client) -> None:
    seed_tree()
    response = _post(
        client,
        [
            (files.jpeg_with_gps(), "写真.jpeg"),
            (files.heic(), "IMG_0001.HEIC"),
            (files.pdf(), "手順書.pdf"),
            (files.sjis_csv(), "一覧.csv"),
            (b"ID: KJ123456789012\n", "memo.txt"),
        ],
    )
    assert response.status_code == 302, response.text
    rows = db.session.scalars(sa.select(Attachment).order_by(Attachment.id)).all()
    assert [(r.filename, r.content_type) for r in rows] == [
        ("写真.jpeg", "image/jpeg"),
        ("IMG_0001.jpg", "image/jpeg"),
        ("手順書.pdf", "application/pdf"),
        ("一覧.csv", "text/csv; charset=cp932"),
        ("memo.txt", "text/plain; charset=utf-8"),
    ]
    assert all(r.draft_key is not None and r.inquiry_id is None for r in rows)


def test_text_under_another_name_is_kept_as_text_and_named_so(client) -> None:
    """Markup after a comment, a batch file: text, so kept, but never under a name a computer would
    open as a page or a program."""
    seed_tree()
    response = _post(
        client,
        [
            (b"<!-- x --><svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>", "chart.svg"),
            (b"@echo off\r\ndel /q C:\\x\r\n", "run.bat"),
            (b"\n<img src=x onerror=alert(1)>", "page.html"),
        ],
    )
    assert response.status_code == 302, response.text[:500]
    rows = db.session.scalars(sa.select(Attachment).order_by(Attachment.id)).all()
    assert [(r.filename, r.content_type) for r in rows] == [
        ("chart.svg.txt", "text/plain; charset=utf-8"),
        ("run.bat.txt", "text/plain; charset=utf-8"),
        ("page.html.txt", "text/plain; charset=utf-8"),
    ]


def test_a_name_keeps_no_line_break_or_direction_mark(client) -> None:
    seed_tree()
    assert display_name("a\r\nX-Evil: 1.txt") == "aX-Evil: 1.txt"
    assert display_name("photo\u202egnp.exe") == "photognp.exe"
    assert display_name("\tmemo\x0c.txt") == "memo.txt"
    # Through the form: a name with CR LF sent as RFC 5987 `filename*`.
    response = _post_raw(
        client,
        b"filename*=UTF-8''a%0D%0AX-Evil%3A%201.txt\r\nContent-Type: text/plain\r\n\r\n"
        + f"memo\r\n--{_BOUNDARY}--\r\n".encode(),
    )
    assert response.status_code == 302, response.text[:500]
    assert db.session.scalars(sa.select(Attachment.filename)).one() == "aX-Evil: 1.txt"


def test_a_remove_box_with_a_strange_value_is_no_500(client) -> None:
    seed_tree()
    assert _post(client, [(files.png(), "one.png")]).status_code == 302
    page = client.get("/inquiry")
    data = {**general_input(), "csrf_token": csrf_token(page.text)}
    for value in ("²", "9" * 5000, "-1"):
        response = client.post("/inquiry", data={**data, "remove_attachment": value})
        assert response.status_code == 302, value
    assert db.session.scalars(sa.select(Attachment.filename)).all() == ["one.png"]


def test_a_jpeg_name_holding_a_png_is_named_png(client) -> None:
    seed_tree()
    assert _post(client, [(files.png(), "screen.jpeg")]).status_code == 302
    row = db.session.scalars(sa.select(Attachment)).one()
    assert (row.filename, row.content_type) == ("screen.png", "image/png")


def test_an_upload_read_once_already_is_checked_from_its_start(app) -> None:
    """A transaction retried after a conflict checks the same upload stream again."""
    source = io.BytesIO(files.png())
    source.read()
    with app.app_context():
        stored = check_and_store(source, "screen.png", storage())
    assert stored.content_type == "image/png"
