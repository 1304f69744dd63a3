"""What a file is, decided by its contents, and the copy of it that is kept.

Images (PNG, JPEG, HEIC/HEIF) are decoded and re-encoded by Pillow: the kept copy has no EXIF (no GPS
position, no camera serial), no text chunks and no colour profile, and whatever a polyglot hid after
or between the pixels is gone. A phone's HEIC photo is kept as JPEG, which every browser shows. PDF,
plain text and CSV are kept as sent (they are only ever offered as downloads). Everything else is
refused, with a message that says what may be attached.
"""

import io
import re
import unicodedata
import warnings
from dataclasses import dataclass
from typing import BinaryIO

import filetype
import pillow_heif
from flask import current_app
from PIL import Image, ImageOps

from backoffice.attachments.storage import NewFile, Storage, written
from backoffice.domain_errors import DomainError

pillow_heif.register_heif_opener()

ACCEPTED_TEXT = "画像（PNG・JPEG・HEIC）、PDF、テキスト（.txt・.csv）"
# What the file inputs offer in the browser's picker (the server still decides by the contents).
PICKER = ".png,.jpg,.jpeg,.heic,.heif,.pdf,.txt,.csv,image/png,image/jpeg,image/heic,image/heif,application/pdf,text/plain,text/csv"
MAX_NAME = 255
THUMBNAIL_PIXELS = 240
_CHUNK = 64 * 1024

# What the decoder is told a file may be, so that Pillow never tries its other (rarely used) formats.
_IMAGE_FORMATS = {
    "image/png": ("PNG", "PNG", "image/png", ".png"),
    "image/jpeg": ("JPEG", "JPEG", "image/jpeg", ".jpg"),
    "image/heic": ("HEIF", "JPEG", "image/jpeg", ".jpg"),
    "image/heif": ("HEIF", "JPEG", "image/jpeg", ".jpg"),
}
_IMAGE_NAMES = {
    ".png",
    ".jpg",
    ".jpeg",
    ".jpe",
    ".heic",
    ".heif",
    ".gif",
    ".bmp",
    ".webp",
    ".tif",
    ".tiff",
}
_MARKUP = re.compile(
    rb"^\s*(<!doctype|<html|<\?xml|<svg|<script|<head|<body|<iframe)", re.IGNORECASE
)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_TEXT_NAMES = {".txt", ".csv"}
# A name keeps no control or format character: no line break could reach a header, and no
# right-to-left override could show `exe.txt` for `txt.exe`.
_HIDDEN = {"Cc", "Cf"}


class FileRefused(DomainError):
    """`str(error)` says what is wrong with which file, in Japanese; `kind` says it in a word
    (type, broken, pixels, name, size, count, total, empty), for the note on a mail's message."""

    field = "attachments"

    def __init__(self, message: str, *, kind: str = "type") -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class Stored:
    """A checked file, written to the storage (its row is not made yet)."""

    storage_key: str
    filename: str
    content_type: str
    size: int
    sha256: str
    width: int | None = None
    height: int | None = None
    thumbnail_key: str | None = None

    @property
    def keys(self) -> list[str]:
        return [k for k in (self.storage_key, self.thumbnail_key) if k]


def display_name(raw: str | None, *, cut: bool = False) -> str:
    """The name people see: NFC, without any path (`../`, `C:\\…`), control or format characters,
    or surrounding blanks. Raises FileRefused for a name longer than MAX_NAME characters, or, with
    `cut`, cuts it to that length (for saying which file was refused)."""
    name = unicodedata.normalize("NFC", (raw or "")[: 4 * MAX_NAME] if cut else raw or "")
    name = re.split(r"[\\/]", name)[-1]
    name = "".join(c for c in name if unicodedata.category(c) not in _HIDDEN).strip().lstrip(".")
    if cut:
        name = name[:MAX_NAME]
    if len(name) > MAX_NAME:
        raise FileRefused(
            f"＊ファイル名が長すぎます（{len(name)}文字）。{MAX_NAME}文字以内の名前に変えてから添付してください。",
            kind="name",
        )
    return name or "添付ファイル"


