"""Keeps the ``/live`` fast path's key and community caches warm, one lookup at a time.

Every screen of a community centre polls with the same key. When that key's
cache entry expires (:attr:`api.config.ApiConfig.key_cache_s`), every poll
arriving before the first lookup returns falls through to the route and
runs its own query: hundreds of queries at once on a 10-connection pool,
every few seconds, which is most of ``/live``'s p99 tail under load. So an
entry past half its life is looked up again in the background, once (a
single flight per entry), while polls keep being served from the entry,
which still expires on time: a revoked key stops working just as soon as
before (the lookup says so, or the entry runs out).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from psycopg import Error as DatabaseError
from psycopg_pool import PoolTimeout

from api.queries.communities import existing
from api.queries.keys import authenticate
from api.state import ApiState

log = logging.getLogger(__name__)

_COMMUNITIES = "communities"  # the single flight of the batch lookup


class CacheWarmer:
    def __init__(self) -> None:
        self._flying: set[object] = set()
        # Communities waiting for the next batch lookup.
        self._due: set[str] = set()
        # Held so running lookups are not garbage-collected mid-flight.
        self._tasks: set[asyncio.Task[None]] = set()

    def key(self, state: ApiState, digest: bytes, text: str, now: float) -> None:
        """Look ``text`` up again if its entry is past half its life."""
        if state.keys.remaining(digest, now) > state.keys.ttl / 2 or digest in self._flying:
            return
        self._start(digest, self._key(state, digest, text))

    def community(self, state: ApiState, cid: str, now: float) -> None:
        """Look ``cid`` up again if its entry is past half its life: all communities
        due are looked up together (a district's 200 would be 80 queries a second)."""
        if state.communities.remaining(cid, now) > state.communities.ttl / 2:
            return
        if cid in self._due:
            return
        self._due.add(cid)
        if _COMMUNITIES not in self._flying:
            self._start(_COMMUNITIES, self._communities(state))

    def _start(self, flight: object, work: Coroutine[Any, Any, None]) -> None:
        self._flying.add(flight)
        task = asyncio.create_task(work, name="live-cache-warm")
        self._tasks.add(task)

        def done(t: asyncio.Task[None]) -> None:
            self._flying.discard(flight)
            self._tasks.discard(t)

        task.add_done_callback(done)

    async def _key(self, state: ApiState, digest: bytes, text: str) -> None:
        try:
            async with state.pool.connection() as conn:
                key = await authenticate(conn, text)
        except (DatabaseError, PoolTimeout) as exc:
            # The entry expires on its own; the route then answers (503 if still down).
            log.warning("live: could not refresh a cached key: %s", exc)
            return
        if key is None:
            state.keys.discard(digest)
        else:
            state.keys.put(digest, key, state.monotonic())

    async def _communities(self, state: ApiState) -> None:
        while self._due:
            ids = sorted(self._due)
            try:
                async with state.pool.connection() as conn:
                    found = await existing(conn, ids)
            except (DatabaseError, PoolTimeout) as exc:
                # The entries expire on their own; the route then answers (503 if still down).
                log.warning("live: could not refresh %d communities: %s", len(ids), exc)
                self._due.difference_update(ids)
                return
            now = state.monotonic()
            for cid in ids:
                if cid in found:
                    state.communities.put(cid, True, now)
                else:
                    state.communities.discard(cid)
            self._due.difference_update(ids)
