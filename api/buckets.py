"""Time buckets for history: parsing, alignment, and which table can answer.

Buckets are aligned on multiples of their width since 1970-01-01 UTC, and a
bucketed query covers the whole buckets overlapping ``[from, to)``. That is
what makes rollups exact: a 1-hour rollup row never straddles a bucket edge
when the bucket width is a whole number of hours, so raw rows and rollups
give the same answer for the same data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final, Literal

from api.errors import BadRequestError

Agg = Literal["avg", "min", "max", "sum", "count", "last"]
Source = Literal["readings", "readings_1m", "readings_1h"]
EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
# History is for telemetry; outside this window a time is a typo, and keeping
# inside it keeps datetime arithmetic away from year 1 and 9999.
EARLIEST: Final = EPOCH
LATEST: Final = datetime(2500, 1, 1, tzinfo=UTC)
MAX_BUCKET: Final = timedelta(days=366)
_UNITS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_BUCKET = re.compile(r"^([1-9][0-9]{0,7})([smhd])$")


class HistoryRequestError(BadRequestError):
    """A history parameter is unusable; ``param`` names it for the 400."""


def parse_bucket(text: str) -> timedelta:
    """``30s``, ``5m``, ``1h``, ``1d`` → a width of at least one second.

    >>> parse_bucket("5m"), parse_bucket("36h")
    (datetime.timedelta(seconds=300), datetime.timedelta(days=1, seconds=43200))
    >>> parse_bucket("1w")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    api.buckets.HistoryRequestError: bucket: '1w' is not a bucket; use a whole number and s, ...
    """
    match = _BUCKET.match(text)
    if match is None:
        raise HistoryRequestError(
            "bucket",
            f"{text!r} is not a bucket; use a whole number and s, m, h or d (e.g. 30s, 5m, 1h, 1d)",
        )
    width = timedelta(seconds=int(match[1]) * _UNITS[match[2]])
    if width > MAX_BUCKET:
        raise HistoryRequestError("bucket", f"{text!r} is wider than {MAX_BUCKET.days} days")
    return width


def source_for(width: timedelta | None) -> Source:
    """The coarsest stored table whose rows fit whole in buckets of ``width``.

    >>> source_for(timedelta(hours=2)), source_for(timedelta(minutes=5))
    ('readings_1h', 'readings_1m')
    >>> source_for(timedelta(seconds=90)), source_for(None)
    ('readings', 'readings')
    """
    if width is None:
        return "readings"
    seconds = int(width.total_seconds())
    if seconds % 3600 == 0:
        return "readings_1h"
    if seconds % 60 == 0:
        return "readings_1m"
    return "readings"


def floor_to(t: datetime, width: timedelta) -> datetime:
    """Start of the bucket holding ``t``.

    >>> floor_to(datetime(2026, 1, 1, 10, 7, tzinfo=UTC), timedelta(minutes=5)).isoformat()
    '2026-01-01T10:05:00+00:00'
    """
    return t - (t - EPOCH) % width


@dataclass(frozen=True, slots=True)
class TimeWindow:
    start: datetime  # inclusive
    end: datetime  # exclusive


def window(
    start: datetime | None, end: datetime | None, now: datetime, default_span: timedelta
) -> TimeWindow:
    """Check ``from``/``to`` (naive times are UTC); defaults end now, span back.

    >>> now = datetime(2026, 1, 2, tzinfo=UTC)
    >>> window(None, None, now, timedelta(days=1)).start.isoformat()
    '2026-01-01T00:00:00+00:00'
    >>> window(now, now - timedelta(1), now, timedelta(days=1))
    Traceback (most recent call last):
    ...
    api.buckets.HistoryRequestError: to: must be after from
    """
    end_utc = _utc(end, "to") if end is not None else now
    start_utc = _utc(start, "from") if start is not None else end_utc - default_span
    # Only a defaulted start can fall before the earliest time (checked ones cannot).
    start_utc = max(start_utc, EARLIEST)
    if end_utc <= start_utc:
        raise HistoryRequestError("to", "must be after from")
    return TimeWindow(start_utc, end_utc)


def widen(w: TimeWindow, width: timedelta) -> TimeWindow:
    """Grow a window to whole buckets.

    >>> t = datetime(2026, 1, 1, 10, 7, tzinfo=UTC)
    >>> widened = widen(TimeWindow(t, t + timedelta(minutes=1)), timedelta(hours=1))
    >>> widened.start.hour, widened.end.hour
    (10, 11)
    """
    start = floor_to(w.start, width)
    end = floor_to(w.end, width)
    if end < w.end:
        end += width
    return TimeWindow(start, end)


def bucket_count(w: TimeWindow, width: timedelta) -> int:
    """How many buckets a widened window holds (the points a query may return)."""
    return (w.end - w.start) // width


def _utc(t: datetime, param: str) -> datetime:
    """A time as UTC, within the supported years.

    >>> _utc(datetime.fromisoformat("0001-01-01T00:00:00+05:00"), "from")
    Traceback (most recent call last):
    ...
    api.buckets.HistoryRequestError: from: must be between 1970 and 2500
    """
    try:
        aware = t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)
    except OverflowError:
        aware = EPOCH.replace(year=1)  # out of range either way
    if not EARLIEST <= aware < LATEST:
        raise HistoryRequestError(param, f"must be between {EARLIEST.year} and {LATEST.year}")
    return aware
