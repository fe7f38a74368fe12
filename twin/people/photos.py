"""Photos of reports: checked by their content, re-encoded without metadata, thumbnailed.

What a phone sends is judged by its bytes, never by its name or declared type:
Pillow is asked to open it with the accepted decoders only (JPEG, PNG, WebP,
and HEIC/HEIF where ``pi-heif`` is installed), its size in pixels is
checked *before* any pixel is decoded (a 50 kB file can claim 100,000 ×
100,000 pixels: a decompression bomb), then it is decoded in full (a
truncated file fails here, not later when someone looks at it). What is kept
is a new encoding of the pixels alone, turned upright by its EXIF
orientation: no EXIF (GPS, camera, time), no XMP, no ICC profile (whose
descriptions can name the device; colours are converted to sRGB first), no
comments, nothing appended after the image. HEIC becomes JPEG (browsers other
than Safari do not show HEIC).

>>> import io
>>> from PIL import Image
>>> def jpeg(size, **save):
...     out = io.BytesIO()
...     Image.new("RGB", size, (200, 30, 30)).save(out, "JPEG", **save)
...     return out.getvalue()
>>> photo = check_photo(jpeg((640, 480)))
>>> photo.content_type, photo.width, photo.height, photo.thumb_content_type
('image/jpeg', 640, 480, 'image/jpeg')
>>> Image.open(io.BytesIO(photo.thumb)).size
(320, 240)
>>> check_photo(b"<svg onload=alert(1)>")
Traceback (most recent call last):
...
twin.people.photos.PhotoTypeError: bad_type: not a JPEG, PNG, WebP or HEIC image
>>> check_photo(jpeg((640, 480))[:-200])
Traceback (most recent call last):
...
twin.people.photos.PhotoDamagedError: truncated: the image is cut short
>>> check_photo(b"")
Traceback (most recent call last):
...
twin.people.photos.EmptyPhotoError: empty: the file is empty
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass
from typing import Final

from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from twin.errors import TwinError

try:  # HEIC where the library is there to read it (the phones' default format)
    # pi-heif: pillow-heif's decoder-only build (its wheels leave out the
    # GPL-licensed x265 encoder, which reading photos does not need).
    from pi_heif import register_heif_opener
except ImportError:  # pragma: no cover - pi-heif is a dependency; kept optional
    HEIC = False
else:
    register_heif_opener()
    HEIC = True

MAX_BYTES: Final = 10 * 1024 * 1024
# 50 megapixels: a 48 MP phone camera's full frame passes; decoding one takes
# ~150 MB (RGB), which bounds what a single upload can make the server hold.
MAX_PIXELS: Final = 50_000_000
THUMB_SIDE: Final = 320

# Pillow's format name -> what the stored photo is. Decoders are restricted to
# these when opening, so an SVG, a PDF, a GIF or HTML is never even parsed.
_DECODERS: Final = ("JPEG", "PNG", "WEBP", *(("HEIF",) if HEIC else ()))
# A JPEG carrying more pictures (MPF: phones' depth maps, previews) opens as
# "MPO"; its first picture is the photo.
_STORED_AS: Final = {"JPEG": "JPEG", "MPO": "JPEG", "PNG": "PNG", "WEBP": "WEBP", "HEIF": "JPEG"}
_CONTENT_TYPES: Final = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
CONTENT_TYPES: Final = frozenset(_CONTENT_TYPES.values())


class PhotoError(TwinError):
    """An upload that is not stored; ``reason`` is a short code for clients.

    >>> str(PhotoTooLargeError("too_large", "over 10 MB"))
    'too_large: over 10 MB'
    """

    def __init__(self, reason: str, message: str) -> None:
        self.reason = reason
        super().__init__(f"{reason}: {message}")


class EmptyPhotoError(PhotoError):
    """Nothing was sent (``empty``)."""


class PhotoTooLargeError(PhotoError):
    """More bytes than allowed (``too_large``)."""


class PhotoTypeError(PhotoError):
    """Not an accepted image (``bad_type``), or an animation (``animated``)."""


class PhotoBombError(PhotoError):
    """More pixels than allowed, whatever the file's size (``bomb``)."""


class PhotoDamagedError(PhotoError):
    """An accepted format that does not decode.

    Cut short (``truncated``) or broken (``corrupt``).
    """


@dataclass(frozen=True, slots=True)
class PhotoLimits:
    max_bytes: int = MAX_BYTES
    max_pixels: int = MAX_PIXELS
    thumb_side: int = THUMB_SIDE


@dataclass(frozen=True, slots=True)
class CheckedPhoto:
    """What is stored: the clean full image, its thumbnail, and the least about them."""

    data: bytes
    content_type: str
    width: int
    height: int
    thumb: bytes
    thumb_content_type: str
    sha256: bytes  # of ``data``, as stored

    @property
    def extension(self) -> str:
        return self.content_type.removeprefix("image/").replace("jpeg", "jpg")


