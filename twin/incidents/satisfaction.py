"""Residents' satisfaction with closed incidents: mean and count by closing time.

Unlike the cohort KPIs of ``twin.incidents.kpis`` (incidents *reported* in a
period), this looks at incidents *closed* in a window, because a rating is
given at closure: "today" (since the local midnight the caller gives), the
last 30 days, and per grid over those 30 days. Only closed incidents that
carry a rating (1–5) count; a reopened incident's old rating is gone with its
closure (``twin.incidents.record``).

>>> from datetime import datetime, timedelta, timezone
>>> from twin.incidents.record import IncidentRecord
>>> from twin.incidents.events import Status
>>> now = datetime(2026, 12, 6, 20, 0, tzinfo=timezone.utc)
>>> def closed(iid, days_ago, rating, grid="g1"):
...     t = now - timedelta(days=days_ago)
...     return IncidentRecord("lanting", iid, Status.CLOSED, t, t, grid_id=grid,
...                           closed_at=t, satisfaction=rating)
>>> s = satisfaction_kpis([closed("a", 0, 5), closed("b", 3, 2, "g2"), closed("c", 40, 1)],
...                       now=now, day_start=now.replace(hour=0))
>>> (s.today.mean, s.today.count), (s.last_30_days.mean, s.last_30_days.count)
((5.0, 1), (3.5, 2))
>>> [(g.key, g.mean, g.count) for g in s.by_grid]
[('g1', 5.0, 1), ('g2', 2.0, 1)]
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from twin.incidents.events import Status
from twin.incidents.kpis import KpiQueryError
from twin.incidents.record import IncidentRecord

WINDOW: Final = timedelta(days=30)


@dataclass(frozen=True, slots=True)
class Satisfaction:
    """Mean rating (None without any) and how many ratings; ``key`` is a grid id
    (None: incidents outside every grid) when grouped."""

    mean: float | None
    count: int
    key: str | None = None


@dataclass(frozen=True, slots=True)
class SatisfactionKpis:
    today: Satisfaction
    last_30_days: Satisfaction
    by_grid: tuple[Satisfaction, ...]  # over the 30 days, by grid id, None last


def _of(ratings: list[int], key: str | None = None) -> Satisfaction:
    return Satisfaction(sum(ratings) / len(ratings) if ratings else None, len(ratings), key)


def satisfaction_kpis(
    records: Iterable[IncidentRecord], *, now: datetime, day_start: datetime
) -> SatisfactionKpis:
    """Ratings of incidents closed since ``day_start`` and in the 30 days up to ``now``."""
    if now.utcoffset() is None or day_start.utcoffset() is None:
        raise KpiQueryError("now and day_start must be timezone-aware")
    if day_start > now:
        raise KpiQueryError("day_start must not be after now")
    since = now - WINDOW
    today: list[int] = []
    month: list[int] = []
    grids: dict[str | None, list[int]] = defaultdict(list)
    for r in records:
        if r.status != Status.CLOSED or r.satisfaction is None or r.closed_at is None:
            continue
        if not since <= r.closed_at <= now:
            continue
        month.append(r.satisfaction)
        grids[r.grid_id].append(r.satisfaction)
        if r.closed_at >= day_start:
            today.append(r.satisfaction)
    keys = sorted(grids, key=lambda k: (k is None, k or ""))
    return SatisfactionKpis(_of(today), _of(month), tuple(_of(grids[k], k) for k in keys))
