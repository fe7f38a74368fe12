"""Uploads for the photo tests: good photos with personal metadata, and bad uploads.

Everything is made here with Pillow and a few bytes by hand (no files from
elsewhere). ``BAD_UPLOADS`` is the list the issue asks for: each must be
refused with its reason, whatever name and type the client gives it.
"""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass

from PIL import Image, ImageCms

MAKER = "AcmePhoneMaker"
XMP_MARK = "private-xmp-note"
COMMENT = b"a comment naming someone"
GPS = {1: "N", 2: (30.0, 16.0, 12.5), 3: "E", 4: (120.0, 9.0, 3.25)}


def jpeg(size: tuple[int, int] = (64, 48), color: tuple[int, int, int] = (180, 40, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "JPEG", quality=90)
    return out.getvalue()


def png(size: tuple[int, int] = (64, 48), mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size).save(out, "PNG")
    return out.getvalue()


def private_jpeg(size: tuple[int, int] = (64, 48), orientation: int | None = 6) -> bytes:
    """A JPEG that says where and with what it was taken, turned by EXIF (orientation 6:
    shown turned 90° clockwise)."""
    exif = Image.Exif()
    exif[0x010F] = MAKER  # Make
    exif[0x0110] = "Model 7"  # Model
    if orientation is not None:
        exif[0x0112] = orientation
    exif[0x8825] = GPS  # GPSInfo
    xmp = f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><note>{XMP_MARK}</note></x:xmpmeta>'.encode()
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    out = io.BytesIO()
    Image.new("RGB", size, (20, 90, 200)).save(
        out, "JPEG", exif=exif, xmp=xmp, icc_profile=icc, comment=COMMENT
    )
    return out.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` × ``height`` pixels: a decompression bomb."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = zlib.compress(b"\0" * (1 + 3 * min(width, 4096)) * 4, 9)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", rows)
        + _chunk(b"IEND", b"")
    )


def png_text_bomb() -> bytes:
    """A PNG with a 50 kB compressed comment that inflates to 50 MB."""
    good = png()
    text = _chunk(b"zTXt", b"Comment\0\0" + zlib.compress(b"A" * (50 * 1024 * 1024), 9))
    return good[:33] + text + good[33:]  # right after the IHDR chunk


def png_bad_crc() -> bytes:
    good = bytearray(png())
    good[29] ^= 0xFF  # the IHDR chunk's checksum
    return bytes(good)


def _saved(image: Image.Image, fmt: str, **params: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **params)
    return out.getvalue()


def animated_webp() -> bytes:
    frames = [Image.new("RGB", (16, 16), c) for c in ((255, 0, 0), (0, 255, 0))]
    return _saved(frames[0], "WEBP", save_all=True, append_images=frames[1:])


def heic() -> bytes:
    """A HEIC photo, made with pillow-heif's encoder (a test dependency only); not
    registered with Pillow, so what reads it in the tests is the app's decoder."""
    import pillow_heif  # noqa: PLC0415

    out = io.BytesIO()
    pillow_heif.from_pillow(Image.new("RGB", (80, 60), (10, 160, 60))).save(out, quality=80)
    return out.getvalue()


@dataclass(frozen=True)
class BadUpload:
    name: str  # what the test calls it
    filename: str  # what the client says it is
    content_type: str
    data: bytes
    reason: str
    status: int


SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="64" height="48">'
    b"<script>fetch('/v1/me').then(r=>r.text()).then(alert)</script></svg>"
)
HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"
JPEG_HEAD = b"\xff\xd8\xff\xe0" + b"\0" * 20
PDF = b"%PDF-1.4\n1 0 obj <</Type /Catalog>> endobj\ntrailer <</Root 1 0 R>>\n%%EOF\n"

# The 50 MB file is sent by the API test itself (it must be refused before it is read).
BAD_UPLOADS = [
    BadUpload("GIF named .jpg", "photo.jpg", "image/jpeg", _saved(Image.new("P", (8, 8)), "GIF"),
              "bad_type", 415),
    BadUpload("truncated JPEG", "cut.jpg", "image/jpeg", jpeg((400, 300))[:-600], "truncated", 400),
    BadUpload("JPEG header, then nothing", "head.jpg", "image/jpeg", JPEG_HEAD, "corrupt", 400),
    BadUpload("just over 10 MB", "big.jpg", "image/jpeg", jpeg() + b"\0" * (10 * 1024 * 1024),
              "too_large", 413),
    BadUpload("decompression bomb", "bomb.png", "image/png", png_claiming(100_000, 100_000), "bomb",
              400),
    BadUpload("PNG text bomb", "text.png", "image/png", png_text_bomb(), "bomb", 400),
    BadUpload("60 megapixels", "wide.png", "image/png", png_claiming(10_000, 6_000), "bomb", 400),
    BadUpload("SVG with script", "pic.jpg", "image/jpeg", SVG, "bad_type", 415),
    BadUpload("empty file", "empty.jpg", "image/jpeg", b"", "empty", 400),
    BadUpload("HTML", "page.jpg", "image/jpeg", HTML, "bad_type", 415),
    BadUpload("PDF", "doc.jpg", "image/jpeg", PDF, "bad_type", 415),
    BadUpload("polyglot: HTML then a JPEG", "poly.jpg", "image/jpeg", HTML + jpeg(), "bad_type",
              415),
    BadUpload("PNG with a bad CRC", "crc.png", "image/png", png_bad_crc(), "corrupt", 400),
    BadUpload("animated WebP", "anim.webp", "image/webp", animated_webp(), "animated", 415),
    BadUpload("TIFF", "scan.jpg", "image/jpeg", _saved(Image.new("RGB", (8, 8)), "TIFF"),
              "bad_type", 415),
    BadUpload("BMP", "paint.jpg", "image/jpeg", _saved(Image.new("RGB", (8, 8)), "BMP"),
              "bad_type", 415),
]  # fmt: skip
