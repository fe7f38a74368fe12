"""Scene trends rendered once per community, parameters and time-to-live.

Screens poll the trends (docs/cockpit.md); a trend over 30 days changes
little in a minute. Each answer is kept as JSON bytes with a strong ETag
(a digest of those bytes), so a poll inside the time-to-live costs no
database access and a poll with a current ``If-None-Match`` gets a 304.
Concurrent misses of one key wait for a single computation.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any, Final

import orjson

from api.cache import TtlCache

# Seconds an answer is reused, by span: an hourly trend moves each minute or
# so, a daily or monthly one far less.
TTL_S: Final[dict[str, float]] = {"24h": 30.0, "30d": 120.0, "12mo": 600.0}


@dataclass(frozen=True, slots=True)
class Rendered:
    body: bytes
    etag: str
    max_age: int


def render(doc: Any, ttl: float) -> Rendered:
    """JSON bytes and their strong ETag.

    >>> r = render({"a": 1}, 30.0)
    >>> r.body, r.etag == render({"a": 1}, 5.0).etag, r.max_age
    (b'{"a":1}', True, 30)
    """
    body = orjson.dumps(doc)
    return Rendered(body, '"' + hashlib.sha256(body).hexdigest()[:24] + '"', int(ttl))


class SceneCache:
    def __init__(self, ttls: dict[str, float] = TTL_S, max_entries: int = 2000) -> None:
        self._caches = {
            span: TtlCache[Hashable, Rendered](t, max_entries) for span, t in ttls.items()
        }
        self._locks: dict[Hashable, asyncio.Lock] = {}

    async def get(
        self,
        span: str,
        key: Hashable,
        now: Callable[[], float],
        build: Callable[[], Awaitable[Any]],
    ) -> Rendered:
        cache = self._caches[span]
        hit = cache.get(key, now())
        if hit is not None:
            return hit
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            hit = cache.get(key, now())
            if hit is None:
                hit = render(await build(), cache.ttl)
                cache.put(key, hit, now())
        if not lock.locked():
            self._locks.pop(key, None)
        return hit


def not_modified(if_none_match: str | None, etag: str) -> bool:
    """Whether the client's ``If-None-Match`` names ``etag`` (or is ``*``).

    >>> not_modified('"x", "y"', '"y"'), not_modified('W/"y"', '"y"'), not_modified(None, '"y"')
    (True, True, False)
    """
    if not if_none_match:
        return False
    tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
    return "*" in tags or etag in tags
