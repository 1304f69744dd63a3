"""Files as phones and offices send them, made here: a JPEG with EXIF GPS data, a PNG, a PDF, a
Shift_JIS CSV, and the hostile ones (HTML named .png, a zip bomb named .pdf, 40,000 × 40,000 pixels)."""

import io
import zipfile
from pathlib import Path

from PIL import Image

GPS_IFD = 0x8825


def jpeg_with_gps(size: tuple[int, int] = (64, 48), color: str = "red") -> bytes:
    image = Image.new("RGB", size, color)
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0112] = 1  # Orientation
    exif[GPS_IFD] = {1: "N", 2: (35.0, 41.0, 22.0), 3: "E", 4: (139.0, 41.0, 30.0)}
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def png(size: tuple[int, int] = (32, 32), color: str = "blue") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "PNG")
    return out.getvalue()


def heic(size: tuple[int, int] = (40, 30)) -> bytes:
    import pillow_heif

    pillow_heif.register_heif_opener()
    out = io.BytesIO()
    Image.new("RGB", size, "green").save(out, "HEIF")
    return out.getvalue()


def pdf(text: str = "answer") -> bytes:
    body = (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
        b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
        b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\n"
        + f"% {text}\n".encode()
        + b"trailer<</Root 1 0 R>>\n%%EOF\n"
    )
    return body


def sjis_csv() -> bytes:
    return "事業所番号,名称\n1234567890,さくら介護\n".encode("cp932")


def html_as_png() -> bytes:
    return b"<!DOCTYPE html><html><script>alert(document.cookie)</script></html>"


def zip_bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("zeros.bin", b"\0" * (50 * 1024 * 1024))
    return out.getvalue()


def huge_png() -> bytes:
    """A 40,000 × 40,000 PNG of a few hundred bytes: the header says the size, the pixels are one
    deflated run (Pillow's 1-bit image keeps building it cheap)."""
    import struct
    import zlib

    width = height = 40_000
    row = b"\0" + b"\0" * (width // 8)
    raw = zlib.compress(row * 64)  # only the start: the header is what a decoder trusts first

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


def truncated_jpeg() -> bytes:
    data = jpeg_with_gps((400, 300))
    return data[: len(data) // 2]


DATA = Path(__file__).parent / "data"


def damaged_heic() -> bytes:
    """A phone photo with a few bytes changed: libheif raises RuntimeError on it."""
    return (DATA / "damaged.heic").read_bytes()


def broken_exif_jpeg() -> bytes:
    """A JPEG whose EXIF block is damaged: Pillow raises TypeError when it reads the orientation."""
    return (DATA / "broken_exif.jpg").read_bytes()
