"""A district's overview: each member community's figures, its status and a ranking.

Pure: the API gathers :class:`CommunityFigures` from each community's live
state (the same counters ``/live`` shows) and this module colours, ranks and
totals them.

**Status** of a community on the district map: the worst of its device and
alarm status (:func:`twin.live.status.status_of`: ``alarm`` for a critical or
major alarm, ``warning`` for a minor one, ``offline`` for an offline device)
and its governance (``alarm`` with an overdue incident, ``warning`` with an
open one), in the order alarm > warning > offline > normal.

**Ranking**: rank 1 needs attention first. Communities are ordered by
status, then critical, major alarms, overdue incidents, minor and warning
alarms, open incidents, then the lower 30-day closed-loop rate (none
counts as 1) and the larger share of devices offline; ties by id.

>>> quiet = CommunityFigures("a", "A", 10, 10, 0, (0, 0, 0, 0), 0, 0, (0, 0), (3, 4))
>>> burning = CommunityFigures("b", "B", 10, 9, 1, (1, 0, 0, 0), 2, 1, (0, 1), (1, 4))
>>> [(r.figures.id, r.rank, r.status) for r in rank_communities([quiet, burning])]
[('b', 1, 'alarm'), ('a', 2, 'normal')]
>>> totals([quiet, burning])["closed_loop_rate_30d"], rate((0, 0)) is None
(0.5, True)
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from twin.live.status import SEVERITIES, Status, status_of

_ORDER: Final[dict[Status, int]] = {"alarm": 0, "warning": 1, "offline": 2, "normal": 3}


@dataclass(frozen=True, slots=True)
class CommunityFigures:
    """What the overview shows of one community (counts as of one moment)."""

    id: str
    name: str
    devices_total: int
    devices_online: int
    devices_offline: int  # reported offline (unknown ones are neither)
    alarms: tuple[int, int, int, int]  # active, by SEVERITIES: critical, major, minor, warning
    incidents_open: int
    incidents_overdue: int
    # (closed, counted) of incidents reported today / in the last 30 days,
    # counted = reported - cancelled (the closed-loop rate's definition).
    loop_today: tuple[int, int]
    loop_30d: tuple[int, int]


@dataclass(frozen=True, slots=True)
class RankedCommunity:
    figures: CommunityFigures
    rank: int
    status: Status


def rate(loop: tuple[int, int]) -> float | None:
    """closed ÷ counted, None when nothing counts.

    >>> rate((1, 4)), rate((0, 0))
    (0.25, None)
    """
    closed, counted = loop
    return closed / counted if counted else None


def worse(a: Status, b: Status) -> Status:
    """
    >>> worse("offline", "warning"), worse("normal", "offline")
    ('warning', 'offline')
    """
    return a if _ORDER[a] <= _ORDER[b] else b


def community_status(f: CommunityFigures) -> Status:
    """
    >>> f = CommunityFigures("a", "A", 3, 2, 1, (0, 0, 0, 0), 1, 0, (0, 0), (0, 0))
    >>> community_status(f)  # an open incident outranks an offline device
    'warning'
    """
    severity = next((s for s, n in zip(SEVERITIES, f.alarms, strict=True) if n), None)
    devices = status_of(severity, f.devices_offline)
    governance: Status = (
        "alarm" if f.incidents_overdue else "warning" if f.incidents_open else "normal"
    )
    return worse(devices, governance)


def _attention(f: CommunityFigures, status: Status) -> tuple[Any, ...]:
    loop = rate(f.loop_30d)
    offline_share = f.devices_offline / f.devices_total if f.devices_total else 0.0
    critical, major, minor, warning = f.alarms
    return (
        _ORDER[status],
        -critical,
        -major,
        -f.incidents_overdue,
        -(minor + warning),
        -f.incidents_open,
        1.0 if loop is None else loop,
        -offline_share,
        f.id,
    )


def rank_communities(figures: Iterable[CommunityFigures]) -> list[RankedCommunity]:
    """The communities in ranking order (rank 1 first)."""
    coloured = [(f, community_status(f)) for f in figures]
    coloured.sort(key=lambda fs: _attention(*fs))
    return [RankedCommunity(f, n, s) for n, (f, s) in enumerate(coloured, start=1)]


def _sum_loop(loops: Iterable[tuple[int, int]]) -> tuple[int, int]:
    closed = counted = 0
    for c, n in loops:
        closed += c
        counted += n
    return closed, counted


def totals(figures: Sequence[CommunityFigures]) -> dict[str, Any]:
    """The district's totals; its closed-loop rates pool the incidents (not the rates)."""
    alarms = [sum(f.alarms[i] for f in figures) for i in range(len(SEVERITIES))]
    statuses = [community_status(f) for f in figures]
    return {
        "communities": len(figures),
        "devices_total": sum(f.devices_total for f in figures),
        "devices_online": sum(f.devices_online for f in figures),
        "alarms_active": dict(zip(SEVERITIES, alarms, strict=True)),
        "incidents_open": sum(f.incidents_open for f in figures),
        "incidents_overdue": sum(f.incidents_overdue for f in figures),
        "closed_loop_rate_today": rate(_sum_loop(f.loop_today for f in figures)),
        "closed_loop_rate_30d": rate(_sum_loop(f.loop_30d for f in figures)),
        "by_status": {s: statuses.count(s) for s in _ORDER},
    }


def community_entry(r: RankedCommunity) -> dict[str, Any]:
    """One community as the overview lists it."""
    f = r.figures
    return {
        "id": f.id,
        "name": f.name,
        "rank": r.rank,
        "status": r.status,
        "devices_total": f.devices_total,
        "devices_online": f.devices_online,
        "devices_offline": f.devices_offline,
        "alarms_active": dict(zip(SEVERITIES, f.alarms, strict=True)),
        "incidents_open": f.incidents_open,
        "incidents_overdue": f.incidents_overdue,
        "closed_loop_rate_today": rate(f.loop_today),
        "closed_loop_rate_30d": rate(f.loop_30d),
    }
