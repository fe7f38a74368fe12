"""Who listens to a community: ``/stream`` subscribers and commit watchers.

Subscribers get bounded queues of serialised events: one that falls behind
is marked ``lagged`` (and told to refetch ``/live``) instead of growing
memory. Watchers are flags set whenever anything of their community commits;
the incident commands wait on them for the ingestor's commit.

>>> fan = Fanout(queue_size=1)
>>> sub = fan.subscribe("c")
>>> fan.publish("c", [StreamEvent("device", 1, "{}"), StreamEvent("device", 2, "{}")])
>>> sub.queue.qsize(), sub.lagged
(1, True)
>>> fan.unsubscribe(sub); fan.count("c")
0
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

from api.live.events import StreamEvent


class Subscriber:
    """One ``/stream`` client's queue."""

    __slots__ = ("community", "lagged", "queue")

    def __init__(self, community: str, size: int) -> None:
        self.community = community
        self.queue: asyncio.Queue[StreamEvent] = asyncio.Queue(maxsize=size)
        self.lagged = False

    def offer(self, events: Iterable[StreamEvent]) -> None:
        if self.lagged:
            return
        for event in events:
            try:
                self.queue.put_nowait(event)
            except asyncio.QueueFull:
                self.lagged = True
                return

    def drain(self) -> None:
        """Forget what is queued (after telling the client to refetch)."""
        while not self.queue.empty():
            self.queue.get_nowait()
        self.lagged = False


class Fanout:
    def __init__(self, queue_size: int) -> None:
        self.queue_size = queue_size
        self._subscribers: dict[str, set[Subscriber]] = defaultdict(set)
        self._watchers: dict[str, set[asyncio.Event]] = defaultdict(set)

    def subscribe(self, community: str) -> Subscriber:
        sub = Subscriber(community, self.queue_size)
        self._subscribers[community].add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        subs = self._subscribers.get(sub.community)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self._subscribers[sub.community]

    def count(self, community: str) -> int:
        return len(self._subscribers.get(community, ()))

    def communities(self) -> frozenset[str]:
        return frozenset(self._subscribers)

    def publish(self, community: str, events: list[StreamEvent]) -> None:
        for sub in self._subscribers.get(community, ()):
            sub.offer(events)

    @asynccontextmanager
    async def watching(self, community: str) -> AsyncIterator[asyncio.Event]:
        """A flag set whenever a change or an ingest batch of ``community`` commits."""
        flag = asyncio.Event()
        self._watchers[community].add(flag)
        try:
            yield flag
        finally:
            self._watchers[community].discard(flag)
            if not self._watchers[community]:
                del self._watchers[community]

    def wake(self, community: str) -> None:
        for flag in self._watchers.get(community, ()):
            flag.set()
