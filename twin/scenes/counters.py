"""Usage per period from cumulative counters (energy meters, gate and session counts).

A cumulative counter (``energy_kwh``, ``entries``, ``sessions`` ...) only
grows, except when the device restarts it (a meter swap, a firmware reset),
and it may fall silent for a while (an offline meter). The rollups keep, per
device and period, the period's ``last`` value and its ``max`` and ``min``;
from those this module computes how much was used in each period of an
output grid, never a negative amount:

* counter went up since the previous period: usage = ``last - previous last``;
* counter went down (a restart, at most one per period): the readings before
  the restart in that period were all ≥ the previous last and the ones after
  it count up from zero to ``last``, so usage = ``max(0, max - previous) +
  last`` (``max`` is a pre-restart value whenever one was read; otherwise the
  term is zero);
* no previous period at all (the counter's first readings): usage within the
  period, ``last - min``;
* a gap (periods without a reading): the increase found after it is spread
  evenly over the silent periods and the one that ended the gap, since the
  counter cannot tell when in the gap it was used.

What a counter cannot show is lost, never invented: use between the last
reading before a restart and the restart, and a restart followed by growth
past the previous value within one period (read as plain growth).

>>> counter_usage([0, 1, 2], [10.0, 12.5, 13.0], [10.0, 12.5, 13.0], [9.0, 11.0, 12.6], 3)
array([1. , 2.5, 0.5])

A restart in period 2 (the counter read 15 before it, then 0 .. 2):

>>> counter_usage([0, 1, 2], [10.0, 12.0, 2.0], [10.0, 12.0, 15.0], [9.0, 10.5, 0.0], 3)
array([1., 2., 5.])

Period 1 silent: the 4 units seen in period 2 are spread over 1 and 2;
the period before the grid (slot -1) is only the starting point:

>>> counter_usage([-1, 0, 2], [5.0, 6.0, 10.0], [5.0, 6.0, 10.0], [4.0, 5.5, 9.0], 3)
array([1., 2., 2.])
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


class CounterInputError(ValueError):
    """The counter rows cannot be read as one device's periods in order."""


def increments(last: FloatArray, vmax: FloatArray, vmin: FloatArray) -> FloatArray:
    """Usage found in each observed period (before spreading over gaps), ≥ 0.

    >>> increments(np.array([3.0, 5.0, 1.0]), np.array([3.0, 5.0, 7.0]), np.array([2.0, 4.0, 0.0]))
    array([1., 2., 3.])
    """
    prev = np.empty_like(last)
    prev[0] = np.nan
    prev[1:] = last[:-1]
    grew = last - prev
    restarted = np.maximum(0.0, vmax - prev) + np.maximum(0.0, last)
    within = np.maximum(0.0, last - vmin)
    out = np.where(last >= prev, grew, restarted)
    out = np.where(np.isnan(prev), within, out)
    return np.where(np.isfinite(out), np.maximum(out, 0.0), 0.0)


def counter_usage(
    slots: Sequence[int] | npt.NDArray[np.int64],
    last: Sequence[float] | FloatArray,
    vmax: Sequence[float] | FloatArray,
    vmin: Sequence[float] | FloatArray,
    count: int,
) -> FloatArray:
    """One device's usage on a grid of ``count`` periods (slots 0 .. count-1).

    ``slots`` are the grid positions of the periods that have readings, strictly
    increasing; slots < 0 (before the grid) serve only as starting points,
    slots ≥ count are an error (the caller asked for the wrong range).
    """
    s = np.asarray(slots, dtype=np.int64)
    lv, hi, lo = (np.asarray(a, dtype=np.float64) for a in (last, vmax, vmin))
    if not (s.shape == lv.shape == hi.shape == lo.shape) or s.ndim != 1:
        raise CounterInputError("slots, last, max and min must be one-dimensional, same length")
    out = np.zeros(count, dtype=np.float64)
    if s.size == 0:
        return out
    if np.any(np.diff(s) <= 0):
        raise CounterInputError("slots must be strictly increasing")
    if s[-1] >= count:
        raise CounterInputError(f"slot {int(s[-1])} is beyond the grid of {count}")
    inc = increments(lv, hi, lo)
    # Each increase covers the slots since the previous observed one.
    first = np.empty_like(s)
    first[0] = s[0]
    first[1:] = s[:-1] + 1
    span = s - first + 1
    share = inc / span
    # Expand to (slot, share) pairs; gaps are short compared with the grid.
    starts = np.repeat(first, span)
    offsets = np.arange(starts.size) - np.repeat(np.cumsum(span) - span, span)
    targets = starts + offsets
    shares = np.repeat(share, span)
    keep = (targets >= 0) & (targets < count)
    np.add.at(out, targets[keep], shares[keep])
    return out


def total_usage(rows: Sequence[tuple[int, float, float, float]], count: int) -> FloatArray:
    """:func:`counter_usage` of ``(slot, last, max, min)`` rows in slot order.

    >>> total_usage([(0, 1.0, 1.0, 0.0), (1, 3.0, 3.0, 1.5)], 2)
    array([1., 2.])
    >>> total_usage([], 2)
    array([0., 0.])
    """
    if not rows:
        return np.zeros(count, dtype=np.float64)
    arr = np.asarray(rows, dtype=np.float64)
    return counter_usage(arr[:, 0].astype(np.int64), arr[:, 1], arr[:, 2], arr[:, 3], count)
