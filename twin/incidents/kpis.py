"""Closed-loop KPIs over incidents reported in a period, per community, grid, building
or category.

Definitions (the cohort is the incidents with ``start <= reported_at < end``):

* ``reported``: cohort size. ``closed``, ``cancelled``: cohort members in that
  status now; ``open`` the rest.
* ``closed_loop_rate`` = closed ÷ (reported − cancelled), a fraction 0–1, None
  when nothing counts. Cancelled incidents (withdrawn, duplicate, false alarm)
  are neither a closure nor a failure of the loop, so they leave the
  denominator. A reopened incident counts as closed only once closed again.
* ``respond``: reported → first ``accepted``, over members ever accepted;
  ``close``: reported → ``closed``, over closed members. Median and p90 in
  seconds (numpy's linear interpolation), None when there is no sample.
* ``overdue``: members that missed a respond or resolve deadline, now or in
  the past, as of ``as_of`` (:func:`twin.incidents.record.sla_breaches`).
* ``reopened``: members reopened at least once; ``reopen_rate`` = reopened ÷
  members ever resolved (resolved now or reopened since), None when none.
* ``satisfaction_mean`` over closed members rated 1–5 (``satisfaction_count``).

>>> from datetime import datetime, timedelta, timezone
>>> from twin.incidents.replay import replay, IncidentEvent, EventType as T
>>> t = datetime(2026, 11, 1, tzinfo=timezone.utc)
>>> def r(iid, *steps):
...     return replay([IncidentEvent("lanting", iid, f"{iid}-{n}", typ, t + timedelta(minutes=m),
...                    assignee="w", satisfaction=s) for n, (typ, m, s) in enumerate(steps)])
>>> done = r("a", (T.REPORTED, 0, None), (T.DISPATCHED, 1, None), (T.ACCEPTED, 10, None),
...          (T.RESOLVED, 60, None), (T.CLOSED, 120, 4))
>>> waiting = r("b", (T.REPORTED, 0, None))
>>> [k] = incident_kpis([done, waiting], start=t, end=t + timedelta(days=1),
...                     as_of=t + timedelta(hours=1))
>>> k.reported, k.closed, k.closed_loop_rate, k.respond_median_s, k.close_p90_s, k.overdue
(2, 1, 0.5, 600.0, 7200.0, 1)
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Literal

import numpy as np

from twin.incidents.events import IncidentError, Status
from twin.incidents.record import IncidentRecord, sla_breaches


class KpiQueryError(IncidentError):
    """A KPI query that makes no sense (naive times, empty period, unknown grouping)."""


GroupBy = Literal["community", "grid", "building", "category"]

_GROUP_KEYS: Mapping[str, Callable[[IncidentRecord], str | None]] = MappingProxyType(
    {
        "community": lambda r: r.community_id,
        "grid": lambda r: r.grid_id,
        "building": lambda r: r.building_id,
        "category": lambda r: r.category,
    }
)


@dataclass(frozen=True)
class IncidentKpis:
    """KPIs of one group (``key`` None: the whole cohort, or incidents without a
    grid/building/category when grouping)."""

    key: str | None
    reported: int
    closed: int
    cancelled: int
    open: int
    closed_loop_rate: float | None
    respond_median_s: float | None
    respond_p90_s: float | None
    close_median_s: float | None
    close_p90_s: float | None
    overdue: int
    reopened: int
    reopen_rate: float | None
    satisfaction_mean: float | None
    satisfaction_count: int


def _quantiles(samples: Sequence[float]) -> tuple[float | None, float | None]:
    if not samples:
        return None, None
    median, p90 = np.percentile(np.asarray(samples, dtype=np.float64), [50.0, 90.0])
    return float(median), float(p90)


def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def summarize(key: str | None, cohort: Sequence[IncidentRecord], as_of: datetime) -> IncidentKpis:
    """The KPIs of an already selected cohort (see the module docstring)."""
    closed = [r for r in cohort if r.status == Status.CLOSED]
    cancelled = sum(r.status == Status.CANCELLED for r in cohort)
    respond = [(r.accepted_at - r.reported_at).total_seconds() for r in cohort if r.accepted_at]
    to_close = [(r.closed_at - r.reported_at).total_seconds() for r in closed if r.closed_at]
    ever_resolved = sum(r.resolved_at is not None or r.reopen_count > 0 for r in cohort)
    reopened = sum(r.reopen_count > 0 for r in cohort)
    rated = [r.satisfaction for r in closed if r.satisfaction is not None]
    respond_median, respond_p90 = _quantiles(respond)
    close_median, close_p90 = _quantiles(to_close)
    return IncidentKpis(
        key=key,
        reported=len(cohort),
        closed=len(closed),
        cancelled=cancelled,
        open=len(cohort) - len(closed) - cancelled,
        closed_loop_rate=_ratio(len(closed), len(cohort) - cancelled),
        respond_median_s=respond_median,
        respond_p90_s=respond_p90,
        close_median_s=close_median,
        close_p90_s=close_p90,
        overdue=sum(bool(sla_breaches(r, as_of)) for r in cohort),
        reopened=reopened,
        reopen_rate=_ratio(reopened, ever_resolved),
        satisfaction_mean=sum(rated) / len(rated) if rated else None,
        satisfaction_count=len(rated),
    )


def incident_kpis(
    records: Iterable[IncidentRecord],
    *,
    start: datetime,
    end: datetime,
    as_of: datetime,
    by: GroupBy | None = None,
) -> tuple[IncidentKpis, ...]:
    """KPIs of the incidents reported in ``[start, end)``, one row per group.

    ``by=None`` gives one row (key None) even for an empty cohort; grouping
    gives one row per key present, ordered by key with None last.
    ``as_of`` (normally now) ends the wait of incidents still open.
    """
    if start.utcoffset() is None or end.utcoffset() is None or as_of.utcoffset() is None:
        raise KpiQueryError("start, end and as_of must be timezone-aware")
    if end <= start:
        raise KpiQueryError(f"end ({end.isoformat()}) must be after start ({start.isoformat()})")
    cohort = [r for r in records if start <= r.reported_at < end]
    if by is None:
        return (summarize(None, cohort, as_of),)
    if by not in _GROUP_KEYS:
        raise KpiQueryError(f"cannot group by {by!r} (known: {', '.join(_GROUP_KEYS)})")
    groups: dict[str | None, list[IncidentRecord]] = defaultdict(list)
    key_of = _GROUP_KEYS[by]
    for r in cohort:
        groups[key_of(r)].append(r)
    keys = sorted(groups, key=lambda k: (k is None, k or ""))
    return tuple(summarize(k, groups[k], as_of) for k in keys)
