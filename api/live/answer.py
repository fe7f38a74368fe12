"""How a rendered ``/live`` document is answered: identity or gzip, 200 or 304.

Rendering happens once per change (:mod:`api.live.document`); this module
prepares, at the same time, everything each answer needs (the gzip bytes and
the raw ASGI headers of each case), so answering a poll is a lookup.

The snapshot is very repetitive JSON (a 2,000-device community: 205 KiB,
6 KiB gzipped, in under a millisecond), and every browser asks for gzip.
Both encodings carry the same strong ETag (the version): the server has no
byte ranges, and ``Vary: Accept-Encoding`` keeps caches from mixing them.

>>> doc = make_document(7, '"7"', b'{"version": 7}')
>>> answer(doc, None, "gzip, deflate")[0], dict(answer(doc, None, None)[1])[b"etag"]
(200, b'"7"')
>>> dict(answer(doc, None, "br, gzip")[1])[b"content-encoding"]
b'gzip'
>>> answer(doc, 'W/"7"', "gzip")[:1], answer(doc, '"6"', None)[2]
((304,), b'{"version": 7}')
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from typing import Final

Headers = tuple[tuple[bytes, bytes], ...]
_JSON: Final = (b"content-type", b"application/json")
_VARY: Final = (b"vary", b"Accept-Encoding")
GZIP_LEVEL: Final = 6


@dataclass(frozen=True, slots=True)
class LiveDocument:
    """One rendered snapshot and its answers' bytes and headers."""

    version: int
    etag: str
    body: bytes
    gzip: bytes
    raw_ok: Headers
    raw_gzip: Headers
    raw_not_modified: Headers


def make_document(version: int, etag: str, body: bytes) -> LiveDocument:
    packed = gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0)
    validators = (_VARY, (b"etag", etag.encode()), (b"cache-control", b"no-cache"))
    return LiveDocument(
        version,
        etag,
        body,
        packed,
        raw_ok=((b"content-length", str(len(body)).encode()), _JSON, *validators),
        raw_gzip=(
            (b"content-length", str(len(packed)).encode()),
            _JSON,
            (b"content-encoding", b"gzip"),
            *validators,
        ),
        raw_not_modified=validators,
    )


def etag_matches(if_none_match: str, etag: str) -> bool:
    """RFC 9110 weak comparison of an ``If-None-Match`` list with our ETag.

    >>> etag_matches('"7"', '"7"'), etag_matches('W/"7", "8"', '"8"'), etag_matches("*", '"1"')
    (True, True, True)
    >>> etag_matches('"7"', '"7.1"')
    False
    """
    if if_none_match == etag:
        return True
    for part in if_none_match.split(","):
        tag = part.strip()
        if tag == "*" or tag.removeprefix("W/") == etag:
            return True
    return False


def accepts_gzip(accept_encoding: str) -> bool:
    """Whether ``Accept-Encoding`` allows gzip (an explicit ``gzip`` weighs over ``*``).

    >>> accepts_gzip("gzip, deflate, br"), accepts_gzip("br, gzip;q=0, *"), accepts_gzip("*")
    (True, False, True)
    >>> accepts_gzip("identity"), accepts_gzip("GZIP;q=0.5"), accepts_gzip("gzip;q=x")
    (False, True, False)
    """
    star: float | None = None
    for part in accept_encoding.lower().split(","):
        coding, _, params = part.partition(";")
        coding = coding.strip()
        if coding not in ("gzip", "x-gzip", "*"):
            continue
        q = 1.0
        name, _, value = params.strip().partition("=")
        if name.strip() == "q":
            try:
                q = float(value)
            except ValueError:
                q = 0.0
        if coding == "*":
            star = q
        else:
            return q > 0
    return star is not None and star > 0


def answer(
    doc: LiveDocument, if_none_match: str | None, accept_encoding: str | None
) -> tuple[int, Headers, bytes]:
    """Status, raw headers and body of the answer to a poll."""
    if if_none_match is not None and etag_matches(if_none_match, doc.etag):
        return 304, doc.raw_not_modified, b""
    if accept_encoding is not None and accepts_gzip(accept_encoding):
        return 200, doc.raw_gzip, doc.gzip
    return 200, doc.raw_ok, doc.body
