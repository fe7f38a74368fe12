"""Every community's live state in one API process, kept current by notifications.

:class:`LiveHub` is what routes see. While :meth:`LiveHub.running` (the app's
lifespan) one LISTEN connection receives ``commtwin_changes`` (and
``commtwin_batches``, which only wakes commit watchers) and one applier task
(:mod:`api.live.applier`) owns every change: it builds a community on first
use, applies notifications by reading the changed rows, rebuilds on a model
change and, whenever the LISTEN link is (re)established, rebuilds everything
it holds and replays missed changes to ``/stream`` subscribers, so a lost
link loses nothing.

``/live`` reads :meth:`LiveHub.cached`: no await, no database, the bytes
rendered once per change.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import datetime
from typing import Final

import orjson
from psycopg_pool import AsyncConnectionPool

from api.db import Conn
from api.live import events as ev
from api.live.answer import LiveDocument
from api.live.applier import Applier, Resync, parse_change
from api.live.document import CommunityLive, day_start_in
from api.live.fanout import Fanout, Subscriber
from api.live.heap import freeze_built, keep_frozen
from api.live.listener import listen
from api.live.reader import LiveReader, LiveUnavailableError

log = logging.getLogger(__name__)

CHANGES: Final = "commtwin_changes"
BATCHES: Final = "commtwin_batches"


class LiveHub:
    def __init__(
        self,
        *,
        now: Callable[[], datetime],
        timezone: str = "UTC",
        replay_limit: int = 1000,
        subscriber_queue: int = 1000,
        build_timeout_s: float = 10.0,
        freeze_heap: bool = False,
    ) -> None:
        self.now = now
        self.replay_limit = replay_limit
        self.fanout = Fanout(subscriber_queue)
        self._day_start = day_start_in(timezone)
        self._build_timeout = build_timeout_s
        self._applier: Applier | None = None
        self.connected = False
        # Keep the states out of full GC passes (api/live/heap.py).
        self._freeze_heap = freeze_heap

    # ------------------------------------------------------------ lifecycle
    @asynccontextmanager
    async def running(self, pool: AsyncConnectionPool[Conn], url: str) -> AsyncIterator[None]:
        """Listen and apply while the block runs (the app's lifespan)."""
        reader = LiveReader(pool, self.now, self._day_start, self.replay_limit)
        applier = Applier(
            reader, self.fanout, after_build=freeze_built if self._freeze_heap else None
        )
        self._applier = applier
        listener = listen(
            url,
            (CHANGES, BATCHES),
            self._deliver,
            on_connect=self._on_connect,
            on_disconnect=self._on_disconnect,
        )
        tasks = [
            asyncio.create_task(applier.run(), name="live-applier"),
            asyncio.create_task(listener, name="live-listener"),
        ]
        if self._freeze_heap:
            tasks.append(asyncio.create_task(keep_frozen(), name="live-heap"))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._applier = None
            applier.fail_builds("the API is shutting down")

    def _on_connect(self) -> None:
        self.connected = True
        if self._applier is not None:
            self._applier.work.put_nowait(Resync(None, "the database link was restored"))

    def _on_disconnect(self, reason: str) -> None:
        if self.connected:
            log.warning("live: lost the LISTEN link: %s", reason)
        self.connected = False

    def _deliver(self, channel: str, payload: str) -> None:
        if channel == CHANGES:
            change = parse_change(payload)
            if change is None:
                log.warning("live: ignoring a malformed notification %r", payload[:200])
                return
            self.fanout.wake(change.community)
            if self._applier is not None:
                self._applier.work.put_nowait(change)
        elif channel == BATCHES:
            try:
                self.fanout.wake(str(orjson.loads(payload)["community"]))
            except (orjson.JSONDecodeError, KeyError, TypeError):
                return

    # ------------------------------------------------------------- reading
    def cached(self, community: str, now: datetime) -> LiveDocument | None:
        """The current document when the community is held (the hot path: no await)."""
        entry = self.held(community)
        return entry.document(now) if entry is not None else None

    def held(self, community: str) -> CommunityLive | None:
        """The community's live state if it is held (no await, nothing built)."""
        applier = self._applier
        return applier.entries.get(community) if applier is not None else None

    async def document(self, community: str) -> LiveDocument | None:
        """The current document, building the state first if needed; None: no such community."""
        doc = self.cached(community, self.now())
        if doc is not None:
            return doc
        entry = await self.ensure(community)
        return entry.document(self.now()) if entry is not None else None

    async def ensure(self, community: str) -> CommunityLive | None:
        """The community's live state, built by the applier if not held yet."""
        applier = self._applier
        if applier is None:
            raise LiveUnavailableError("the live state is not running")
        entry = applier.entries.get(community)
        if entry is not None:
            return entry
        fut = applier.request_build(community)
        try:
            return await asyncio.wait_for(asyncio.shield(fut), self._build_timeout)
        except TimeoutError:
            raise LiveUnavailableError("the live state is not ready yet, try again") from None

    # --------------------------------------------------------------- stream
    def subscribe(self, community: str) -> Subscriber:
        return self.fanout.subscribe(community)

    def unsubscribe(self, sub: Subscriber) -> None:
        self.fanout.unsubscribe(sub)

    async def replay(
        self, community: str, after: int, upto: str | None = None
    ) -> tuple[list[ev.StreamEvent], str | None]:
        """Whole commits after ``after`` that the snapshot ``upto`` (a state's frontier) saw."""
        applier = self._applier
        if applier is None:
            raise LiveUnavailableError("the live state is not running")
        return await applier.reader.replay(community, after, upto)

    def watching(self, community: str) -> AbstractAsyncContextManager[asyncio.Event]:
        """A flag set whenever a change or an ingest batch of ``community`` commits."""
        return self.fanout.watching(community)
