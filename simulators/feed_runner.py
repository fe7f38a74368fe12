"""The I/O shell of the realistic feed: pace actions on the simulated clock, publish.

Actions come from :func:`simulators.scenario.feed` (pure, time-ordered); this
shell waits until the simulated clock reaches each one and performs it over
aiomqtt, with up to ``max_inflight`` QoS 1 publishes awaiting their
acknowledgement at once (order is kept per connection: paho queues packets
in call order). Actions decided while running (the grid workers' plans of
incidents learnt of from the API, :mod:`simulators.worker_desk`) are merged
in by time with :meth:`FeedRunner.inject`. SIGINT/SIGTERM end the run early
with a summary.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import signal
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import aiomqtt

from simulators import wire
from simulators.actions import Action, BadSlot, Link, Publish
from simulators.bad_input import nth_case
from simulators.broker import BrokerConfig
from simulators.clock import SimClock
from simulators.mqtt_links import Link as MqttLink
from simulators.mqtt_links import LinkError
from simulators.progress import Progress


@dataclass
class RunTally:
    """What a run did; ``as_dict`` is the JSON summary line."""

    published: Counter[str] = field(default_factory=Counter)
    readings: int = 0
    bad: Counter[str] = field(default_factory=Counter)
    errors: int = 0
    links_dropped: int = 0
    links_restored: int = 0
    last_sim: float | None = None

    @property
    def sent(self) -> int:
        return sum(self.published.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "sent": self.sent,
            "published": dict(sorted(self.published.items())),
            "readings": self.readings,
            "bad": dict(sorted(self.bad.items())),
            "errors": self.errors,
            "links_dropped": self.links_dropped,
            "links_restored": self.links_restored,
            "last_sim_ts": wire.rfc3339(self.last_sim) if self.last_sim is not None else None,
        }


class FeedRunner:
    def __init__(
        self,
        broker: BrokerConfig,
        w: wire.Wire,
        *,
        gateways: Iterable[str] = (),
        progress: Progress | None = None,
        max_inflight: int = 500,
        real_clock: Callable[[], float] = time.time,
    ) -> None:
        self.broker, self.wire = broker, w
        self.gateways = frozenset(gateways)
        self.links: dict[str, MqttLink] = {}
        self.tally = RunTally()
        self.progress = progress
        self.slots = asyncio.Semaphore(max_inflight)
        self.real_clock = real_clock
        self.stop = asyncio.Event()
        self._extra: list[tuple[float, int, Publish]] = []  # injected, by time
        self._order = itertools.count()
        self._wake = asyncio.Event()

    def inject(self, actions: Iterable[Publish]) -> None:
        """Merge ``actions`` into the run by time (one already due goes next)."""
        for a in actions:
            heapq.heappush(self._extra, (a.at, next(self._order), a))
        self._wake.set()

    def link(self, via: str) -> MqttLink:
        if via not in self.links:
            will = None
            if via in self.gateways:
                will = aiomqtt.Will(self.wire.status(via), wire.status(False), qos=1, retain=True)
            self.links[via] = MqttLink(self.broker, f"{self.wire.community}-{via}", will)
        return self.links[via]

    async def _send(self, link: MqttLink, p: Publish, bad_reason: str | None) -> bool:
        try:
            ok = await link.publish(p.topic, p.payload, retain=p.retain)
        finally:
            self.slots.release()
        if not ok:
            self.tally.errors += 1
        elif bad_reason is not None:
            self.tally.bad[bad_reason] += 1
        else:
            self.tally.published[p.category] += 1
            self.tally.readings += p.readings
        return ok

    async def publish(self, p: Publish, bad_reason: str | None = None) -> None:
        await self.slots.acquire()
        link = self.link(p.via)
        task = asyncio.create_task(self._send(link, p, bad_reason))
        link.inflight.add(task)
        task.add_done_callback(link.inflight.discard)

    async def perform(self, action: Action) -> None:
        if isinstance(action, Link):
            link = self.link(action.via)
            if action.up:
                try:
                    await link.open()
                except LinkError:
                    self.tally.errors += 1  # the broker is away: the next publish retries
                    return
                self.tally.links_restored += 1
            else:
                await link.drop()
                self.tally.links_dropped += 1
        elif isinstance(action, BadSlot):
            case = nth_case(self.wire, action.n, self.real_clock())
            await self.publish(Publish(action.at, "bad", case.topic, case.payload), case.reason)
        else:
            await self.publish(action)

    async def _wait_until(self, real: float) -> bool:
        """Sleep until ``real``, a stop or an injection; True when woken by an injection."""
        delay = real - self.real_clock()
        if delay <= 0.002:
            return False
        waits = {asyncio.ensure_future(self.stop.wait()), asyncio.ensure_future(self._wake.wait())}
        _, pending = await asyncio.wait(waits, timeout=delay, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        return self._wake.is_set()

    async def run(
        self, actions: Iterable[Action], clock: SimClock, *, first_link: str = "app"
    ) -> RunTally:
        """Perform ``actions`` (and injected ones) on ``clock``; opens one connection
        eagerly to fail fast. Ends when ``actions`` do (injections past it are dropped)."""
        await self.link(first_link).open()
        feed = iter(actions)
        upcoming: Action | None = next(feed, None)
        try:
            while upcoming is not None and not self.stop.is_set():
                self._wake.clear()  # before choosing: no injection can slip past
                injected = bool(self._extra) and self._extra[0][0] < upcoming.at
                action = self._extra[0][2] if injected else upcoming
                if await self._wait_until(clock.real_at(action.at)):
                    continue  # something new may be due first
                if self.stop.is_set():
                    break
                if injected:
                    heapq.heappop(self._extra)
                else:
                    upcoming = next(feed, None)
                await self.perform(action)
                self.tally.last_sim = action.at
                if self.progress is not None:
                    self.progress.update(sent=self.tally.sent, errors=self.tally.errors)
        finally:
            for link in list(self.links.values()):
                await link.close()
        return self.tally


def install_stop_signals(stop: asyncio.Event) -> None:
    """SIGINT/SIGTERM set ``stop`` (when running in the main thread)."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)


__all__ = ["FeedRunner", "LinkError", "RunTally", "install_stop_signals"]
