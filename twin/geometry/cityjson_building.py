"""One CityJSON ``Building`` (with its parts, storeys and units) → a community building.

Rules (documented in docs/twin.md):

* Footprint: the building's own LoD0 surfaces; otherwise, per object
  (building and its ``BuildingPart`` descendants), its LoD0 surfaces, else the
  plan outline (``twin.geometry.footprint``) of its lowest usable LoD ≥ 1 geometry —
  its ``GroundSurface`` faces when it has semantics, else all its faces —; all
  unioned. ``GeometryInstance`` geometries are placed from their template.
* Every geometry of the building's objects is checked first (empty, malformed
  or dangling boundaries make the building unusable: it is skipped, not
  half-read).
* Ground: ``h_maaiveld`` (3D BAG), else the lowest vertex. Roof: ground +
  ``measuredHeight``, else 3D BAG's ``h_dak_max`` (then ``h_dak_70p``,
  ``h_dak_50p``, ``h_dak_min``), else ground + ``height``, else ground +
  ``building:levels`` storeys, else the highest vertex.
* Storeys: ``BuildingStorey`` objects, else ``storeysAboveGround`` (or
  ``building:levels``) / ``storeysBelowGround``, else derived from the height.
  ``BuildingUnit`` objects become units; a unit that cannot be placed on a
  storey is skipped on its own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from twin.errors import ModelError
from twin.geometry.cityjson_mesh import mesh_source
from twin.geometry.cityjson_pending import Outline, Pending, Placed, Vertices, volume_job
from twin.geometry.cityjson_surfaces import (
    INSTANCE,
    SURFACES,
    VOLUMES,
    faces,
    geometries,
    lod,
    surfaces,
    vertex_indices,
    volumes_by_lod,
)
from twin.geometry.footprint import OutlineJob, plan_outline
from twin.geometry.geojson import HEIGHT_DEFAULTED, check_footprint, number
from twin.geometry.import_report import MISSING_OBJECT, ObjectError, skip_for
from twin.model.community import Building, Storey, Unit
from twin.model.storeys import DEFAULT_STOREY_COUNT, derive_storeys

BUILDING_TYPES = ("Building", "BuildingPart")
GROUND_TOLERANCE = 0.05  # metres: storeys starting this far below the ground are basements
_ROOF_ATTRIBUTES = ("h_dak_max", "h_dak_70p", "h_dak_50p", "h_dak_min")
_VOLUME_TYPES = (*SURFACES, *VOLUMES)
Instancer = Callable[[Mapping[str, Any], str], Placed | None]


class BuildingReader:
    """Turns one top-level Building (with its descendants) into a Building."""

    def __init__(
        self,
        objects: Mapping[str, Any],
        local: Vertices,
        offset_z: float,
        storey_height: float,
        *,
        source: str,
        instance: Instancer,
    ) -> None:
        self.objects = objects
        self.local = local
        self.offset_z = offset_z
        self.storey_height = storey_height
        self.source = source
        self.instance = instance

    def owner(self, object_id: str) -> str:
        return f"building {object_id} ({self.source})"

    def family(self, object_id: str, obj: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
        """The building's descendants (parts, storeys, units, ...), all of which must exist."""
        return self._descendants(object_id, obj, self.owner(object_id))

    def building(
        self,
        object_id: str,
        obj: Mapping[str, Any],
        family: list[tuple[str, Mapping[str, Any]]],
    ) -> Pending:
        """Everything of the building but its footprint, which :func:`finish` computes in bulk.

        Its geometries must have passed ``check_geometries``.
        """
        owner = self.owner(object_id)
        parts = [(object_id, obj)] + [(i, o) for i, o in family if o.get("type") in BUILDING_TYPES]
        attributes = _attributes(obj)
        outlines = self._outlines(parts, owner)
        ground_z, roof_z, flags = self._heights(parts, attributes)
        storey_objects = [(i, o) for i, o in family if o.get("type") == "BuildingStorey"]
        explicit, storey_ids = self._storey_objects(storey_objects, ground_z, owner)
        count = _int_attribute(attributes, "storeysAboveGround")
        if count is None:
            count = _int_attribute(attributes, "building:levels")
        below = _int_attribute(attributes, "storeysBelowGround") or 0
        basement = _heights_list(
            attributes.get("storeyHeightsBelowGround"), below, self.storey_height
        )
        storeys = derive_storeys(
            owner,
            ground_z,
            roof_z,
            storey_height=self.storey_height,
            explicit=explicit.values(),
            count=count if count and not any(s.index > 0 for s in explicit.values()) else None,
            basement_heights=basement if not any(s.index < 0 for s in explicit.values()) else (),
        )
        units, unit_skips = [], []
        for unit_id, unit in family:
            if unit.get("type") != "BuildingUnit":
                continue
            try:
                units.append(self._unit(unit_id, unit, storeys, storey_ids))
            except ModelError as exc:
                unit_skips.append(skip_for(unit_id, "BuildingUnit", exc))
        name = attributes.get("name")
        building = Building(
            id=object_id,
            name=str(name) if name is not None else None,
            footprint=None,
            ground_z=ground_z,
            roof_z=roof_z,
            storeys=storeys,
            units=tuple(units),
            flags=flags,
            attributes=dict(attributes),
        )
        return Pending(
            building,
            str(obj.get("type")),
            owner,
            outlines,
            tuple(unit_skips),
            mesh_source([self._placed(o) for _, o in parts]),
        )

    def _descendants(
        self, object_id: str, obj: Mapping[str, Any], owner: str
    ) -> list[tuple[str, Mapping[str, Any]]]:
        found: list[tuple[str, Mapping[str, Any]]] = []
        children = obj.get("children")
        stack, seen = list(children if isinstance(children, list) else ()), {object_id}
        while stack:
            child_id = stack.pop(0)
            if not isinstance(child_id, str) or child_id in seen:
                continue
            seen.add(child_id)
            child = self.objects.get(child_id)
            if not isinstance(child, Mapping):
                raise ObjectError(
                    owner, MISSING_OBJECT, f"child {child_id!r} is not in CityObjects"
                )
            found.append((child_id, child))
            more = child.get("children")
            stack.extend(more if isinstance(more, list) else ())
        return found

    def _outlines(self, parts: list[tuple[str, Mapping[str, Any]]], owner: str) -> list[Outline]:
        """Per object, the geometries its footprint can come from, best first."""
        own = self._lod0(parts[0][1])
        if own is not None:
            return [Outline([OutlineJob(own[1], surfaces(own[0]), owner)])]
        out = []
        for _, obj in parts:
            lod0_geometry = self._lod0(obj)
            if lod0_geometry is not None:
                out.append(
                    Outline([OutlineJob(lod0_geometry[1], surfaces(lod0_geometry[0]), owner)])
                )
                continue
            usable = [
                (g, v)
                for g, v in self._placed(obj)
                if lod(g) >= 1 and g.get("type") in _VOLUME_TYPES
            ]
            usable.sort(key=lambda gv: lod(gv[0]))
            if usable:
                out.append(Outline([volume_job(g, v, owner) for g, v in usable[:1]], usable[1:]))
        return out

    def _lod0(self, obj: Mapping[str, Any]) -> Placed | None:
        for geometry, vertices in self._placed(obj):
            if lod(geometry) == 0 and geometry.get("type") in SURFACES:
                return geometry, vertices
        return None

    def _placed(self, obj: Mapping[str, Any]) -> list[Placed]:
        """The object's geometries with their vertices; instances resolved from templates."""
        out: list[Placed] = []
        for geometry in geometries(obj):
            if geometry.get("type") == INSTANCE:
                placed = self.instance(geometry, f"building geometry ({self.source})")
                if placed is not None:
                    out.append(placed)
            else:
                out.append((geometry, self.local))
        return out

    def _heights(
        self, parts: list[tuple[str, Mapping[str, Any]]], attributes: Mapping[str, Any]
    ) -> tuple[float, float, tuple[str, ...]]:
        dz = self.offset_z
        z: npt.NDArray[np.float64] | None = None

        def z_range() -> npt.NDArray[np.float64]:
            nonlocal z
            if z is None:
                found = [
                    v[np.fromiter(vertex_indices(g), dtype=np.int64), 2]
                    for _, o in parts
                    for g, v in self._placed(o)
                ]
                found = [a for a in found if len(a)]
                z = np.concatenate(found) if found else np.zeros(1)
            return z

        ground = number(attributes.get("h_maaiveld"))
        ground_z = ground - dz if ground is not None else float(z_range().min())
        measured = number(attributes.get("measuredHeight"))
        roofs = [r - dz for k in _ROOF_ATTRIBUTES if (r := number(attributes.get(k))) is not None]
        height = number(attributes.get("height"))
        levels = number(attributes.get("building:levels"))
        if measured is not None and measured > 0:
            roof_z = ground_z + measured
        elif roofs and roofs[0] > ground_z:
            roof_z = roofs[0]
        elif height is not None and height > 0:
            roof_z = ground_z + height
        elif levels is not None and levels >= 1:
            roof_z = ground_z + int(levels) * self.storey_height
        else:
            roof_z = float(z_range().max())
        if roof_z - ground_z > 0.01:
            return ground_z, roof_z, ()
        return ground_z, ground_z + DEFAULT_STOREY_COUNT * self.storey_height, (HEIGHT_DEFAULTED,)

    def _storey_objects(
        self, storeys: list[tuple[str, Mapping[str, Any]]], ground_z: float, owner: str
    ) -> tuple[dict[int, Storey], dict[str, int]]:
        """Storeys from BuildingStorey objects, and the storey index of each object id."""
        placed = []
        for storey_id, obj in storeys:
            attributes = _attributes(obj)
            vertex_ids = [i for g in geometries(obj) for i in vertex_indices(g)]
            if vertex_ids:
                zs = self.local[np.asarray(vertex_ids, dtype=np.int64), 2]
                floor, top = float(zs.min()), float(zs.max())
            elif (elevation := number(attributes.get("elevation"))) is not None:
                floor = elevation - self.offset_z
                top = floor + (number(attributes.get("height")) or self.storey_height)
            else:
                raise ModelError(
                    f"BuildingStorey {storey_id} of {owner}",
                    "has no geometry and no 'elevation' attribute; cannot tell its height",
                )
            placed.append((floor, top, storey_id, attributes))
        placed.sort(key=lambda p: (p[0], p[1], p[2]))
        above = [p for p in placed if p[0] >= ground_z - GROUND_TOLERANCE]
        below = [p for p in placed if p[0] < ground_z - GROUND_TOLERANCE][::-1]
        out: dict[int, Storey] = {}
        ids: dict[str, int] = {}
        for sign, group in ((1, above), (-1, below)):
            for n, (floor, top, storey_id, attributes) in enumerate(group, start=1):
                index = _int_attribute(attributes, "index") or sign * n
                if index in out:
                    raise ModelError(
                        f"BuildingStorey {storey_id} of {owner}", f"storey {index} twice"
                    )
                name = attributes.get("name", storey_id)
                out[index] = Storey(index, floor, max(top - floor, 0.0), str(name))
                ids[storey_id] = index
        return out, ids

    def _unit(
        self,
        unit_id: str,
        obj: Mapping[str, Any],
        storeys: tuple[Storey, ...],
        storey_ids: Mapping[str, int],
    ) -> Unit:
        owner = f"BuildingUnit {unit_id}"
        attributes = _attributes(obj)
        storey = _int_attribute(attributes, "storey")
        for parent in obj.get("parents") or ():
            if parent in storey_ids:
                storey = storey_ids[parent]
        footprint = None
        own = self._lod0(obj)
        candidates = [g for g in volumes_by_lod(obj) if g.get("type") != INSTANCE]
        volume = candidates[0] if candidates else (own[0] if own else None)
        if volume is not None:
            every = list(faces(volume))
            ground = [f for f, kind in every if kind == "GroundSurface"]
            chosen = surfaces(volume) if lod(volume) == 0 else ground or [f for f, _ in every]
            footprint = check_footprint(plan_outline(self.local, chosen, owner), owner)
            if storey is None:
                low = float(self.local[np.asarray(list(vertex_indices(volume))), 2].min()) + 0.01
                storey = next((s.index for s in storeys if s.floor_z <= low < s.top_z), None)
        if storey is None or all(s.index != storey for s in storeys):
            raise ModelError(owner, "cannot tell which storey of its building it is on")
        name = attributes.get("name")
        return Unit(
            unit_id, storey, str(name) if name is not None else None, footprint, dict(attributes)
        )


def _attributes(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    attributes = obj.get("attributes")
    return attributes if isinstance(attributes, Mapping) else {}


def _int_attribute(attributes: Mapping[str, Any], key: str) -> int | None:
    value = number(attributes.get(key))
    if value is None or value != int(value):
        return None
    return int(value)


def _heights_list(value: Any, count: int, default: float) -> list[float]:
    if isinstance(value, list) and value:
        numbers = [float(v) for v in value if isinstance(v, int | float) and v > 0]
        return (numbers + [numbers[-1]] * count)[:count] if numbers else [default] * count
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return [float(value)] * count
    return [default] * count
