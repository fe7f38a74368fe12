"""Locate points in a community: building, storey, unit and grid, vectorised.

Rules (tested in tests/twin/test_locate*.py, documented in docs/twin.md):

* A point is in a building when the footprint covers its x/y (a point on the
  footprint's edge is inside) and its z lies within the building's height,
  from its lowest storey floor (deepest basement, else ``ground_z``) up to
  ``roof_z`` inclusive. Above the roof or below the lowest floor it is outside
  every building and gets its grid only. Unknown z (``nan``) skips the height
  test: building found, storey unknown.
* Where footprints overlap (a point on a wall two buildings share) the
  building with the smallest id wins (communities keep them sorted by id);
  likewise for overlapping grids and units.
* The storey is the one with ``floor_z <= z < floor_z + height``; the top
  storey also includes its top. A floor slab belongs to the storey above it.
  A z in a gap between storeys gives storey ``0`` (none).
* The unit is the one of that building and storey whose footprint covers the
  point; units without a footprint are never located, only placed.
* The grid is found for every point, inside a building or not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely

from twin.geometry.polygon_index import FloatArray, IntArray, PolygonIndex, lowest_per_point
from twin.model.community import NO_STOREY, Community, Device

NO_INDEX = -1
# PolygonIndex's default raster cap per index (4 bytes a cell).
MAX_CELLS = 4_000_000


@dataclass(frozen=True, slots=True)
class Place:
    """Where one point is; ``storey`` is ``None`` when not on a storey."""

    building: str | None
    storey: int | None
    unit: str | None
    grid: str | None


@dataclass(frozen=True, slots=True)
class Located:
    """Arrays, one entry per point: indexes into the locator's id tuples (-1 none).

    ``storey`` holds storey indexes themselves (``0`` = none).
    """

    building: IntArray
    storey: IntArray
    unit: IntArray
    grid: IntArray
    building_ids: tuple[str, ...]
    unit_ids: tuple[str, ...]
    grid_ids: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.building)

    def place(self, i: int) -> Place:
        b, s, u, g = (
            int(self.building[i]),
            int(self.storey[i]),
            int(self.unit[i]),
            int(self.grid[i]),
        )
        return Place(
            self.building_ids[b] if b >= 0 else None,
            s if s != NO_STOREY else None,
            self.unit_ids[u] if u >= 0 else None,
            self.grid_ids[g] if g >= 0 else None,
        )

    def places(self) -> list[Place]:
        return [self.place(i) for i in range(len(self))]


class Locator:
    """A community's buildings, storeys, units and grids, indexed for locating.

    Build once per community model (it costs ~0.5 s per 10,000 buildings), then
    call :meth:`locate` with arrays. Thread-safe for concurrent reads.

    ``max_cells`` caps each polygon index's raster (4 bytes a cell; answers
    stay exact, coarser cells test more points exactly): a process holding
    hundreds of communities (an ingestor of a district) trades some speed
    for memory.
    """

    def __init__(self, community: Community, *, max_cells: int = MAX_CELLS) -> None:
        self.frame = community.frame
        buildings = community.buildings
        self.building_ids = tuple(b.id for b in buildings)
        self.grid_ids = tuple(g.id for g in community.grids)
        self._buildings = PolygonIndex([b.footprint for b in buildings], max_cells=max_cells)
        self._grids = PolygonIndex([g.polygon for g in community.grids], max_cells=max_cells)
        self._bottom = np.array([b.bottom_z for b in buildings], dtype=np.float64)
        self._roof = np.array([b.roof_z for b in buildings], dtype=np.float64)
        self._storeys = _StoreyTable(community)
        self._units = _UnitTable(community, max_cells)
        self.unit_ids = self._units.ids

    def locate(self, x: npt.ArrayLike, y: npt.ArrayLike, z: npt.ArrayLike | None = None) -> Located:
        """Locate local points (metres); ``z=None`` means heights unknown."""
        xa = np.ascontiguousarray(x, dtype=np.float64).reshape(-1)
        ya = np.ascontiguousarray(y, dtype=np.float64).reshape(-1)
        if z is None:
            za = np.full(xa.shape, np.nan)
        else:
            za = np.broadcast_to(np.asarray(z, dtype=np.float64), xa.shape).reshape(-1)
        if not (xa.shape == ya.shape == za.shape):
            raise ValueError("x, y and z must have the same length")
        building = self._building(xa, ya, za)
        storey = self._storeys.lookup(building, za)
        unit = self._units.lookup(building, storey, xa, ya)
        grid = self._grids.first(xa, ya)
        return Located(
            building, storey, unit, grid, self.building_ids, self.unit_ids, self.grid_ids
        )

    def locate_lonlat(
        self, lon: npt.ArrayLike, lat: npt.ArrayLike, alt: npt.ArrayLike | None = None
    ) -> Located:
        """Locate WGS 84 points; ``alt`` is height in the community's vertical frame."""
        x, y, z = self.frame.to_local(lon, lat, alt)
        return self.locate(x, y, None if alt is None else z)

    def locate_one(self, x: float, y: float, z: float | None = None) -> Place:
        return self.locate([x], [y], None if z is None else [z]).place(0)

    def _building(self, x: FloatArray, y: FloatArray, z: FloatArray) -> IntArray:
        points, candidates = self._buildings.covering(x, y)
        zp = z[points]
        with np.errstate(invalid="ignore"):
            fits = (self._bottom[candidates] <= zp) & (zp <= self._roof[candidates])
        keep = fits | np.isnan(zp)
        return lowest_per_point(len(x), points[keep], candidates[keep])


