"""The periods of a scene trend: the last 24 hours, 30 days or 12 months, in local time.

A trend ends with the period that holds ``now`` (still filling up) and has
one more period in front, read only as the counters' starting point. Days
and months begin at local midnight of the community's time zone.

>>> from datetime import UTC, datetime
>>> g = grid("30d", datetime(2026, 12, 3, 1, 30, tzinfo=UTC), "Asia/Shanghai")
>>> g.unit, len(g.starts), g.starts[-1].isoformat(), g.before.isoformat()
('day', 30, '2026-12-03T00:00:00+08:00', '2026-11-03T00:00:00+08:00')
>>> g.slot(datetime(2026, 12, 2, 16, 0, tzinfo=UTC)), g.slot(g.before), g.end.isoformat()
(29, -1, '2026-12-04T00:00:00+08:00')
>>> grid("12mo", datetime(2026, 1, 15, tzinfo=UTC), "UTC").before.isoformat()
'2025-01-01T00:00:00+00:00'

Counters are read at a finer unit than the trend's (hours for hours and
days, days for months) and their usage summed per period, so a restart or a
gap is handled hour by hour (day by day), not blurred over a whole period:

>>> f = g.fine()
>>> f.unit, len(f.starts), f.to_slot[0], f.to_slot[24], f.to_slot[-1]
('hour', 744, -1, 0, 29)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Literal
from zoneinfo import ZoneInfo

Span = Literal["24h", "30d", "12mo"]
SPANS: Final[dict[str, tuple[str, int]]] = {
    "24h": ("hour", 24),
    "30d": ("day", 30),
    "12mo": ("month", 12),
}


@dataclass(frozen=True, slots=True)
class Grid:
    unit: str  # hour, day, month: the `date_trunc` field
    starts: tuple[datetime, ...]  # aware, local time zone
    before: datetime  # the period in front of the first
    end: datetime  # end of the last period

    def fine(self) -> FineGrid:
        """The hours (or, for months, the days) this trend's periods are made of."""
        tz = self.before.tzinfo
        assert isinstance(tz, ZoneInfo)
        return _fine(self, tz)

    def slot(self, t: datetime) -> int:
        """Index of the period holding ``t``; -1 for the period in front, -2 earlier."""
        if t < self.before:
            return -2
        for i in range(len(self.starts) - 1, -1, -1):
            if t >= self.starts[i]:
                return i
        return -1


@dataclass(frozen=True, slots=True)
class FineGrid:
    """The finer periods a trend's counters are read in, and the trend slot of each."""

    unit: str
    starts: tuple[datetime, ...]  # from the start of the period in front
    to_slot: tuple[int, ...]  # -1: the period in front


def _fine(g: Grid, tz: ZoneInfo) -> FineGrid:
    unit = "day" if g.unit == "month" else "hour"
    starts: list[datetime] = []
    t = g.before
    n = 0
    while t < g.end:
        starts.append(t)
        n += 1
        t = g.before + timedelta(hours=n) if unit == "hour" else _back(g.before, "day", -n, tz)
    return FineGrid(unit, tuple(starts), tuple(g.slot(s) for s in starts))


def _month_back(t: datetime, n: int) -> datetime:
    m = t.year * 12 + (t.month - 1) - n
    return t.replace(year=m // 12, month=m % 12 + 1)


def _back(t: datetime, unit: str, n: int, tz: ZoneInfo) -> datetime:
    if unit == "hour":
        return t - timedelta(hours=n)  # aware arithmetic in UTC: DST-safe
    if unit == "day":
        d = (t.date() - timedelta(days=n)).isoformat()
        return datetime.fromisoformat(d).replace(tzinfo=tz)
    return _month_back(t, n)


def grid(span: str, now: datetime, timezone: str) -> Grid:
    """The periods of ``span`` ending with the one holding ``now``."""
    if span not in SPANS:
        raise ValueError(f"span must be one of {', '.join(SPANS)}")
    unit, count = SPANS[span]
    tz = ZoneInfo(timezone)
    local = now.astimezone(tz)
    if unit == "hour":
        current = local.replace(minute=0, second=0, microsecond=0)
    elif unit == "day":
        current = local.replace(hour=0, minute=0, second=0, microsecond=0)
    else:
        current = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    starts = tuple(_back(current, unit, n, tz).astimezone(tz) for n in range(count - 1, -1, -1))
    before = _back(current, unit, count, tz).astimezone(tz)
    if unit == "hour":
        end = current + timedelta(hours=1)
    elif unit == "day":
        end = _back(current, unit, -1, tz)
    else:
        end = _month_back(current, -1)
    return Grid(unit, starts, before, end)