def check_photo(data: bytes, limits: PhotoLimits = PhotoLimits()) -> CheckedPhoto:
    """The photo to store, or a :class:`PhotoError` saying why not."""
    if not data:
        raise EmptyPhotoError("empty", "the file is empty")
    if len(data) > limits.max_bytes:
        raise PhotoTooLargeError("too_large", f"the file is larger than {limits.max_bytes} bytes")
    with warnings.catch_warnings():
        # Pillow warns above its own pixel limit (an error above twice that): a refusal here.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        image, source = _decoded(data, limits)
    if source != "MPO" and getattr(image, "is_animated", False):
        raise PhotoTypeError("animated", "animated images are not accepted")
    upright = _srgb(_upright(image))
    stored_as = _STORED_AS[source]
    clean = _pixels_only(upright, keep_alpha=stored_as != "JPEG")
    full = _encode(clean, stored_as)
    thumb = _pixels_only(_shrunk(clean, limits.thumb_side), keep_alpha=False)
    return CheckedPhoto(
        data=full,
        content_type=_CONTENT_TYPES[stored_as],
        width=clean.width,
        height=clean.height,
        thumb=_encode(thumb, "JPEG"),
        thumb_content_type="image/jpeg",
        sha256=hashlib.sha256(full).digest(),
    )


def _decoded(data: bytes, limits: PhotoLimits) -> tuple[Image.Image, str]:
    """The image, decoded in full, and its format name; refusals as PhotoError."""
    try:
        image = Image.open(io.BytesIO(data), formats=_DECODERS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PhotoBombError("bomb", "the image claims more pixels than allowed") from None
    except UnidentifiedImageError:
        if _looks_accepted(data):  # e.g. a PNG whose header checksum is wrong
            raise PhotoDamagedError("corrupt", "the image data is broken") from None
        raise PhotoTypeError("bad_type", "not a JPEG, PNG, WebP or HEIC image") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        # The format was recognised, then its header turned out to be broken.
        raise _damaged(exc) from None
    if image.format not in _STORED_AS:  # pragma: no cover - formats= already restricts
        raise PhotoTypeError("bad_type", "not a JPEG, PNG, WebP or HEIC image")
    width, height = image.size
    if width < 1 or height < 1 or width * height > limits.max_pixels:
        raise PhotoBombError(
            "bomb", f"{width} × {height} pixels is more than the {limits.max_pixels} allowed"
        )
    try:
        image.load()  # the whole image: truncation and broken data show here
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PhotoBombError("bomb", "the image claims more pixels than allowed") from None
    except (OSError, SyntaxError, ValueError, EOFError, MemoryError) as exc:
        raise _damaged(exc) from None
    return image, str(image.format)


def _looks_accepted(data: bytes) -> bool:
    """Whether the first bytes are an accepted format's signature (for a better reason).

    >>> _looks_accepted(b"\\x89PNG\\r\\n\\x1a\\n..."), _looks_accepted(b"<svg")
    (True, False)
    """
    return (
        data.startswith((b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff"))
        or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")
        or (HEIC and data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS)
    )


_HEIF_BRANDS: Final = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1"})


def _damaged(exc: BaseException) -> PhotoError:
    text = str(exc).lower()
    if "truncated" in text or isinstance(exc, EOFError) or "premature end" in text:
        return PhotoDamagedError("truncated", "the image is cut short")
    if "decompressed data too large" in text:  # a PNG text chunk that inflates without end
        return PhotoBombError("bomb", "a part of the image inflates beyond the limit")
    return PhotoDamagedError("corrupt", "the image data is broken")


def _upright(image: Image.Image) -> Image.Image:
    """Turned as the EXIF orientation says; a broken EXIF block leaves it as it is."""
    try:
        return ImageOps.exif_transpose(image)
    except (OSError, SyntaxError, ValueError, KeyError, TypeError):
        return image


def _srgb(image: Image.Image) -> Image.Image:
    """Colours converted from an embedded ICC profile to sRGB, so dropping it changes nothing."""
    icc = image.info.get("icc_profile")
    if not icc or image.mode not in ("RGB", "RGBA"):
        return image
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        converted = ImageCms.profileToProfile(
            image, source, ImageCms.createProfile("sRGB"), outputMode=image.mode
        )
    except (ImageCms.PyCMSError, OSError, ValueError):
        return image  # an unreadable profile: keep the pixels as they are
    return converted if converted is not None else image


def _pixels_only(image: Image.Image, *, keep_alpha: bool) -> Image.Image:
    """A new image holding the pixels and nothing else (``info`` carries EXIF, XMP, ICC...)."""
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (
        image.mode == "P" and "transparency" in image.info
    )
    if keep_alpha and has_alpha:
        pixels = image.convert("RGBA")
    elif has_alpha:  # flattened on white: a thumbnail or a JPEG has no transparency
        rgba = image.convert("RGBA")
        pixels = Image.new("RGB", rgba.size, (255, 255, 255))
        pixels.paste(rgba, mask=rgba.getchannel("A"))
    else:
        pixels = image.convert("RGB")
    clean = pixels.copy() if pixels is image else pixels
    clean.info = {}
    return clean


def _shrunk(image: Image.Image, side: int) -> Image.Image:
    """At most ``side`` pixels on its longer side (never enlarged), the aspect kept."""
    scale = side / max(image.size)
    if scale >= 1:
        return image
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    # reducing_gap: a fast integer reduction first, then Lanczos (as Image.thumbnail does).
    return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=2.0)


def _encode(image: Image.Image, fmt: str) -> bytes:
    out = io.BytesIO()
    if fmt == "JPEG":
        # No optimize=True: its extra Huffman pass makes a 12 MP encode ~4× slower
        # for a file a few per cent smaller.
        image.save(out, "JPEG", quality=85)
    elif fmt == "WEBP":
        image.save(out, "WEBP", quality=85)
    else:
        image.save(out, "PNG", optimize=False)
    return out.getvalue()
