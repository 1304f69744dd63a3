"""Bad files on the form: each gets its Japanese message next to 「添付ファイル」, the rest of the form
stays as typed, nothing is stored, and never a 500."""

import io

import pytest
import sqlalchemy as sa

from backoffice.attachments.models import Attachment
from backoffice.attachments.storage import storage
from backoffice.extensions import db
from backoffice.inquiries.models import InquiryDraft
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


# Werkzeug's parser drops the temporary file of a part it could not finish without closing it; the
# garbage collector does (the warning says so, nothing leaks past the request).
@pytest.mark.filterwarnings(
    "ignore::ResourceWarning", "ignore::pytest.PytestUnraisableExceptionWarning"
)
def test_an_upload_cut_off_midway_is_not_a_500_and_stores_nothing(client) -> None:
    seed_tree()
    page = client.get("/inquiry")
    boundary = "XyZ"
    fields = {**general_input(), "csrf_token": csrf_token(page.text)}
    body = "".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
        for k, v in fields.items()
    ).encode()
    body += (
        f'--{boundary}\r\nContent-Disposition: form-data; name="attachments"; filename="a.png"\r\n'
        "Content-Type: image/png\r\n\r\n"
    ).encode() + files.png()[:40]  # the connection ends here: no closing boundary
    response = client.post(
        "/inquiry", data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )
    assert response.status_code == 400
    assert "送信が途中で切れたため、受け付けられませんでした" in response.text
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Attachment)) == 0
    assert _stored_files() == []


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
