"""The arguments to pass to ``readings_1m_window``/``readings_1h_window``.

Those SQL functions (migrations 0093, 0094) return the live rollup rows of
the buckets in ``[ts_from, ts_to)``. The planner plans only the raw
partitions it can tell from constants, so a caller passes the window's
bounds, widened to whole buckets (a raw arm cut inside a bucket would
aggregate part of it), and the split between rollup table and raw readings,
read just before with :data:`SPLIT` (a split read earlier is safe: it only
moves forward).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Final, NamedTuple

LEVELS: Final = {"readings_1m": timedelta(minutes=1), "readings_1h": timedelta(hours=1)}
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)

# One row: rolled_to, pending_from (NULLs under TimescaleDB, whose continuous
# aggregates split themselves).
SPLIT: Final = "SELECT rolled_to, pending_from FROM commtwin_rollup_split(%(source)s)"
# The call, for a FROM clause; its parameters come from window_params.
CALL: Final = "{}_window(%(ts_from)s, %(ts_to)s, %(rolled_to)s, %(pending_from)s)"


class Split(NamedTuple):
    """Below ``rolled_to`` the rollup table answers, except for buckets from
    ``pending_from`` on that wait for the job; above it raw readings do."""

    rolled_to: datetime | None
    pending_from: datetime | None


# Not read: the functions then read the split themselves, as 0093's did
# (correct, but every raw partition of the window is planned).
UNREAD: Final = Split(None, None)


def split_of(row: tuple[datetime | None, datetime | None] | None) -> Split:
    """The split from :data:`SPLIT`'s row (none: :data:`UNREAD`)."""
    return UNREAD if row is None else Split(*row)


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


def window_params(source: str, start: datetime, end: datetime, split: Split) -> dict[str, object]:
    """The named parameters of :data:`CALL` for ``[start, end)``.

    >>> t = datetime(2026, 1, 1, 10, 7, 30, tzinfo=UTC)
    >>> p = window_params("readings_1h", t, t, Split(None, None))
    >>> p["ts_from"].isoformat(), p["ts_to"].isoformat(), p["rolled_to"]
    ('2026-01-01T10:00:00+00:00', '2026-01-01T11:00:00+00:00', None)
    """
    ts_from, ts_to = rollup_window(source, start, end)
    return {"ts_from": ts_from, "ts_to": ts_to, **split._asdict()}
