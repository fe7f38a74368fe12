"""CityJSON 1.0, 1.1 and 2.0 buildings → community buildings.

Why not cjio for reading: importing ``cjio.cityjson`` replaces the standard
library's C JSON encoder process-wide (``json.encoder.c_make_encoder = None``),
which makes every later ``json.dumps`` in the API or ingest about 3x slower,
and its CRS reader rejects the ``urn:ogc:def:crs:EPSG::7415`` form of CityJSON
1.0. What we need is small and hot: decode with orjson, apply ``transform`` to
all vertices at once with numpy, then build one footprint per building.

Rules (documented in docs/twin.md):

* Every top-level ``Building`` (and a ``BuildingPart`` without parent) is one
  building; its ``BuildingPart`` descendants belong to it. Other top-level
  object types are skipped and counted.
* Footprint: the building's LoD0 surfaces; otherwise, per object (building and
  parts), its LoD0 surfaces or the ground faces of its lowest LoD ≥ 1 geometry
  (``GroundSurface`` semantics, else the faces lying at the geometry's minimum
  z); all unioned.
* Ground: ``h_maaiveld`` (3D BAG), else the lowest vertex. Roof: ground +
  ``measuredHeight``, else ``h_dak_max`` (3D BAG), else the highest vertex.
  A building with no height left gets the default storeys, flag
  ``height_defaulted``.
* Storeys: ``BuildingStorey`` objects (CityJSON 2.0) if present, else
  ``storeysAboveGround``/``storeysBelowGround`` attributes, else derived from
  the height. ``BuildingUnit`` objects become units.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely

from twin.cityjson_geometry import (
    Face,
    face_indices,
    faces,
    lod,
    lod0,
    lowest_volume,
    surfaces,
    vertex_indices,
)
from twin.crs import Frame, canonical_crs, to_frame
from twin.errors import ModelError
from twin.geojson import DECIMALS, HEIGHT_DEFAULTED, check_footprint
from twin.model import Building, Footprint, GeometryImport, Storey, Unit
from twin.storeys import DEFAULT_STOREY_COUNT, DEFAULT_STOREY_HEIGHT, derive_storeys

SUPPORTED_VERSIONS = ("1.0", "1.1", "2.0")
_VERSION = re.compile(r"^(\d+)\.(\d+)(?:\.\d+)?$")
_BUILDINGS = ("Building", "BuildingPart")
_GROUND_TOLERANCE = 0.05  # metres: faces this close to the lowest z form the footprint
Vertices = npt.NDArray[np.float64]


def check_version(data: Mapping[str, Any], source: str) -> str:
    """The file's CityJSON version if supported, else a ModelError.

    >>> check_version({"type": "CityJSON", "version": "0.9"}, "a.city.json")
    Traceback (most recent call last):
    twin.errors.ModelError: a.city.json: CityJSON version '0.9' is not supported (supported: ...)
    """
    if data.get("type") != "CityJSON":
        raise ModelError(source, "not a CityJSON file (type must be 'CityJSON')")
    version = str(data.get("version", ""))
    match = _VERSION.match(version)
    if match is None or f"{match[1]}.{match[2]}" not in SUPPORTED_VERSIONS:
        raise ModelError(
            source,
            f"CityJSON version {version!r} is not supported "
            f"(supported: {', '.join(SUPPORTED_VERSIONS)})",
        )
    return f"{match[1]}.{match[2]}"


def reference_system(data: Mapping[str, Any]) -> str | None:
    """``metadata.referenceSystem`` (1.1/2.0 URL, 1.0 URN) or a 0.x-style ``crs.epsg``."""
    metadata = data.get("metadata") or {}
    if not isinstance(metadata, Mapping):
        return None
    ref = metadata.get("referenceSystem")
    if isinstance(ref, str) and ref.strip():
        return ref.strip()
    crs = metadata.get("crs")
    if isinstance(crs, Mapping) and isinstance(crs.get("epsg"), int):
        return f"EPSG:{crs['epsg']}"
    return None


def read_cityjson(
    data: Any,
    source: str,
    *,
    frame: Frame | None = None,
    storey_height: float = DEFAULT_STOREY_HEIGHT,
) -> GeometryImport:
    """The buildings of a decoded CityJSON document, in ``frame``.

    Without a frame (a bare import), the frame is the file's CRS with the data's
    centre rounded to 100 m as x/y offset (z offset 0, heights stay absolute).
    A file without ``referenceSystem`` is taken to be in ``frame``'s CRS.
    """
    if not isinstance(data, Mapping):
        raise ModelError(source, "not a CityJSON file")
    check_version(data, source)
    world = _vertices(data, source)
    source_crs = reference_system(data)
    if source_crs is not None:
        source_crs = canonical_crs(source_crs, f"{source} referenceSystem")
    if frame is None:
        if source_crs is None:
            raise ModelError(
                source, "has no metadata.referenceSystem; import it from a model file with a crs"
            )
        frame = _frame_for(world, source_crs)
    x, y = to_frame(world[:, 0], world[:, 1], source_crs, frame, source)
    local: Vertices = np.asarray(
        np.round(np.column_stack([x, y, world[:, 2] - frame.offset[2]]), DECIMALS), np.float64
    )
    objects = data.get("CityObjects")
    if not isinstance(objects, Mapping):
        raise ModelError(source, "CityObjects must be an object")
    reader = _Reader(objects, local, frame, storey_height, source)
    buildings, skipped = [], Counter[str]()
    for object_id, obj in objects.items():
        kind = obj.get("type") if isinstance(obj, Mapping) else None
        if obj.get("parents") if isinstance(obj, Mapping) else False:
            continue
        if kind in _BUILDINGS:
            buildings.append(reader.building(str(object_id), obj))
        else:
            skipped[str(kind)] += 1
    return GeometryImport(source, source_crs, frame, tuple(buildings), dict(skipped))


def _vertices(data: Mapping[str, Any], source: str) -> Vertices:
    raw = data.get("vertices")
    try:
        vertices = np.asarray(raw if raw else np.empty((0, 3)), dtype=np.float64)
    except (TypeError, ValueError):
        raise ModelError(source, "vertices must be [x, y, z] numbers") from None
    if vertices.ndim != 2 or vertices.shape[1] != 3 or not np.isfinite(vertices).all():
        raise ModelError(source, "vertices must be [x, y, z] numbers")
    transform = data.get("transform")
    if transform is not None:
        try:
            scale = np.asarray(transform["scale"], dtype=np.float64).reshape(3)
            translate = np.asarray(transform["translate"], dtype=np.float64).reshape(3)
        except (KeyError, TypeError, ValueError):
            raise ModelError(source, "transform needs scale and translate of 3 numbers") from None
        vertices = vertices * scale + translate
    return vertices


def _frame_for(world: Vertices, crs: str) -> Frame:
    if len(world) == 0:
        return Frame(crs)
    centre = (world[:, :2].min(axis=0) + world[:, :2].max(axis=0)) / 2
    offset = np.round(centre / 100.0) * 100.0
    return Frame(crs, (float(offset[0]), float(offset[1]), 0.0))


class _Reader:
    """Turns one top-level Building (with its descendants) into a Building."""

    def __init__(
        self,
        objects: Mapping[str, Any],
        local: Vertices,
        frame: Frame,
        storey_height: float,
        source: str,
    ) -> None:
        self.objects = objects
        self.local = local
        self.frame = frame
        self.storey_height = storey_height
        self.source = source

    def building(self, object_id: str, obj: Mapping[str, Any]) -> Building:
        owner = f"building {object_id} ({self.source})"
        family = self._descendants(object_id, obj, owner)
        parts = [(object_id, obj)] + [(i, o) for i, o in family if o.get("type") in _BUILDINGS]
        attributes = obj.get("attributes") or {}
        footprint = self._footprint(parts, owner)
        ground_z, roof_z, flags = self._heights(parts, attributes, owner)
        storey_objects = [(i, o) for i, o in family if o.get("type") == "BuildingStorey"]
        explicit, storey_ids = self._storey_objects(storey_objects, ground_z, owner)
        count = _int_attribute(attributes, "storeysAboveGround")
        below = _int_attribute(attributes, "storeysBelowGround") or 0
        heights = attributes.get("storeyHeightsBelowGround")
        basement = _heights_list(heights, below, self.storey_height)
        storeys = derive_storeys(
            owner,
            ground_z,
            roof_z,
            storey_height=self.storey_height,
            explicit=explicit.values(),
            count=count if not any(s.index > 0 for s in explicit.values()) else None,
            basement_heights=basement if not any(s.index < 0 for s in explicit.values()) else (),
        )
        units = tuple(
            self._unit(i, o, storeys, storey_ids)
            for i, o in family
            if o.get("type") == "BuildingUnit"
        )
        name = attributes.get("name")
        return Building(
            id=object_id,
            name=str(name) if name is not None else None,
            footprint=footprint,
            ground_z=ground_z,
            roof_z=roof_z,
            storeys=storeys,
            units=units,
            flags=flags,
            attributes=dict(attributes),
        )

    def _descendants(
        self, object_id: str, obj: Mapping[str, Any], owner: str
    ) -> list[tuple[str, Mapping[str, Any]]]:
        found: list[tuple[str, Mapping[str, Any]]] = []
        stack, seen = list(obj.get("children") or ()), {object_id}
        while stack:
            child_id = stack.pop(0)
            if child_id in seen:
                continue
            seen.add(child_id)
            child = self.objects.get(child_id)
            if not isinstance(child, Mapping):
                raise ModelError(owner, f"child {child_id!r} is not in CityObjects")
            found.append((str(child_id), child))
            stack.extend(child.get("children") or ())
        return found

    def _footprint(self, parts: list[tuple[str, Mapping[str, Any]]], owner: str) -> Footprint:
        own_lod0 = lod0(parts[0][1])
        polygons = []
        for _, obj in parts[:1] if own_lod0 is not None else parts:
            geometry = lod0(obj)
            if geometry is not None:
                polygons.extend(self._polygons(surfaces(geometry), owner))
                continue
            geometry = lowest_volume(obj)
            if geometry is not None:
                polygons.extend(self._polygons(self._ground_faces(geometry), owner))
        if not polygons:
            raise ModelError(owner, "has no LoD0 footprint and no LoD1/2 geometry to derive one")
        footprint = polygons[0] if len(polygons) == 1 else shapely.union_all(polygons)
        return check_footprint(footprint, owner)

    def _polygons(self, face_list: list[Face], owner: str) -> list[Any]:
        out = []
        for rings in face_list:
            try:
                shell = self.local[rings[0], :2]
                holes = [self.local[r, :2] for r in rings[1:]]
                out.append(shapely.Polygon(shell, holes))
            except (IndexError, ValueError, TypeError) as exc:
                raise ModelError(owner, f"footprint surface is unusable: {exc}") from None
        return out

    def _ground_faces(self, geometry: Mapping[str, Any]) -> list[Face]:
        every = list(faces(geometry))
        ground = [face for face, kind in every if kind == "GroundSurface"]
        if ground or not every:
            return ground
        z = self.local[:, 2]
        lowest = min(float(z[face_indices(face)].min()) for face, _ in every)
        limit = lowest + _GROUND_TOLERANCE
        return [face for face, _ in every if float(z[face_indices(face)].max()) <= limit]

    def _heights(
        self, parts: list[tuple[str, Mapping[str, Any]]], attributes: Mapping[str, Any], owner: str
    ) -> tuple[float, float, tuple[str, ...]]:
        dz = self.frame.offset[2]
        z: npt.NDArray[np.float64] | None = None

        def z_range() -> npt.NDArray[np.float64]:
            nonlocal z
            if z is None:
                index = [
                    i for _, o in parts for g in o.get("geometry") or () for i in vertex_indices(g)
                ]
                z = self.local[np.asarray(index, dtype=np.int64), 2] if index else np.zeros(1)
            return z

        ground = _number(attributes.get("h_maaiveld"))
        ground_z = ground - dz if ground is not None else float(z_range().min())
        measured = _number(attributes.get("measuredHeight"))
        roof = _number(attributes.get("h_dak_max"))
        if measured is not None and measured > 0:
            roof_z = ground_z + measured
        elif roof is not None and roof - dz > ground_z:
            roof_z = roof - dz
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
            attributes = obj.get("attributes") or {}
            vertex_ids = [i for g in obj.get("geometry") or () for i in vertex_indices(g)]
            if vertex_ids:
                zs = self.local[np.asarray(vertex_ids, dtype=np.int64), 2]
                floor, top = float(zs.min()), float(zs.max())
            elif (elevation := _number(attributes.get("elevation"))) is not None:
                floor = elevation - self.frame.offset[2]
                top = floor + (_number(attributes.get("height")) or self.storey_height)
            else:
                raise ModelError(
                    f"BuildingStorey {storey_id} of {owner}",
                    "has no geometry and no 'elevation' attribute; cannot tell its height",
                )
            placed.append((floor, top, storey_id, attributes))
        placed.sort(key=lambda p: (p[0], p[1], p[2]))
        above = [p for p in placed if p[0] >= ground_z - _GROUND_TOLERANCE]
        below = [p for p in placed if p[0] < ground_z - _GROUND_TOLERANCE][::-1]
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
        attributes = obj.get("attributes") or {}
        storey = _int_attribute(attributes, "storey")
        for parent in obj.get("parents") or ():
            if parent in storey_ids:
                storey = storey_ids[parent]
        footprint = None
        volume = lowest_volume(obj) or lod0(obj)
        if volume is not None:
            faces = surfaces(volume) if lod(volume) == 0 else self._ground_faces(volume)
            polygons = self._polygons(faces, owner)
            if polygons:
                footprint = check_footprint(shapely.union_all(polygons), owner)
            if storey is None:
                low = float(self.local[np.asarray(list(vertex_indices(volume))), 2].min()) + 0.01
                storey = next((s.index for s in storeys if s.floor_z <= low < s.top_z), None)
        if storey is None or all(s.index != storey for s in storeys):
            raise ModelError(owner, "cannot tell which storey of its building it is on")
        name = attributes.get("name")
        return Unit(
            unit_id, storey, str(name) if name is not None else None, footprint, dict(attributes)
        )


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if np.isfinite(value) else None


def _int_attribute(attributes: Mapping[str, Any], key: str) -> int | None:
    value = attributes.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        return None
    return int(value)


def _heights_list(value: Any, count: int, default: float) -> list[float]:
    if isinstance(value, list) and value:
        numbers = [float(v) for v in value if isinstance(v, int | float) and v > 0]
        return (numbers + [numbers[-1]] * count)[:count] if numbers else [default] * count
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return [float(value)] * count
    return [default] * count