class _StoreyTable:
    """All storeys of all buildings, sorted by (building, floor_z).

    Lookup is a branch-free binary search within each point's building's rows,
    vectorised over points: about log2(max storeys) numpy passes, exact float
    comparisons, and cache-friendly (each point reads one building's rows).
    """

    def __init__(self, community: Community) -> None:
        rows = [
            (b, s.floor_z, s.top_z, s.index, s is building.storeys[-1])
            for b, building in enumerate(community.buildings)
            for s in building.storeys
        ]
        rows.sort(key=lambda r: (r[0], r[1]))
        building = np.array([r[0] for r in rows], dtype=np.int64)
        self.floor = np.array([r[1] for r in rows], dtype=np.float64)
        self.top = np.array([r[2] for r in rows], dtype=np.float64)
        self.index = np.array([r[3] for r in rows], dtype=np.int64)
        self.is_top = np.array([r[4] for r in rows], dtype=bool)
        count = np.bincount(building, minlength=len(community.buildings))
        self.count = count.astype(np.int64)
        self.start = (np.cumsum(count) - count).astype(np.int64)
        most = int(count.max()) if len(count) else 0
        self.steps = [1 << k for k in range(most.bit_length() - 1, -1, -1)] if most else []

    def lookup(self, building: IntArray, z: FloatArray) -> IntArray:
        storey = np.full(building.shape, NO_STOREY, dtype=np.int64)
        todo = np.flatnonzero((building >= 0) & ~np.isnan(z))
        if not len(todo) or not self.steps:
            return storey
        b, zt = building[todo], z[todo]
        first, end = self.start[b], self.start[b] + self.count[b]
        last = len(self.floor) - 1
        pos = first - 1  # the last row with floor_z <= z, first - 1 if none
        for step in self.steps:
            candidate = pos + step
            fits = (candidate < end) & (self.floor[np.minimum(candidate, last)] <= zt)
            pos = np.where(fits, candidate, pos)
        row = np.maximum(pos, 0)
        top = self.top[row]
        ok = (pos >= first) & ((zt < top) | ((zt == top) & self.is_top[row]))
        storey[todo[ok]] = self.index[row[ok]]
        return storey


