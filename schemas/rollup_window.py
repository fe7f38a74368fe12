"""The time bounds to pass to ``readings_1m_window``/``readings_1h_window``.

Those SQL functions (migration 0093) return the live rollup rows of the
buckets in ``[ts_from, ts_to)`` and cut raw readings at the same bounds, so
the bounds must lie on the level's bucket boundaries: this widens a range to
them. The planner then plans only the raw partitions of the window.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Final

LEVELS: Final = {"readings_1m": timedelta(minutes=1), "readings_1h": timedelta(hours=1)}
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


def rollup_window(source: str, start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """Widen ``[start, end)`` to whole buckets of the rollup ``source``.

    >>> t = datetime(2026, 1, 1, 10, 7, 30, tzinfo=UTC)
    >>> [x.isoformat() for x in rollup_window("readings_1h", t, t + timedelta(hours=2))]
    ['2026-01-01T10:00:00+00:00', '2026-01-01T13:00:00+00:00']
    >>> [x.isoformat() for x in rollup_window("readings_1m", t, t.replace(second=0))]
    ['2026-01-01T10:07:00+00:00', '2026-01-01T10:07:00+00:00']
    """
    width = LEVELS[source]
    lo = start - (start - _EPOCH) % width
    rest = (end - _EPOCH) % width
    hi = end if not rest else end + (width - rest)
    return lo, max(lo, hi)
