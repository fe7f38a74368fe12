"""Pure batch assembly: parsed messages → column arrays and grouped dead letters.

Work is per batch: readings become four flat columns in one pass, ready for
one binary COPY.

>>> from ingest.messages import Reading, Telemetry
>>> t = Telemetry("c", "d", (Reading(5, ("a", "b"), (1.0, 2.0)),))
>>> cols = reading_columns([t], {("c", "d"): 7}.__getitem__, {"a": 1, "b": 2}.__getitem__)
>>> cols.ts_us, cols.device, cols.metric, cols.value
([5, 5], [7, 7], [1, 2], [1.0, 2.0])
>>> rows = group_dead_letters([("t", b"x", "schema", "d", None)] * 2)
>>> rows[0].occurrences
2
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from ingest.messages import DeviceStatus, GeoPosition, LocalPosition, Telemetry


@dataclass(slots=True)
class ReadingColumns:
    ts_us: list[int] = field(default_factory=list)
    device: list[int] = field(default_factory=list)
    metric: list[int] = field(default_factory=list)
    value: list[float] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.ts_us)


def reading_columns(
    telemetry: Iterable[Telemetry],
    device_key: Callable[[tuple[str, str]], int],
    metric_key: Callable[[str], int],
) -> ReadingColumns:
    cols = ReadingColumns()
    ts_ext, dev_ext = cols.ts_us.extend, cols.device.extend
    met_ext, val_ext = cols.metric.extend, cols.value.extend
    for msg in telemetry:
        key = device_key((msg.community, msg.device))
        for r in msg.readings:
            n = len(r.metrics)
            ts_ext([r.ts_us] * n)
            dev_ext([key] * n)
            met_ext(map(metric_key, r.metrics))
            val_ext(r.values)
    return cols


@dataclass(slots=True)
class PositionColumns:
    """Positions of one batch: local ones as given, WGS 84 ones per community."""

    ts_us: list[int] = field(default_factory=list)
    device: list[int] = field(default_factory=list)
    x: list[float] = field(default_factory=list)
    y: list[float] = field(default_factory=list)
    z: list[float] = field(default_factory=list)
    # community → (ts_us, device keys, lon, lat, alt)
    geo: dict[str, tuple[list[int], list[int], list[float], list[float], list[float | None]]] = (
        field(default_factory=dict)
    )


def position_columns(
    telemetry: Iterable[Telemetry], device_key: Callable[[tuple[str, str]], int]
) -> PositionColumns:
    cols = PositionColumns()
    for msg in telemetry:
        key = -1
        for r in msg.readings:
            pos = r.pos
            if pos is None:
                continue
            if key < 0:
                key = device_key((msg.community, msg.device))
            if type(pos) is LocalPosition:
                cols.ts_us.append(r.ts_us)
                cols.device.append(key)
                cols.x.append(pos.x)
                cols.y.append(pos.y)
                cols.z.append(pos.z)
            elif type(pos) is GeoPosition:
                g = cols.geo.setdefault(msg.community, ([], [], [], [], []))
                g[0].append(r.ts_us)
                g[1].append(key)
                g[2].append(pos.lon)
                g[3].append(pos.lat)
                g[4].append(pos.alt)
    return cols


@dataclass(slots=True)
class StatusColumns:
    ts_us: list[int] = field(default_factory=list)
    device: list[int] = field(default_factory=list)
    online: list[bool] = field(default_factory=list)
    battery: list[float | None] = field(default_factory=list)
    rssi: list[float | None] = field(default_factory=list)


def status_columns(
    statuses: Iterable[DeviceStatus], device_key: Callable[[tuple[str, str]], int]
) -> StatusColumns:
    cols = StatusColumns()
    for s in statuses:
        cols.ts_us.append(s.ts_us)
        cols.device.append(device_key((s.community, s.device)))
        cols.online.append(s.online)
        cols.battery.append(s.battery)
        cols.rssi.append(s.rssi)
    return cols


def latest_per_device(
    telemetry: Iterable[Telemetry], device_key: Callable[[tuple[str, str]], int]
) -> dict[int, int]:
    """device key → newest reading ts (µs) in the batch, for ``devices.last_seen``."""
    seen: dict[int, int] = {}
    for msg in telemetry:
        key = device_key((msg.community, msg.device))
        newest = max(r.ts_us for r in msg.readings)
        if newest > seen.get(key, -1):
            seen[key] = newest
    return seen


class SeenThrottle:
    """Write ``devices.last_seen`` at most once per ``interval_us`` per device.

    Touching 1,000 device rows in every batch would double the write load for
    a column the cockpit reads at minute resolution.

    >>> t = SeenThrottle(60_000_000)
    >>> t.due({1: 10, 2: 10}, now_us=0), t.due({1: 20}, now_us=1), t.due({1: 30}, now_us=60_000_001)
    ({1: 10, 2: 10}, {}, {1: 30})
    """

    def __init__(self, interval_us: int) -> None:
        self.interval_us = interval_us
        self._written: dict[int, int] = {}

    def due(self, seen: dict[int, int], now_us: int) -> dict[int, int]:
        out = {}
        for key, ts in seen.items():
            last = self._written.get(key)
            if last is None or now_us - last >= self.interval_us:
                out[key] = ts
                self._written[key] = now_us
        return out


@dataclass(frozen=True, slots=True)
class DeadLetterRow:
    topic: str
    payload: bytes
    sha256: bytes
    reason: str
    detail: str
    community: str | None
    occurrences: int


def group_dead_letters(
    items: Sequence[tuple[str, bytes, str, str, str | None]],
) -> list[DeadLetterRow]:
    """Fold repeats within a batch: one row per (topic, payload, reason), counted.

    (One INSERT ... ON CONFLICT DO UPDATE cannot touch the same row twice.)
    """
    grouped: dict[tuple[str, bytes, str], list[object]] = {}
    for topic, payload, reason, detail, community in items:
        digest = hashlib.sha256(payload).digest()
        entry = grouped.get((topic, digest, reason))
        if entry is None:
            grouped[(topic, digest, reason)] = [payload, detail, community, 1]
        else:
            entry[3] = int(str(entry[3])) + 1
    return [
        DeadLetterRow(topic, e[0], digest, reason, e[1], e[2], e[3])  # type: ignore[arg-type]
        for (topic, digest, reason), e in grouped.items()
    ]
