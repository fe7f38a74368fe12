"""A small time-to-live cache with the clock passed in (key and community lookups)."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class TtlCache(Generic[K, V]):
    """Entries expire ``ttl`` seconds after they were put.

    Bounded: when full it is simply emptied, which costs a few lookups and
    keeps memory flat even if a client cycles through made-up keys.

    >>> c: TtlCache[str, int] = TtlCache(ttl=5.0, max_entries=2)
    >>> c.put("a", 1, now=0.0); c.get("a", now=4.9), c.get("a", now=5.0)
    (1, None)
    >>> c.put("a", 1, 0.0); c.put("b", 2, 0.0); c.put("c", 3, 0.0); c.get("a", 0.0), c.get("c", 0.0)
    (None, 3)
    """

    def __init__(self, ttl: float, max_entries: int = 10_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: dict[K, tuple[V, float]] = {}

    def get(self, key: K, now: float) -> V | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        value, expires = entry
        if now >= expires:
            del self._entries[key]
            return None
        return value

    def remaining(self, key: K, now: float) -> float:
        """Seconds until ``key`` expires (0 when absent or expired).

        >>> c: TtlCache[str, int] = TtlCache(ttl=5.0)
        >>> c.put("a", 1, now=0.0); c.remaining("a", 1.5), c.remaining("b", 1.5)
        (3.5, 0.0)
        """
        entry = self._entries.get(key)
        return max(0.0, entry[1] - now) if entry is not None else 0.0

    def discard(self, key: K) -> None:
        self._entries.pop(key, None)

    def put(self, key: K, value: V, now: float) -> None:
        if self.ttl <= 0:
            return
        if len(self._entries) >= self.max_entries and key not in self._entries:
            self._entries.clear()
        self._entries[key] = (value, now + self.ttl)

    def discard_where(self, predicate: Callable[[V], bool]) -> None:
        """Drop entries whose value matches (e.g. a key just revoked here)."""
        for key in [k for k, (v, _) in self._entries.items() if predicate(v)]:
            del self._entries[key]
