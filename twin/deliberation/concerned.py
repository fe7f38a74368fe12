"""Who a table concerns: its level and its topic's place pick households from the twin.

* ``community`` (the big table): every home of the community;
* ``estate`` (a small table): the homes of the buildings in the estate's grid,
  the grid named by the place, else the one holding its point, else the one
  holding its building;
* ``building`` (a stairwell's table): the homes of the place's building; with
  a ``stairwell``, only its units (unit attribute ``stairwell``);
* ``online``: as narrow as the place says: a building (and stairwell) as
  ``building``, a grid or a point as ``estate``, nothing as ``community``.

A building belongs to a grid when its footprint's representative point lies in
the grid's polygon (a point inside the footprint, so an L-shaped building on a
grid's edge is not counted twice by overlapping grids: the first grid by id wins,
as in twin/geometry/locate.py).

>>> from shapely.geometry import box
>>> from twin.model.community import Building, Community, Grid, Storey, Unit
>>> s = (Storey(1, 0.0, 3.0),)
>>> def b(bid, x, units):
...     return Building(bid, None, box(x, 0, x + 10, 10), 0.0, 30.0, s,
...                     tuple(Unit(u, 1, attributes={"area_m2": 90, "stairwell": w})
...                           for u, w in units))
>>> c = Community("c", "c", "EPSG:4547", buildings=(b("b1", 0, [("101", "1"), ("102", "2")]),
...     b("b2", 50, [("101", "1")])), grids=(Grid("g1", None, box(-5, -5, 20, 20)),))
>>> [str(h) for h in concerned_ids(c, Level.ESTATE, Place(grid_id="g1"))]
['b1/101', 'b1/102']
>>> [str(h) for h in concerned_ids(c, Level.BUILDING, Place(building_id="b1", stairwell="2"))]
['b1/102']
>>> everyone = electorate(c, Level.COMMUNITY, Place())
>>> len(concerned_ids(c, Level.ONLINE, Place())), sum(h.area_m2 for h in everyone)
(3, Fraction(270, 1))
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum

from shapely.geometry import Point

from twin.deliberation.homes import DeliberationError, Home, HomeId, home_area
from twin.model.community import Building, Community, Grid, Unit

STAIRWELL_KEY = "stairwell"
"""The unit attribute naming its stairwell (单元) within the building."""


class Level(StrEnum):
    COMMUNITY = "community"  # 社区大圆桌
    ESTATE = "estate"  # 小区小圆桌
    BUILDING = "building"  # 楼道/单元圆桌
    ONLINE = "online"  # 线上圆桌


@dataclass(frozen=True, slots=True)
class Place:
    """Where a topic is: a building (and stairwell), a grid, a public-area point, or nowhere."""

    building_id: str | None = None
    stairwell: str | None = None
    grid_id: str | None = None
    x: float | None = None
    y: float | None = None

    @property
    def has_point(self) -> bool:
        return self.x is not None and self.y is not None


def effective_level(level: Level, place: Place) -> Level:
    """An online table concerns as narrow a circle as its place names."""
    if level is not Level.ONLINE:
        return level
    if place.building_id is not None:
        return Level.BUILDING
    if place.grid_id is not None or place.has_point:
        return Level.ESTATE
    return Level.COMMUNITY


def concerned_units(
    community: Community, level: Level, place: Place
) -> Iterator[tuple[Building, Unit]]:
    """The (building, unit) pairs a table concerns; DeliberationError if its place does not fit."""
    level = effective_level(level, place)
    if level is Level.COMMUNITY:
        buildings = list(community.buildings)
    elif level is Level.ESTATE:
        grid = _estate_grid(community, place)
        buildings = [b for b in community.buildings if _grid_of(community, b) is grid]
    else:
        found = community.buildings_by_id().get(place.building_id or "")
        if found is None:
            raise DeliberationError(
                f"a {level} table needs a building of the model, got {place.building_id!r}"
            )
        buildings = [found]
    for building in buildings:
        for unit in building.units:
            if level is Level.BUILDING and place.stairwell is not None:
                stairwell = unit.attributes.get(STAIRWELL_KEY)
                if stairwell is None or str(stairwell) != place.stairwell:
                    continue
            yield building, unit


def concerned_ids(community: Community, level: Level, place: Place) -> tuple[HomeId, ...]:
    """The concerned households' ids, sorted."""
    return tuple(sorted(HomeId(b.id, u.id) for b, u in concerned_units(community, level, place)))


def electorate(community: Community, level: Level, place: Place) -> tuple[Home, ...]:
    """The concerned homes with their floor areas; refused if one has none (uncountable)."""
    homes = []
    for b, u in concerned_units(community, level, place):
        area = home_area(u)
        if area is None:
            raise DeliberationError(
                f"home {b.id}/{u.id} has no floor area: give the unit 'area_m2' or a footprint"
            )
        homes.append(Home(HomeId(b.id, u.id), area))
    if not homes:
        raise DeliberationError("no household is concerned by this table's level and place")
    return tuple(sorted(homes, key=lambda h: h.id))


def _estate_grid(community: Community, place: Place) -> Grid:
    if place.grid_id is not None:
        for g in community.grids:
            if g.id == place.grid_id:
                return g
        raise DeliberationError(f"no grid {place.grid_id!r} in the model")
    if place.has_point:
        point = Point(place.x, place.y)
        for g in community.grids:
            if g.polygon.covers(point):
                return g
        raise DeliberationError(f"the point ({place.x}, {place.y}) lies in no grid (estate)")
    building = community.buildings_by_id().get(place.building_id or "")
    grid = _grid_of(community, building) if building is not None else None
    if grid is None:
        raise DeliberationError(
            "an estate table needs a grid, a point in one, or a building in one"
        )
    return grid


def _grid_of(community: Community, building: Building) -> Grid | None:
    point = building.footprint.representative_point()
    return next((g for g in community.grids if g.polygon.covers(point)), None)
