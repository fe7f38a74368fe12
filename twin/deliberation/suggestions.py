"""Topics the twin suggests: one category of incident recurring in one place.

An incident counts for every place it is in: its building, its grid, and,
when it is in no building (a public area), the cluster of such incidents
around its point (incidents within ``radius_m`` of one another, chained). A
place with at least ``threshold`` incidents of one category reported in the
window ``(now - window, now]`` becomes a suggestion carrying those incidents.
Suggestions of one category whose incidents overlap merge into one (a grid's
and its building's, or two clusters' that share an incident), with the union
of places and incidents. Cancelled incidents, and those already attached to
a topic, are the caller's to leave out.

>>> from datetime import datetime, timedelta, timezone
>>> now = datetime(2026, 12, 1, tzinfo=timezone.utc)
>>> seen = [Incident(f"p{n}", "parking", now - timedelta(days=n), grid_id="g1", x=n, y=0)
...         for n in range(5)]
>>> [s] = suggest(seen, now)
>>> s.category, [str(p) for p in s.places], s.incident_ids
('parking', ['grid:g1', 'point:2.0,0.0'], ('p0', 'p1', 'p2', 'p3', 'p4'))
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from twin.deliberation.homes import DeliberationError


@dataclass(frozen=True, slots=True)
class Incident:
    """What a suggestion needs of an incident: its category, time and place."""

    id: str
    category: str
    reported_at: datetime
    building_id: str | None = None
    grid_id: str | None = None
    x: float | None = None
    y: float | None = None


@dataclass(frozen=True, slots=True)
class SuggestionRule:
    threshold: int = 5
    window: timedelta = timedelta(days=30)
    radius_m: float = 30.0  # public-area incidents closer than this share a place

    def __post_init__(self) -> None:
        if self.threshold < 2:
            raise DeliberationError("a suggestion needs a threshold of at least 2 incidents")
        if self.window <= timedelta(0) or self.radius_m < 0:
            raise DeliberationError("a suggestion's window must be positive, its radius >= 0")


@dataclass(frozen=True, slots=True, order=True)
class PlaceRef:
    kind: str  # building | grid | point (a public-area cluster, named by its centre)
    id: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.id}"


@dataclass(frozen=True, slots=True)
class Suggestion:
    category: str
    places: tuple[PlaceRef, ...]
    incident_ids: tuple[str, ...]
    first_at: datetime
    last_at: datetime
    x: float | None  # the incidents' centre, for the map (None without coordinates)
    y: float | None

    @property
    def key(self) -> str:
        """Stable while the incidents stay: the category and the first incident's id."""
        return f"{self.category}:{self.incident_ids[0]}"

    @property
    def building_id(self) -> str | None:
        return next((p.id for p in self.places if p.kind == "building"), None)

    @property
    def grid_id(self) -> str | None:
        return next((p.id for p in self.places if p.kind == "grid"), None)


def suggest(
    incidents: Iterable[Incident], now: datetime, rule: SuggestionRule = SuggestionRule()
) -> list[Suggestion]:
    """Suggestions of incidents reported in ``(now - rule.window, now]``, merged; largest first."""
    recent = [i for i in incidents if i.category and now - rule.window < i.reported_at <= now]
    groups: dict[tuple[str, PlaceRef], list[Incident]] = defaultdict(list)
    for i in recent:
        if i.building_id is not None:
            groups[(i.category, PlaceRef("building", i.building_id))].append(i)
        if i.grid_id is not None:
            groups[(i.category, PlaceRef("grid", i.grid_id))].append(i)
    public: dict[str, list[Incident]] = defaultdict(list)
    for i in recent:
        if i.building_id is None and i.x is not None and i.y is not None:
            public[i.category].append(i)
    for category, points in public.items():
        for cluster in _clusters(points, rule.radius_m):
            cx, cy = _centre(cluster)
            groups[(category, PlaceRef("point", f"{cx:.1f},{cy:.1f}"))] = cluster
    found = [
        (cat, {place}, members)
        for (cat, place), members in groups.items()
        if len(members) >= rule.threshold
    ]
    return sorted(
        (_suggestion(cat, places, members) for cat, places, members in _merge(found)),
        key=lambda s: (-len(s.incident_ids), s.category, s.key),
    )


def _merge(
    found: list[tuple[str, set[PlaceRef], list[Incident]]],
) -> list[tuple[str, set[PlaceRef], list[Incident]]]:
    """Union of the suggestions of one category that share an incident, until none do."""
    merged: list[tuple[str, set[PlaceRef], dict[str, Incident]]] = []
    for cat, where, members in sorted(found, key=lambda f: (f[0], sorted(f[1]))):
        places, ids = set(where), {i.id: i for i in members}
        for other in [m for m in merged if m[0] == cat and m[2].keys() & ids.keys()]:
            merged.remove(other)
            places |= other[1]
            ids |= other[2]
        merged.append((cat, places, ids))
    return [(cat, places, list(ids.values())) for cat, places, ids in merged]


def _suggestion(category: str, places: set[PlaceRef], members: list[Incident]) -> Suggestion:
    members = sorted(members, key=lambda i: (i.reported_at, i.id))
    located = [i for i in members if i.x is not None and i.y is not None]
    cx, cy = _centre(located) if located else (None, None)
    return Suggestion(
        category,
        tuple(sorted(places)),
        tuple(sorted(i.id for i in members)),
        members[0].reported_at,
        members[-1].reported_at,
        cx,
        cy,
    )


def _clusters(points: list[Incident], radius: float) -> list[list[Incident]]:
    """Single-linkage clusters: incidents chained by steps shorter than ``radius``."""
    left = sorted(points, key=lambda i: i.id)
    out = []
    while left:
        cluster, frontier = [left.pop(0)], 0
        while frontier < len(cluster):
            here = cluster[frontier]
            near = [i for i in left if _distance(here, i) <= radius]
            for i in near:
                left.remove(i)
            cluster.extend(near)
            frontier += 1
        out.append(cluster)
    return out


def _distance(a: Incident, b: Incident) -> float:
    return math.hypot((a.x or 0.0) - (b.x or 0.0), (a.y or 0.0) - (b.y or 0.0))


def _centre(items: list[Incident]) -> tuple[float, float]:
    return (
        sum(i.x or 0.0 for i in items) / len(items),
        sum(i.y or 0.0 for i in items) / len(items),
    )