class _UnitTable:
    """Units with a footprint, indexed by distinct footprint (stacked flats share one)."""

    def __init__(self, community: Community, max_cells: int = MAX_CELLS) -> None:
        ids, building, storey = [], [], []
        footprint_of: dict[bytes, int] = {}
        footprints: list[Any] = []
        unit_footprint = []
        for b, bld in enumerate(community.buildings):
            for unit in bld.units:
                ids.append(unit.id)
                building.append(b)
                storey.append(unit.storey)
                if unit.footprint is None:
                    unit_footprint.append(NO_INDEX)
                    continue
                key = shapely.to_wkb(unit.footprint)
                if key not in footprint_of:
                    footprint_of[key] = len(footprints)
                    footprints.append(unit.footprint)
                unit_footprint.append(footprint_of[key])
        self.ids = tuple(ids)
        self.building = np.array(building, dtype=np.int64)
        self.storey = np.array(storey, dtype=np.int64)
        located = np.array(unit_footprint, dtype=np.int64)
        order = np.argsort(located, kind="stable")
        order = order[located[order] >= 0]
        self.units_by_footprint = order
        self.footprint_start = np.searchsorted(located[order], np.arange(len(footprints) + 1))
        self.index = PolygonIndex(footprints, max_cells=max_cells) if footprints else None

    def lookup(
        self, building: IntArray, storey: IntArray, x: FloatArray, y: FloatArray
    ) -> IntArray:
        unit = np.full(building.shape, NO_INDEX, dtype=np.int64)
        if self.index is None:
            return unit
        todo = np.flatnonzero((building >= 0) & (storey != NO_STOREY))
        points, footprints = self.index.covering(x[todo], y[todo])
        starts = self.footprint_start[footprints]
        lengths = self.footprint_start[footprints + 1] - starts
        pairs = np.repeat(points, lengths)
        within = np.arange(len(pairs)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        units = self.units_by_footprint[np.repeat(starts, lengths) + within]
        target = todo[pairs]
        ok = (self.building[units] == building[target]) & (self.storey[units] == storey[target])
        unit[todo] = lowest_per_point(len(todo), pairs[ok], units[ok])
        return unit


@dataclass(frozen=True, slots=True)
class DevicePlace:
    """Where a device is, resolved once from its placement.

    ``x, y, z`` is its position, or for a device placed by building/storey/unit
    a representative point: inside the unit's (else the building's) footprint,
    at mid-height of its storey (else the ground). ``None`` when unplaced.
    """

    device: str
    building: str | None
    storey: int | None
    unit: str | None
    grid: str | None
    x: float | None
    y: float | None
    z: float | None


def resolve_devices(community: Community, locator: Locator | None = None) -> dict[str, DevicePlace]:
    """Every device's place, located in one vectorised call.

    A given building/storey/unit is kept as given (the model file was checked
    against the buildings); a device with only a position gets its building,
    storey and unit from locating it. Every placed device gets its grid.
    """
    locator = locator or Locator(community)
    buildings = community.buildings_by_id()
    anchors: list[tuple[Device, float, float, float]] = []
    for device in community.devices:
        p = device.placement
        if p.position is not None:
            z = p.position.z if p.position.z is not None else float("nan")
            anchors.append((device, p.position.x, p.position.y, z))
        elif p.building is not None:
            building = buildings[p.building]
            unit = building.unit(p.unit) if p.unit is not None else None
            area = unit.footprint if unit is not None and unit.footprint is not None else None
            point = (area if area is not None else building.footprint).point_on_surface()
            storey = building.storey(p.storey) if p.storey is not None else None
            z = storey.floor_z + storey.height / 2 if storey is not None else building.ground_z
            anchors.append((device, float(point.x), float(point.y), z))
    located = locator.locate(
        [a[1] for a in anchors], [a[2] for a in anchors], [a[3] for a in anchors]
    )
    places = {
        d.id: DevicePlace(d.id, None, None, None, None, None, None, None) for d in community.devices
    }
    for i, (device, x, y, z) in enumerate(anchors):
        found = located.place(i)
        p = device.placement
        given = p.building is not None
        places[device.id] = DevicePlace(
            device.id,
            p.building if given else found.building,
            p.storey if given else found.storey,
            p.unit if given else found.unit,
            found.grid,
            x,
            y,
            None if np.isnan(z) else z,
        )
    return places
