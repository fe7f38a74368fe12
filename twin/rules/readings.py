"""What the rule engine takes in and gives out: reading batches, device and alarm
references, and alarm events. Times are epoch seconds (float) throughout.

>>> b = ReadingBatch.from_rows([(7, 1, 1700000000.0, 1.0), (7, 2, 1700000000.0, 21.5)])
>>> len(b), b.device_key.dtype.name, b.value.tolist()
(2, 'int64', [1.0, 21.5])
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

EventKind = Literal["raised", "updated", "cleared"]

Int64s = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class ReadingBatch:
    """Parallel arrays, one row per reading. ``device_key``/``metric_key`` are the
    database's ``devices.key`` / ``metrics.key``; booleans are 1.0 / 0.0."""

    device_key: Int64s
    metric_key: Int64s
    ts: Floats
    value: Floats

    def __post_init__(self) -> None:
        cols = {
            "device_key": np.ascontiguousarray(self.device_key, dtype=np.int64),
            "metric_key": np.ascontiguousarray(self.metric_key, dtype=np.int64),
            "ts": np.ascontiguousarray(self.ts, dtype=np.float64),
            "value": np.ascontiguousarray(self.value, dtype=np.float64),
        }
        lengths = {a.shape for a in cols.values()}
        if len(lengths) != 1 or len(next(iter(lengths))) != 1:
            shapes = ", ".join(f"{k}{a.shape}" for k, a in cols.items())
            raise ValueError(f"a reading batch needs four 1-D arrays of one length: {shapes}")
        if not np.isfinite(cols["ts"]).all():
            raise ValueError("reading times must be finite epoch seconds")
        for name, arr in cols.items():
            object.__setattr__(self, name, arr)

    def __len__(self) -> int:
        return int(self.ts.shape[0])

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[int, int, float, float]]) -> ReadingBatch:
        """From ``(device_key, metric_key, ts, value)`` tuples (tests, small callers)."""
        listed = list(rows)
        if not listed:
            return cls.empty()
        dev, met, ts, val = zip(*listed, strict=True)
        return cls(
            np.array(dev, dtype=np.int64),
            np.array(met, dtype=np.int64),
            np.array(ts, dtype=np.float64),
            np.array(val, dtype=np.float64),
        )

    @classmethod
    def empty(cls) -> ReadingBatch:
        return cls(
            np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.float64), np.empty(0)
        )

    @classmethod
    def concat(cls, batches: Sequence[ReadingBatch]) -> ReadingBatch:
        if not batches:
            return cls.empty()
        return cls(
            np.concatenate([b.device_key for b in batches]),
            np.concatenate([b.metric_key for b in batches]),
            np.concatenate([b.ts for b in batches]),
            np.concatenate([b.value for b in batches]),
        )


@dataclass(frozen=True)
class DeviceRef:
    """A device the engine evaluates. ``last_seen`` (its latest reading, from the
    database) lets no-data rules work across a restart; None = never seen, and a
    device never seen raises no no-data alarm."""

    key: int
    community: str
    id: str
    kind: str | None
    last_seen: float | None = None


@dataclass(frozen=True)
class LastReading:
    """The latest stored reading of one device/metric, to resume rate and duration
    rules after a restart (e.g. from ``readings_1m.last_ts/last_value``)."""

    device_key: int
    metric_key: int
    ts: float
    value: float


@dataclass(frozen=True)
class ActiveAlarm:
    """An alarm that is raised and not cleared: a row of ``alarms`` with
    ``state <> 'cleared'`` (``raised_at`` as epoch seconds)."""

    community: str
    device: str
    rule_id: str
    severity: str
    raised_at: float
    value: float | None = None


@dataclass(frozen=True)
class AlarmEvent:
    """A change of one alarm (one device, one rule)."""

    kind: EventKind
    community: str
    device: str
    rule_id: str
    metric: str | None
    severity: str
    value: float | None
    ts: float
    message: str
