"""One community as ingest needs it: its model, locator, devices and grid workers.

:func:`load_community_places` reads them (the SELECTs of
:mod:`twin.community.rows` and the device rows, on the caller's connection)
into a :class:`CommunityPlaces`; :class:`ingest.places.Places` caches them.
:func:`event_location` gives an incident event's location its grid (and,
for a point, its building, storey and unit).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import orjson
import psycopg
from psycopg.types.json import set_json_loads

from ingest.messages import LocalPosition, UnitLocation
from twin.community.rows import COMMUNITY, TABLES, community_from_rows
from twin.geometry.locate import Locator
from twin.incidents.events import Location
from twin.model.community import Community

Conn = psycopg.Connection[Any]
# Raster cells per locator index: an ingestor holds every community it is fed
# (a district: hundreds), and at 1M cells (the default) each model's rasters
# take ~12 MiB; 100k keep them ~1 MiB at about the same speed for a
# community's extent (bench_live_states, docs/ingest.md "Memory").
LOCATOR_CELLS: Final = 100_000
_DEVICES: Final = """
SELECT key, id, kind, mobile, modelled, building_id, storey_idx, unit_id, grid_id, x, y, z
FROM devices WHERE community_id = %s
"""
_DEVICE: Final = _DEVICES.strip() + " AND id = %s"


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    """A device row as ingest needs it; the placement was resolved at import."""

    key: int
    id: str
    kind: str | None
    mobile: bool
    modelled: bool
    building: str | None
    storey: int | None
    unit: str | None
    grid: str | None
    x: float | None
    y: float | None
    z: float | None


@dataclass(frozen=True, eq=False)
class CommunityPlaces:
    """One community's model, its locator, its devices and grid workers."""

    id: str
    model: Community
    locator: Locator
    devices: Mapping[int, DeviceInfo]  # by devices.key, modelled or not
    workers: Mapping[str, str]  # grid id → responsible worker (grids that have one)
    fingerprint: int = 0  # of the rows it was built from: a reload with the same is a no-op
    _grid_cache: dict[tuple[str, str | None], str | None] = field(default_factory=dict)
    _by_id: dict[str, DeviceInfo] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._by_id.update((d.id, d) for d in self.devices.values())

    @property
    def by_id(self) -> Mapping[str, DeviceInfo]:
        return self._by_id

    def grid_of(self, building: str, unit: str | None = None) -> str | None:
        """The grid of a unit (its footprint, else its building's) or of a building."""
        key = (building, unit)
        if key not in self._grid_cache:
            self._grid_cache[key] = self._locate_grid(building, unit)
        return self._grid_cache[key]

    def _locate_grid(self, building: str, unit: str | None) -> str | None:
        found = self.model.buildings_by_id().get(building)
        if found is None:
            return None
        area = found.footprint
        if unit is not None:
            u = found.unit(unit)
            if u is not None and u.footprint is not None:
                area = u.footprint
        point = area.point_on_surface()
        return self.locator.locate_one(float(point.x), float(point.y)).grid

    def unit_storey(self, building: str, unit: str) -> int | None:
        found = self.model.buildings_by_id().get(building)
        u = found.unit(unit) if found is not None else None
        return u.storey if u is not None else None


def event_location(
    loc: UnitLocation | LocalPosition | None, places: CommunityPlaces | None
) -> Location | None:
    """An incident event's location with its grid (and, for a point, its building,
    storey and unit). Raises ``twin.incidents.events.InvalidEventError`` for a
    location the incident model refuses (storey 0)."""
    if loc is None:
        return None
    if isinstance(loc, UnitLocation):
        storey = loc.storey
        grid = None
        if places is not None:
            if storey is None and loc.unit is not None:
                storey = places.unit_storey(loc.building, loc.unit)
            grid = places.grid_of(loc.building, loc.unit)
        return Location(building=loc.building, storey=storey, unit=loc.unit, grid=grid)
    if places is None:
        return Location(x=loc.x, y=loc.y, z=loc.z)
    found = places.locator.locate_one(loc.x, loc.y, loc.z)
    return Location(
        building=found.building,
        storey=found.storey if found.building is not None else None,
        unit=found.unit if found.building is not None else None,
        x=loc.x,
        y=loc.y,
        z=loc.z,
        grid=found.grid,
    )


def _shared(text: str | None) -> str | None:
    return sys.intern(text) if text is not None else None


def _device_info(row: Sequence[Any]) -> DeviceInfo:
    """A device row; kinds, buildings, units and grids repeat: one string each."""
    key, ident, kind, mobile, modelled, building, storey, unit, grid, x, y, z = row
    return DeviceInfo(
        int(key),
        ident,
        _shared(kind),
        mobile,
        modelled,
        _shared(building),
        storey,
        _shared(unit),
        _shared(grid),
        x,
        y,
        z,
    )


def load_device(conn: Conn, community: str, device: str) -> DeviceInfo | None:
    """One device row, read now: for a device newer than the cached model."""
    row = conn.execute(_DEVICE, (community, device)).fetchone()
    return _device_info(row) if row is not None else None


def load_community_places(conn: Conn, community: str) -> CommunityPlaces | None:
    """Read a community's model and devices; None if the community does not exist."""
    head = conn.execute(COMMUNITY, (community,)).fetchone()
    if head is None:
        return None
    # orjson for the footprints' jsonb: the standard library's decoder was a
    # quarter of a model's load (200 models at a district's start).
    cursor = conn.cursor()
    set_json_loads(orjson.loads, cursor)
    tables = {t.name: cursor.execute(t.select(), (community,)).fetchall() for t in TABLES}
    model = community_from_rows(head, tables)
    rows = conn.execute(_DEVICES, (community,)).fetchall()
    devices = {int(row[0]): _device_info(row) for row in rows}
    workers = {g.id: g.worker for g in model.grids if g.worker}
    locator = Locator(model, max_cells=LOCATOR_CELLS)
    fingerprint = hash(orjson.dumps([head, tables, rows], default=str))
    return CommunityPlaces(community, model, locator, devices, workers, fingerprint)
