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


# The newest reading of pairs ``p(key, metric_key)`` since a time, for a FROM
# clause after them: raw readings (``r``) from the hourly rollup's split on,
# its buckets still pending below it included, where a bounded index probe
# per pair plans only the few raw partitions the constant bounds leave; where
# that finds nothing, the last reading of the pair's newest hourly bucket
# below the split (``h``), which the rollup job wrote from those same raw
# rows. Probing raw readings over the whole look-back instead plans every raw
# partition of it (a week of 10-minute partitions: 1,008; bench_partition_reads).
# Select NEWEST_TS and NEWEST_VALUE WHERE NEWEST_FOUND; bounds from newest_bounds.
NEWEST: Final = """
LEFT JOIN LATERAL (
    SELECT ts, value FROM readings
    WHERE device_key = p.key AND metric_key = p.metric_key
      AND ts >= %(raw_from)s AND ts < %(until)s
    ORDER BY ts DESC LIMIT 1) r ON true
LEFT JOIN LATERAL (
    SELECT last_ts, last_value FROM readings_1h
    WHERE r.ts IS NULL AND device_key = p.key AND metric_key = p.metric_key
      AND bucket >= %(rolled_from)s AND bucket < %(rolled_to)s AND last_ts >= %(since)s
    ORDER BY bucket DESC LIMIT 1) h ON true
"""
NEWEST_TS: Final = "coalesce(r.ts, h.last_ts)"
NEWEST_VALUE: Final = "CASE WHEN r.ts IS NULL THEN h.last_value ELSE r.value END"
NEWEST_FOUND: Final = "(r.ts IS NOT NULL OR h.last_ts IS NOT NULL)"


def newest_bounds(since: datetime, until: datetime, split: Split) -> dict[str, datetime]:
    """The parameters of :data:`NEWEST` for ``[since, until)``, given the hourly
    rollup's ``split``: raw readings from ``raw_from`` on, the rollup's buckets
    in ``[rolled_from, rolled_to)`` below.

    >>> t = datetime(2026, 1, 8, 10, 20, tzinfo=UTC)
    >>> b = newest_bounds(t - timedelta(days=7), t, Split(t.replace(minute=0), t.replace(minute=0)))
    >>> [b[k].isoformat() for k in ("raw_from", "rolled_from", "rolled_to")]
    ['2026-01-08T10:00:00+00:00', '2026-01-01T10:00:00+00:00', '2026-01-08T10:00:00+00:00']

    Without a split (TimescaleDB's aggregates split themselves) raw readings
    answer alone, as they do for a look-back that starts above the split:

    >>> b = newest_bounds(t - timedelta(days=7), t, UNREAD)
    >>> b["raw_from"] == b["since"] and b["rolled_from"] == b["rolled_to"]
    True
    """
    if split.pending_from is None:
        return {"since": since, "until": until, "raw_from": since,
                "rolled_from": since, "rolled_to": since}  # fmt: skip
    rolled_from, _ = rollup_window("readings_1h", since, since)
    return {
        "since": since,
        "until": until,
        "raw_from": max(since, split.pending_from),
        "rolled_from": rolled_from,
        "rolled_to": max(rolled_from, split.pending_from),
    }