def describe_size(size: int) -> str:
    """「2.4MB」「850KB」, as the pages and messages say sizes."""
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f}".rstrip("0").rstrip(".") + "MB"
    return f"{max(1, round(size / 1024))}KB"


def check_and_store(source: BinaryIO, filename: str, storage: Storage) -> Stored:
    """Decide what `source` holds and write the copy to keep. Raises FileRefused (nothing is left
    in the storage then)."""
    name = display_name(filename)
    source.seek(0)  # a retried transaction reads the same upload again
    head = source.read(8192)
    source.seek(0)
    kind = filetype.guess(head)
    mime = kind.mime if kind else None
    extension = _extension(name)
    try:
        if mime in _IMAGE_FORMATS:
            return _image(source, name, mime, storage)
        if mime == "application/pdf":
            return _pdf(source, name, storage)
        if kind is not None:
            raise FileRefused(
                f"＊「{name}」は添付できない形式（{kind.extension.upper()}）です。添付できるのは{ACCEPTED_TEXT}です。"
            )
        if extension in _IMAGE_NAMES or extension == ".pdf":
            raise FileRefused(
                f"＊「{name}」は名前が{extension}ですが、内容が{'PDF' if extension == '.pdf' else '画像'}ではありません。"
                "ファイルが壊れていないか確かめて、元のファイルを添付してください。",
                kind="broken",
            )
        return _text(source, name, extension, storage)
    except FileRefused:
        raise
    except Image.DecompressionBombError as error:
        raise _too_many_pixels(name) from error


def _extension(name: str) -> str:
    stem, dot, extension = name.rpartition(".")
    return f".{extension.lower()}" if dot and stem else ""


def _too_many_pixels(name: str) -> FileRefused:
    limit = current_app.config["ATTACHMENT_MAX_PIXELS"]
    return FileRefused(
        f"＊「{name}」は画素数が多すぎます（上限{limit // 10_000:,}万画素）。縮小してから添付してください。",
        kind="pixels",
    )


def _broken(name: str, what: str) -> FileRefused:
    return FileRefused(
        f"＊「{name}」は{what}として読み取れませんでした（壊れているか、途中までしかありません）。"
        "元のファイルをもう一度添付してください。",
        kind="broken",
    )


def _image(source: BinaryIO, name: str, mime: str, storage: Storage) -> Stored:
    decoder, encoder, content_type, extension = _IMAGE_FORMATS[mime]
    limit = current_app.config["ATTACHMENT_MAX_PIXELS"]
    with warnings.catch_warnings():
        # Pillow only warns below twice its own limit; ours is stricter and refuses outright.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            # Not closed: closing would free the pixels, which are kept as the one full-size copy
            # (the stream is the caller's).
            opened = Image.open(source, formats=[decoder])
            if opened.width * opened.height > limit:
                raise _too_many_pixels(name)
            opened.load()
            ImageOps.exif_transpose(opened, in_place=True)
            image = _without_metadata(opened, encoder)
            del opened
        except FileRefused:
            raise
        except (Image.DecompressionBombWarning, Image.DecompressionBombError) as error:
            raise _too_many_pixels(name) from error
        except Exception as error:
            # Decoders fail in many ways on a damaged file (OSError, EOFError, RuntimeError from
            # libheif, TypeError from a bad EXIF block): each is a file that cannot be read.
            raise _broken(name, "画像") from error
    same = {".jpg", ".jpeg", ".jpe"} if extension == ".jpg" else {extension}
    kept_name = name if _extension(name) in same else _renamed(name, extension)
    main = _write_image(storage, image, encoder)
    try:
        thumbnail = _write_thumbnail(storage, image)
    except BaseException:
        storage.delete(main.key)
        raise
    return Stored(
        storage_key=main.key,
        filename=kept_name,
        content_type=content_type,
        size=main.size,
        sha256=main.sha256,
        width=image.width,
        height=image.height,
        thumbnail_key=thumbnail.key,
    )


