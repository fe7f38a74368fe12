"""Single flights: concurrent lookups of the same thing share one.

When a cached key or community expires under load, every request waiting
at that moment missed the cache together: each took a pooled connection
for the same query, the pool ran dry, and the refresh that would have
refilled the cache queued behind them (the /live tail under the district
feed, bench/RESULTS.md issue 25). Now the first miss looks it up and the
others await its answer (or its error).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Flights(Generic[K, V]):
    """
    >>> async def demo() -> tuple[list[int], int]:
    ...     calls = []
    ...     async def look() -> int:
    ...         calls.append(1)
    ...         await asyncio.sleep(0.01)
    ...         return 7
    ...     f: Flights[str, int] = Flights()
    ...     got = await asyncio.gather(*(f.run("k", look) for _ in range(50)))
    ...     return got[:2], len(calls)
    >>> asyncio.run(demo())
    ([7, 7], 1)
    """

    def __init__(self) -> None:
        self._flying: dict[K, asyncio.Future[V]] = {}

    async def run(self, key: K, lookup: Callable[[], Awaitable[V]]) -> V:
        flight = self._flying.get(key)
        if flight is None:
            flight = asyncio.ensure_future(lookup())
            self._flying[key] = flight
            flight.add_done_callback(lambda done: self._landed(key, done))
        # Shielded: a waiter that goes away (client gone) does not cancel the others'.
        return await asyncio.shield(flight)

    def _landed(self, key: K, done: asyncio.Future[V]) -> None:
        if self._flying.get(key) is done:
            del self._flying[key]
        if not done.cancelled():
            done.exception()  # seen, even if every waiter went away
