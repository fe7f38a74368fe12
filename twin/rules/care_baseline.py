"""A home against its own habits: hourly water and electricity use vs. its 14-day profile.

Each care home's meters report cumulative counters (``water_m3``,
``energy_kwh``). Their hourly rollups give one usage figure per hour
(:func:`hourly_usage`). The use of the hour just ended is compared with the
same hour of the day on the previous 14 days by a robust z-score: the
distance to their median in units of their scaled median absolute deviation
(1.4826 × MAD estimates a standard deviation, yet one odd day does not move
it). A home that draws 30 L at 11:00 every day and nothing today scores far
below zero; a home that never cooks at 11:00 scores zero for nothing drawn.

A habit without spread (exactly the same use every day, MAD = 0) would
score infinitely for the smallest change: the scale never falls below a
per-metric floor (:data:`MIN_SCALE`). Fewer than ``min_days`` comparable
days give no score (NaN) rather than a guess.

>>> hist = np.array([[30.0, 28, 31, 29, 30, 33, 30, 27, 30, 31, 29, 30, 32, 30]])
>>> s = robust_scores(np.array([0.0]), hist, min_scale=1.0)
>>> float(s.median[0]), float(s.scale[0]), round(float(s.z[0]), 2)
(30.0, 1.4826, -20.23)
>>> never = np.zeros((1, 14))
>>> float(robust_scores(np.array([0.0]), never, min_scale=1.0).z[0])
0.0

Everything here is pure and vectorised over homes (rows).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]
Int64s = npt.NDArray[np.int64]

MAD_TO_SIGMA = 1.4826
# Per-metric scale floors: a few litres of water, a few tens of watt-hours.
MIN_SCALE: Mapping[str, float] = {"water_m3": 0.005, "energy_kwh": 0.05}
HOUR = 3600.0


@dataclass(frozen=True)
class BaselineConfig:
    days: int = 14
    min_days: int = 7
    raise_z: float = 3.5
    clear_z: float = 2.0
    severity: str = "minor"

    def __post_init__(self) -> None:
        if not 1 <= self.min_days <= self.days:
            raise ValueError("care baseline: need 1 <= min_days <= days")
        if not 0 <= self.clear_z < self.raise_z:
            raise ValueError("care baseline: need 0 <= clear_z < raise_z")


def hourly_usage(series: Int64s, hour: Int64s, last: Floats, shape: tuple[int, int]) -> Floats:
    """Usage per series and hour from hourly rollups of cumulative counters.

    Rows are rollup buckets: ``series`` (row index), ``hour`` (column index, one
    per hour) and ``last`` (the bucket's ``last_value``). An hour's use is its
    last value minus the previous hour's. Unknown (NaN) where either hour has
    no reading, and where the counter went down (a reset or a new meter): never
    a negative use, never a guess across a gap.

    >>> u = hourly_usage(np.array([0, 0, 0, 0]), np.array([0, 1, 2, 4]),
    ...                  np.array([10.0, 10.5, 10.5, 11.0]), (1, 5))
    >>> u.tolist()
    [[nan, 0.5, 0.0, nan, nan]]
    >>> hourly_usage(np.array([0, 0]), np.array([0, 1]), np.array([5.0, 0.2]), (1, 2)).tolist()
    [[nan, nan]]
    """
    level = np.full(shape, np.nan)
    level[series, hour] = last
    use = np.full(shape, np.nan)
    use[:, 1:] = level[:, 1:] - level[:, :-1]
    use[use < 0] = np.nan
    return use


def row_nanmedian(a: Floats) -> Floats:
    """Median of each row ignoring NaN (NaN for a row without values), without
    numpy's all-NaN warning.

    >>> row_nanmedian(np.array([[3.0, np.nan, 1.0, 2.0], [np.nan, np.nan, np.nan, np.nan]]))
    array([ 2., nan])
    """
    ordered = np.sort(a, axis=1)  # NaN sort last
    k = np.sum(~np.isnan(a), axis=1)
    lo = np.clip((k - 1) // 2, 0, a.shape[1] - 1)[:, None]
    hi = np.clip(k // 2, 0, a.shape[1] - 1)[:, None]
    med = (np.take_along_axis(ordered, lo, 1) + np.take_along_axis(ordered, hi, 1))[:, 0] / 2
    return np.where(k > 0, med, np.nan)


@dataclass(frozen=True, eq=False)
class Scores:
    value: Floats
    median: Floats
    scale: Floats
    days: Int64s  # comparable days in the history
    z: Floats  # NaN: no score (too few days, or no value now)


def robust_scores(value: Floats, history: Floats, *, min_scale: float, min_days: int = 7) -> Scores:
    """Robust z-score of ``value`` (one per row) against the row's ``history``."""
    days = np.sum(~np.isnan(history), axis=1).astype(np.int64)
    median = row_nanmedian(history)
    mad = row_nanmedian(np.abs(history - median[:, None]))
    scale = np.fmax(MAD_TO_SIGMA * mad, min_scale)
    ok = (days >= min_days) & ~np.isnan(value)
    z = np.where(ok, (value - np.where(ok, median, 0.0)) / scale, np.nan)
    return Scores(value, median, scale, days, z)


def hour_profile(usage: Floats, target: int, days: int = 14) -> tuple[Floats, Floats]:
    """The use in column ``target`` and, per row, the same hour on the ``days``
    previous days (columns ``target - 24 k``; NaN before the data starts).

    >>> u = np.arange(72.0).reshape(1, 72)
    >>> now, hist = hour_profile(u, 59, days=3)
    >>> now.tolist(), hist.tolist()
    ([59.0], [[35.0, 11.0, nan]])
    """
    cols = target - 24 * np.arange(1, days + 1)
    hist = np.full((usage.shape[0], days), np.nan)
    valid = cols >= 0
    hist[:, valid] = usage[:, cols[valid]]
    return usage[:, target], hist


def transitions(z: Floats, active: Bools, cfg: BaselineConfig) -> tuple[Bools, Bools]:
    """Which rows raise (|z| reaches ``raise_z``) and which clear (an active one
    back within ``clear_z``): a hysteresis band, so a habit near the edge does
    not flap. No score, no change.

    >>> z = np.array([-4.0, -2.5, 1.0, np.nan, 5.0])
    >>> up, down = transitions(z, np.array([False, True, True, True, True]), BaselineConfig())
    >>> up.tolist(), down.tolist()
    ([True, False, False, False, False], [False, False, True, False, False])
    """
    far = np.abs(z) >= cfg.raise_z
    near = np.abs(z) <= cfg.clear_z
    return (~active & far), (active & near)


def describe(metric: str, s: Scores, i: int, local_hour: int) -> str:
    """The alarm message of row ``i``.

    >>> s = robust_scores(np.array([0.0]), np.full((1, 14), 0.03), min_scale=0.005)
    >>> describe("water_m3", s, 0, 11)
    'water use 0 L at 11:00, usually 30 L (robust z -6.0)'
    """
    value, median, z = float(s.value[i]), float(s.median[i]), float(s.z[i])
    if metric == "water_m3":
        what, now, usual = "water use", f"{value * 1000:.0f} L", f"{median * 1000:.0f} L"
    else:
        what, now, usual = "electricity use", f"{value:.2f} kWh", f"{median:.2f} kWh"
    return f"{what} {now} at {local_hour:02d}:00, usually {usual} (robust z {z:.1f})"
