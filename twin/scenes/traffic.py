"""The traffic scene's figures: parking occupancy, EV chargers, gate counts.

Device kinds (``twin/model/kinds.py``):

* ``parking`` — one lot: ``occupancy`` (0–1) and ``occupied_spaces``;
  a lot's occupancy in a period is the mean of its readings in it;
* ``ev_charger`` — ``charging`` (1 while a vehicle draws power), cumulative
  ``sessions`` and ``energy_kwh``; a charger's availability in a period is the
  share of its readings that found it free, the community's the mean over the
  chargers that reported; sessions per period come from the counter
  (:mod:`twin.scenes.counters`), so a missed rising edge is still counted;
* ``gate`` — a vehicle barrier's cumulative ``entries`` and ``exits``,
  per period from the counters.

>>> mean_per_slot([0, 2], [1.5, 0.9], [2, 1], 3)
[0.75, None, 0.9]
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from twin.scenes.counters import FloatArray


def mean_per_slot(
    slots: Sequence[int], v_sum: Sequence[float], n: Sequence[int], count: int
) -> list[float | None]:
    """Mean of each slot's readings (rollup ``v_sum / n``); None where none was read.

    Slots outside ``0 .. count-1`` are ignored.
    """
    out: list[float | None] = [None] * count
    for s, total, k in zip(slots, v_sum, n, strict=True):
        if 0 <= s < count and k > 0:
            out[s] = total / k
    return out


def availability(per_charger: Iterable[Sequence[float | None]], count: int) -> list[float | None]:
    """Share of chargers free per slot: mean of (1 − mean ``charging``) over those that reported.

    >>> availability([[1.0, 0.0, None], [0.5, None, None]], 3)
    [0.25, 1.0, None]
    """
    sums = np.zeros(count, dtype=np.float64)
    seen = np.zeros(count, dtype=np.int64)
    for series in per_charger:
        for i, busy in enumerate(series[:count]):
            if busy is not None:
                sums[i] += 1.0 - min(1.0, max(0.0, busy))
                seen[i] += 1
    return [float(sums[i] / seen[i]) if seen[i] else None for i in range(count)]


@dataclass(frozen=True, slots=True)
class ChargerNow:
    """One charger as the live state sees it."""

    online: bool | None
    charging: float | None  # its latest ``charging`` reading


def chargers_now(chargers: Iterable[ChargerNow]) -> dict[str, int]:
    """Chargers free, busy and out of service (offline, or never reported) now.

    >>> chargers_now([ChargerNow(True, 0.0), ChargerNow(True, 1.0), ChargerNow(False, 0.0),
    ...               ChargerNow(True, None)])
    {'total': 4, 'available': 1, 'charging': 1, 'out_of_service': 2}
    """
    total = free = busy = 0
    for c in chargers:
        total += 1
        if c.online is False or c.charging is None:
            continue
        if c.charging >= 0.5:
            busy += 1
        else:
            free += 1
    return {
        "total": total,
        "available": free,
        "charging": busy,
        "out_of_service": total - free - busy,
    }


def sum_series(series: Mapping[str, FloatArray], count: int) -> FloatArray:
    """Element-wise sum of per-device series (gates' entries, chargers' sessions).

    >>> sum_series({"g1": np.array([1.0, 2.0]), "g2": np.array([0.5, 0.0])}, 2)
    array([1.5, 2. ])
    """
    out = np.zeros(count, dtype=np.float64)
    for v in series.values():
        out += v
    return out


def peak(values: Sequence[float | None]) -> tuple[int, float] | None:
    """Slot and value of the highest known value (first one on ties).

    >>> peak([0.2, None, 0.9, 0.9]), peak([None])
    ((2, 0.9), None)
    """
    known = [(v, -i) for i, v in enumerate(values) if v is not None]
    if not known:
        return None
    v, neg = max(known)
    return -neg, v
