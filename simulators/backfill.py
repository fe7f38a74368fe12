"""Past readings straight from the behaviour models, as arrays (no MQTT, no JSON).

A history backfill (the demo's month before the feed) needs the readings the
devices would have sent, not the messages: stepping each device's behaviour
directly costs a fifth of going through the feed, the wire format and the
ingestor's parser. Older than ``full_from`` the devices are sampled at most
every ``coarse_s`` seconds instead of at their own interval: the behaviours
integrate over whatever time passed between two steps (energy, sessions,
vehicles through a gate), so counters still grow by the same amount per hour
and hourly or daily figures look the same, with a tenth of the rows. Pure and
deterministic: the same community, seed and window give the same readings.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from simulators.behaviour import FeedContext
from simulators.model_view import SimCommunity
from simulators.scenario import BEHAVIOURS, Generic
from simulators.wire import Wire


@dataclass(frozen=True, slots=True)
class Series:
    """One metric of one device: timestamps (µs since the epoch) and values."""

    device: str
    metric: str
    ts_us: npt.NDArray[np.int64]
    values: npt.NDArray[np.float64]


def history_series(
    community: SimCommunity,
    topic_root: str,
    kinds: frozenset[str],
    start: float,
    end: float,
    *,
    seed: int,
    full_from: float,
    coarse_s: float,
) -> Iterator[Series]:
    """Every metric series of the ``kinds`` devices over ``[start, end)``.

    Devices start as the feed starts them (:func:`simulators.behaviour.drive`:
    same first moment, no offline spells, no gateway outages); booleans become
    1.0/0.0 as the ingestor stores them.
    """
    ctx = FeedContext(
        wire=Wire(topic_root, community.id),
        community=community,
        seed=seed,
        event_rate=1.0,
        offline_per_day=0.0,
        outage_per_day=0.0,
    )
    for dev in community.devices:
        if dev.kind not in kinds:
            continue
        behaviour = BEHAVIOURS.get(dev.kind, Generic)(dev, ctx, start)
        life = ctx.rng("life", dev.id)
        t = start + life.uniform(0.0, 2.0)
        t += life.uniform(1.0, 60.0)
        columns: dict[str, tuple[list[int], list[float]]] = {}
        while t < end:
            s = behaviour.step(t)
            if s.values is not None:
                ts_us = round(t * 1000) * 1000  # the wire's millisecond timestamps
                for name, value in s.values.items():
                    times, values = columns.setdefault(name, ([], []))
                    times.append(ts_us)
                    values.append(float(value))
            step = max(s.next_in, 0.001)
            t += step if t >= full_from else max(step, coarse_s)
        for name in sorted(columns):
            times, values = columns[name]
            yield Series(
                dev.id, name, np.array(times, dtype=np.int64), np.array(values, dtype=np.float64)
            )
