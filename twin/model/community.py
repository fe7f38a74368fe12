"""The community model: frozen dataclasses, local metres (x east, y north, z up).

A :class:`Community` holds buildings (footprint, ground and roof height,
storeys, units), governance grids and devices, each kept sorted by id. Geometry is shapely 2 (valid,
non-empty Polygon/MultiPolygon in the community's local frame); everything
else is plain values, so the model can be compared, hashed by id and passed
between threads without copying.

Storey indexes follow the building convention: ``1`` is the ground floor,
``2`` the one above; ``-1`` is the first basement, ``-2`` the one below it.
There is no storey ``0``; the locator uses ``0`` to mean "no storey".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, TypeAlias

from twin.model.crs import Frame
from twin.model.facilities import Facility
from twin.model.households import Household
from twin.model.mesh import BuildingMesh
from twin.model.walk_network import Entrance, WalkPath

# shapely ships no type information: a footprint is a shapely Polygon or
# MultiPolygon in local metres, validated on the way in.
Footprint: TypeAlias = Any

NO_STOREY = 0
"""Storey index meaning "not on any storey" (storeys are ..., -1, 1, 2, ...)."""


@dataclass(frozen=True, slots=True)
class Storey:
    """One floor of a building: ``[floor_z, floor_z + height)`` in local z.

    >>> Storey(index=2, floor_z=3.0, height=3.0).top_z
    6.0
    """

    index: int
    floor_z: float
    height: float
    name: str | None = None

    @property
    def top_z(self) -> float:
        return self.floor_z + self.height


@dataclass(frozen=True, slots=True)
class Unit:
    """A dwelling or room on one storey; its footprint is optional.

    ``household``: the care attributes of who lives there (``twin.model.households``).
    """

    id: str
    storey: int
    name: str | None = None
    footprint: Footprint | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)
    household: Household | None = None


@dataclass(frozen=True, slots=True)
class Building:
    """A building: footprint extruded from ``ground_z`` to ``roof_z``, with storeys.

    ``flags`` records how the model was made, e.g. ``height_defaulted`` when
    the source gave no height and a default was used.
    """

    id: str
    name: str | None
    footprint: Footprint
    ground_z: float
    roof_z: float
    storeys: tuple[Storey, ...]
    units: tuple[Unit, ...] = ()
    flags: tuple[str, ...] = ()
    attributes: Mapping[str, Any] = field(default_factory=dict)
    mesh: BuildingMesh | None = field(default=None, compare=False, repr=False)
    """The surfaces as modelled (CityJSON LoD ≥ 1), triangulated at import; None when
    the source has none (the store then extrudes the footprint). Not part of equality:
    a community read back from its rows, which do not load meshes, equals the imported one."""

    def __post_init__(self) -> None:
        # Canonical order (by id) so a community read back from the database
        # equals the one imported, and exports are stable.
        object.__setattr__(self, "units", tuple(sorted(self.units, key=lambda u: u.id)))

    @property
    def height(self) -> float:
        return self.roof_z - self.ground_z

    @property
    def bottom_z(self) -> float:
        """The lowest point of the building: its deepest basement floor or the ground."""
        return min([self.ground_z, *(s.floor_z for s in self.storeys)])

    def storey(self, index: int) -> Storey | None:
        for s in self.storeys:
            if s.index == index:
                return s
        return None

    def unit(self, unit_id: str) -> Unit | None:
        for u in self.units:
            if u.id == unit_id:
                return u
        return None


@dataclass(frozen=True, slots=True)
class Grid:
    """A governance grid: the area one grid worker is responsible for."""

    id: str
    name: str | None
    polygon: Footprint
    worker: str | None = None
    worker_name: str | None = None


@dataclass(frozen=True, slots=True)
class Position:
    """A fixed point in local metres; ``z`` may be unknown (2D placement)."""

    x: float
    y: float
    z: float | None = None


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a device is: a building/storey/unit, a fixed position, or both.

    For a mobile device (a wearable) this is its home.
    """

    building: str | None = None
    storey: int | None = None
    unit: str | None = None
    position: Position | None = None

    @property
    def is_empty(self) -> bool:
        return self.building is None and self.position is None


@dataclass(frozen=True, slots=True)
class Device:
    id: str
    kind: str | None
    metrics: tuple[str, ...] = ()
    placement: Placement = Placement()
    mobile: bool = False
    name: str | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Community:
    """A residential community: its frame, buildings, grids and devices."""

    id: str
    name: str
    crs: str
    offset: tuple[float, float, float] = (0.0, 0.0, 0.0)
    storey_height: float = 3.0
    buildings: tuple[Building, ...] = ()
    grids: tuple[Grid, ...] = ()
    devices: tuple[Device, ...] = ()
    attributes: Mapping[str, Any] = field(default_factory=dict)
    # The 15-minute service circle (twin/services/circle.py): facilities, the
    # walking network and explicit building entrances.
    facilities: tuple[Facility, ...] = ()
    paths: tuple[WalkPath, ...] = ()
    entrances: tuple[Entrance, ...] = ()

    def __post_init__(self) -> None:
        # Canonical order (by id): equal communities compare equal whatever the
        # source order, and where footprints or grids overlap the smallest id
        # wins (see twin/geometry/locate.py).
        for name in ("buildings", "grids", "devices", "facilities", "paths"):
            items = getattr(self, name)
            object.__setattr__(self, name, tuple(sorted(items, key=lambda o: o.id)))
        ordered = sorted(self.entrances, key=lambda e: (e.building, e.x, e.y))
        object.__setattr__(self, "entrances", tuple(ordered))

    @property
    def frame(self) -> Frame:
        return Frame(self.crs, self.offset)

    def buildings_by_id(self) -> dict[str, Building]:
        return {b.id: b for b in self.buildings}

    def with_buildings(self, buildings: tuple[Building, ...]) -> Community:
        return replace(self, buildings=buildings)


@dataclass(frozen=True, slots=True)
class GeometryImport:
    """Buildings read from one CityJSON/GeoJSON file, already in ``frame``."""

    source: str
    source_crs: str | None
    frame: Frame
    buildings: tuple[Building, ...]
    skipped: Mapping[str, int] = field(default_factory=dict)
    """Objects not imported, by type (e.g. ``{"Road": 12}``)."""