def _renamed(name: str, extension: str) -> str:
    stem = name.rpartition(".")[0] if _extension(name) else name
    return f"{stem}{extension}"[-MAX_NAME:]


def _without_metadata(image: Image.Image, encoder: str) -> Image.Image:
    """The pixels alone, in a mode the encoder writes (palette transparency kept as RGBA)."""
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if encoder == "JPEG" and image.mode not in ("RGB", "L", "CMYK"):
        image = image.convert("RGB")
    elif encoder == "PNG" and image.mode not in ("RGB", "RGBA", "L", "LA", "P", "I", "I;16", "1"):
        image = image.convert("RGBA")
    image.info = {}
    return image


def _write_image(storage: Storage, image: Image.Image, encoder: str) -> NewFile:
    options = {"quality": 90} if encoder == "JPEG" else {}
    with written(storage) as new:
        image.save(_Writer(new), format=encoder, **options)
    return new


def _write_thumbnail(storage: Storage, image: Image.Image) -> NewFile:
    scale = min(1.0, THUMBNAIL_PIXELS / max(image.width, image.height))
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    # Resized straight from the full image (no full-size copy first); reducing_gap shrinks by
    # whole factors before the fine filter, which is fast on large photos.
    small = image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    if small.mode in ("RGBA", "LA", "P"):
        small = small.convert("RGBA")
        background = Image.new("RGBA", small.size, "white")
        small = Image.alpha_composite(background, small)
    return _write_image(storage, small.convert("RGB"), "JPEG")


class _Writer(io.RawIOBase):
    """A NewFile as the file object Pillow writes to."""

    def __init__(self, target: NewFile) -> None:
        self._target = target

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        return self._target.write(bytes(data))


def _pdf(source: BinaryIO, name: str, storage: Storage) -> Stored:
    source.seek(0, io.SEEK_END)
    size = source.tell()
    source.seek(max(0, size - 2048))
    if b"%%EOF" not in source.read():
        raise _broken(name, "PDF")
    source.seek(0)
    new = _copy(source, storage)
    return Stored(new.key, name, "application/pdf", new.size, new.sha256)


def _text(source: BinaryIO, name: str, extension: str, storage: Storage) -> Stored:
    data = source.read()
    charset = _charset(data)
    if charset is None:
        raise FileRefused(
            f"＊「{name}」は添付できない形式です。添付できるのは{ACCEPTED_TEXT}です。"
        )
    text = data.decode(charset)
    if _CONTROL.search(text.replace("\x0c", "")) or _MARKUP.match(data.lstrip(b"\xef\xbb\xbf")):
        raise FileRefused(
            f"＊「{name}」は添付できない形式（HTMLなど）です。添付できるのは{ACCEPTED_TEXT}です。"
        )
    kind = "text/csv" if extension == ".csv" else "text/plain"
    if extension not in _TEXT_NAMES:
        # Text under another name (`page.html`, `run.bat`) is kept as text, and named so.
        name = f"{name[: MAX_NAME - 4]}.txt"
    source.seek(0)
    new = _copy(source, storage)
    return Stored(new.key, name, f"{kind}; charset={charset}", new.size, new.sha256)


def _charset(data: bytes) -> str | None:
    """UTF-8 (with or without BOM), else Shift_JIS as Windows writes it (Excel's CSV), else None."""
    for charset in ("utf-8", "cp932"):
        try:
            data.decode(charset)
        except UnicodeDecodeError:
            continue
        return charset
    return None


def _copy(source: BinaryIO, storage: Storage) -> NewFile:
    with written(storage) as new:
        while chunk := source.read(_CHUNK):
            new.write(chunk)
    return new
