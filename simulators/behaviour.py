"""How one device's life becomes a stream of actions: reports, outages, gateways.

A :class:`Behaviour` (one per device kind, in ``behaviour_*.py``) says what a
device reports at a given time and when it next reports. :func:`drive` turns
it into a time-ordered stream of :class:`~simulators.actions.Publish`:
retained ``status`` online at start, telemetry, and now and then an offline
spell (flat battery, radio trouble) announced by a retained offline status.
:func:`through_gateway` then holds back whatever a device says while its
gateway is disconnected and flushes it as one gateway batch on reconnection,
as real gateways do.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any, Protocol

import orjson

from simulators import wire
from simulators.actions import Link, Publish
from simulators.model_view import SimCommunity, SimDevice

DAY = 86400.0


@dataclass(frozen=True, slots=True)
class Step:
    """What a device reports now (``values`` None: nothing) and when it looks again."""

    values: dict[str, wire.Value] | None
    next_in: float  # seconds
    pos: dict[str, float] | None = None


class Behaviour(Protocol):
    def step(self, t: float) -> Step: ...


@dataclass(frozen=True, slots=True)
class FeedContext:
    wire: wire.Wire
    community: SimCommunity
    seed: int
    event_rate: float = 1.0  # multiplies rare events (smoke, leaks, falls, faults)
    offline_per_day: float = 1 / 30  # per device
    outage_per_day: float = 1 / 15  # per gateway

    def rng(self, *parts: object) -> random.Random:
        """A generator of its own per device/purpose: adding one changes no other."""
        return random.Random("/".join(str(p) for p in (self.seed, *parts)))

    def next_event(self, rng: random.Random, t: float, per_day: float) -> float:
        """When a rare event (``per_day`` at event_rate 1) next happens after ``t``."""
        rate = per_day * self.event_rate / DAY
        return t + rng.expovariate(rate) if rate > 0 else math.inf


def drive(
    dev: SimDevice, behaviour: Behaviour, ctx: FeedContext, start: float, end: float | None
) -> Iterator[Publish]:
    rng = ctx.rng("life", dev.id)
    topic, status_topic = ctx.wire.telemetry(dev.id), ctx.wire.status(dev.id)
    t = start + rng.uniform(0.0, 2.0)
    yield Publish(t, dev.gateway, status_topic, wire.status(True, t), True, "status", 0)
    rate = ctx.offline_per_day / DAY
    next_offline = t + rng.expovariate(rate) if rate > 0 else math.inf
    # Spread first reports over a minute so a start is not a thundering herd.
    t += rng.uniform(1.0, 60.0)
    while end is None or t < end:
        if t >= next_offline:
            off = rng.uniform(600.0, 4 * 3600.0)
            yield Publish(t, dev.gateway, status_topic, wire.status(False, t), True, "status", 0)
            t += off
            if end is not None and t >= end:
                return
            yield Publish(t, dev.gateway, status_topic, wire.status(True, t), True, "status", 0)
            next_offline = t + rng.expovariate(rate)
            t += 1.0
            continue
        s = behaviour.step(t)
        if s.values is not None:
            yield Publish(t, dev.gateway, topic, wire.reading(t, s.values, pos=s.pos))
        t += max(s.next_in, 0.001)


class OutageSchedule:
    """When a gateway is disconnected: windows generated lazily, in order."""

    def __init__(self, rng: random.Random, start: float, per_day: float) -> None:
        self._rng = rng
        self._rate = per_day / DAY
        self._windows: list[tuple[float, float]] = []
        self._cursor = start

    def _extend_to(self, t: float) -> None:
        while self._rate > 0 and self._cursor <= t:
            begin = self._cursor + self._rng.expovariate(self._rate)
            end = begin + self._rng.uniform(120.0, 1800.0)
            self._windows.append((begin, end))
            self._cursor = end + 60.0

    def window_at(self, t: float) -> tuple[float, float] | None:
        self._extend_to(t)
        for begin, end in reversed(self._windows):
            if begin <= t < end:
                return (begin, end)
            if end <= t:
                return None
        return None

    def windows_until(self, end: float | None) -> Iterator[tuple[float, float]]:
        i = 0
        while self._rate > 0:
            if i >= len(self._windows):
                self._extend_to(self._cursor)  # adds the next window
                continue
            w = self._windows[i]
            if end is not None and w[0] >= end:
                return
            yield w
            i += 1


# Flushed readings arrive just after the gateway reconnects and says so.
FLUSH_DELAY = 0.5


def through_gateway(stream: Iterator[Publish], outages: OutageSchedule) -> Iterator[Publish]:
    """Hold back a device's messages while its gateway is down; flush them as batches."""
    held: list[Publish] = []
    window: tuple[float, float] | None = None
    for item in stream:
        p = item
        if window is not None and p.at >= window[1]:
            flush_at = window[1] + FLUSH_DELAY
            yield from _flush(held, flush_at)
            held, window = [], None
            if p.at < flush_at:  # keep the stream in time order
                p = replace(p, at=flush_at)
        w = outages.window_at(p.at)
        if w is not None:
            window = w
            held.append(p)
            continue
        yield p
    # A run that ends while the gateway is down ends with its buffer unsent.


def _flush(held: list[Publish], at: float) -> Iterator[Publish]:
    readings: list[dict[str, Any]] = []
    topic = ""
    for p in held:
        if p.category == "telemetry":
            readings.append(orjson.loads(p.payload))
            topic = p.topic
        else:
            yield Publish(at, p.via, p.topic, p.payload, p.retain, p.category, p.readings)
    for n, payload in enumerate(wire.batch(readings)):
        count = min(wire.MAX_BATCH_READINGS, len(readings) - n * wire.MAX_BATCH_READINGS)
        yield Publish(at, held[0].via, topic, payload, False, "telemetry", count)


def gateway_stream(
    dev: SimDevice, ctx: FeedContext, outages: OutageSchedule, start: float, end: float | None
) -> Iterator[Publish | Link]:
    """The gateway's own life: online at start, then drop (last will) and return."""
    status_topic = ctx.wire.status(dev.id)
    yield Publish(start, dev.id, status_topic, wire.status(True, start), True, "status", 0)
    for begin, finish in outages.windows_until(end):
        yield Link(begin, dev.id, up=False)
        if end is not None and finish >= end:
            return
        yield Link(finish, dev.id, up=True)
        yield Publish(
            finish + 0.001, dev.id, status_topic, wire.status(True, finish), True, "status", 0
        )
