"""twin.people.photos offline: what is refused and why, and what is kept of a good photo."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from tests.photo_samples import (
    BAD_UPLOADS,
    COMMENT,
    MAKER,
    XMP_MARK,
    BadUpload,
    heic,
    jpeg,
    png,
    private_jpeg,
)
from twin.people.photos import (
    CONTENT_TYPES,
    PhotoBombError,
    PhotoError,
    PhotoLimits,
    PhotoTooLargeError,
    check_photo,
)


@pytest.mark.parametrize("bad", BAD_UPLOADS, ids=[b.name for b in BAD_UPLOADS])
def test_each_bad_upload_is_refused_with_its_reason(bad: BadUpload) -> None:
    with pytest.raises(PhotoError) as refused:
        check_photo(bad.data)
    assert refused.value.reason == bad.reason
    assert str(refused.value).startswith(f"{bad.reason}: ")


def test_the_list_of_bad_uploads_is_long_enough_and_their_reasons_vary() -> None:
    assert len(BAD_UPLOADS) >= 10
    assert {b.reason for b in BAD_UPLOADS} >= {
        "bad_type", "truncated", "too_large", "bomb", "empty", "corrupt", "animated"
    }  # fmt: skip


@pytest.mark.parametrize("orientation", [6, 1, None])
def test_exif_gps_xmp_icc_and_comments_are_not_kept(orientation: int | None) -> None:
    original = private_jpeg(orientation=orientation)
    for mark in (MAKER.encode(), XMP_MARK.encode(), COMMENT, b"Exif\0\0"):
        assert mark in original, mark  # the sample really carries them
    photo = check_photo(original)
    for mark in (MAKER.encode(), XMP_MARK.encode(), COMMENT, b"Exif\0\0", b"ICC_PROFILE"):
        assert mark not in photo.data, mark
        assert mark not in photo.thumb, mark
    stored = Image.open(io.BytesIO(photo.data))
    assert not stored.getexif()
    assert not stored.getexif().get_ifd(0x8825)  # no GPS
    assert {"exif", "xmp", "icc_profile", "comment"}.isdisjoint(stored.info)


def test_the_exif_orientation_is_applied_before_it_is_dropped() -> None:
    photo = check_photo(private_jpeg((64, 48)))  # orientation 6: a portrait shot
    assert (photo.width, photo.height) == (48, 64)
    assert Image.open(io.BytesIO(photo.data)).size == (48, 64)
    assert Image.open(io.BytesIO(photo.thumb)).size == (48, 64)  # small ones are not enlarged


def test_a_thumbnail_is_a_small_jpeg_keeping_the_aspect() -> None:
    photo = check_photo(jpeg((1600, 1200)))
    thumb = Image.open(io.BytesIO(photo.thumb))
    assert thumb.format == "JPEG"
    assert thumb.size == (320, 240)
    assert len(photo.thumb) < len(photo.data)
    assert Image.open(io.BytesIO(check_photo(png((3000, 20))).thumb)).size == (320, 2)
    assert Image.open(io.BytesIO(check_photo(png((1, 5000))).thumb)).size == (1, 320)


def test_formats_are_kept_except_heic_which_becomes_jpeg() -> None:
    assert check_photo(png()).content_type == "image/png"
    assert check_photo(jpeg()).content_type == "image/jpeg"
    webp = io.BytesIO()
    Image.new("RGB", (32, 32)).save(webp, "WEBP")
    assert check_photo(webp.getvalue()).content_type == "image/webp"
    from_heic = check_photo(heic())
    assert from_heic.content_type == "image/jpeg"
    assert Image.open(io.BytesIO(from_heic.data)).format == "JPEG"
    assert {"image/jpeg", "image/png", "image/webp"} == CONTENT_TYPES


def test_transparency_is_kept_in_png_and_flattened_in_the_thumbnail() -> None:
    photo = check_photo(png(mode="RGBA"))
    assert Image.open(io.BytesIO(photo.data)).mode == "RGBA"
    assert Image.open(io.BytesIO(photo.thumb)).mode == "RGB"


def test_bytes_after_the_image_are_not_kept() -> None:
    tail = b"<script>alert(1)</script>"
    photo = check_photo(jpeg() + tail)  # phones append data after a JPEG: accepted
    assert tail not in photo.data


def test_limits_are_the_callers() -> None:
    limits = PhotoLimits(max_bytes=1000, max_pixels=100 * 100)
    with pytest.raises(PhotoTooLargeError):
        check_photo(jpeg((64, 48)) + b"\0" * 1000, limits)
    with pytest.raises(PhotoBombError):
        check_photo(png((101, 100)), PhotoLimits(max_pixels=100 * 100))
    assert check_photo(png((100, 100)), PhotoLimits(max_pixels=100 * 100)).width == 100


def test_the_digest_is_of_what_is_stored() -> None:
    import hashlib  # noqa: PLC0415

    photo = check_photo(jpeg())
    assert photo.sha256 == hashlib.sha256(photo.data).digest()
