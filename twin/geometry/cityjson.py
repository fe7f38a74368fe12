"""CityJSON 1.0, 1.1 and 2.0 buildings → community buildings.

Why not cjio for reading: importing ``cjio.cityjson`` replaces the standard
library's C JSON encoder process-wide (``json.encoder.c_make_encoder = None``),
which makes every later ``json.dumps`` in the API or ingest about 3x slower,
and its CRS reader rejects the ``urn:ogc:def:crs:EPSG::7415`` form of CityJSON
1.0. What we need is small and hot: decode with orjson, apply ``transform`` to
all vertices at once with numpy, then build one footprint per building
(``twin/geometry/cityjson_building.py``).

Every top-level ``Building`` (and a ``BuildingPart`` without a parent in the
file) is one building; its ``BuildingPart`` descendants belong to it. Other
top-level object types are skipped as "not a building" and counted by type.
A building that cannot be read is skipped with its reason
(``twin.geometry.import_report``), or, with ``strict``, ends the read with its error.
CityJSON Text Sequences: ``twin/geometry/cityjson_seq.py``, same rules, a feature at a time.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass
from itertools import chain
from typing import Any

import numpy as np
import numpy.typing as npt

from twin.errors import ModelError
from twin.geometry.cityjson_building import BUILDING_TYPES, BuildingReader
from twin.geometry.cityjson_pending import Pending, Placed, finish
from twin.geometry.cityjson_surfaces import check_geometries, geometries
from twin.geometry.geojson import DECIMALS
from twin.geometry.import_report import (
    INVALID_OBJECT,
    NOT_A_BUILDING,
    GeometryReport,
    ObjectError,
    Skip,
    skip_for,
)
from twin.model.community import Building, GeometryImport
from twin.model.crs import Frame, canonical_crs, to_frame
from twin.model.storeys import DEFAULT_STOREY_HEIGHT

SUPPORTED_VERSIONS = ("1.0", "1.1", "2.0")
_VERSION = re.compile(r"^(\d+)\.(\d+)(?:\.\d+)?$")
Vertices = npt.NDArray[np.float64]


def check_version(data: Mapping[str, Any], source: str, kind: str = "CityJSON") -> str:
    """The file's CityJSON version if supported, else a ModelError.

    >>> check_version({"type": "CityJSON", "version": "0.9"}, "a.city.json")
    Traceback (most recent call last):
    twin.errors.ModelError: a.city.json: CityJSON version '0.9' is not supported (supported: ...)
    """
    if data.get("type") != kind:
        raise ModelError(source, f"not a CityJSON file (type must be {kind!r})")
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
    """The buildings of a decoded CityJSON document, in ``frame``; any bad building is an error.

    Without a frame (a bare import), the frame is the file's CRS with the data's
    centre rounded to 100 m as x/y offset (z offset 0, heights stay absolute).
    A file without ``referenceSystem`` is taken to be in ``frame``'s CRS.
    """
    return read_cityjson_report(
        data, source, frame=frame, storey_height=storey_height, strict=True
    ).found


def read_cityjson_report(
    data: Any,
    source: str,
    *,
    frame: Frame | None = None,
    storey_height: float = DEFAULT_STOREY_HEIGHT,
    strict: bool = False,
    crs: str | None = None,
) -> GeometryReport:
    """:func:`read_cityjson` that skips (and reports) what it cannot read, unless ``strict``.

    ``crs`` stands in for a missing ``metadata.referenceSystem``.
    """
    if not isinstance(data, Mapping):
        raise ModelError(source, "not a CityJSON file")
    header = Header.of(data, source, crs)
    world = header.world(data.get("vertices"), source)
    if frame is None:
        frame = header.frame_for(world, source)
    objects = data.get("CityObjects")
    if not isinstance(objects, Mapping):
        raise ModelError(source, "CityObjects must be an object")
    batch = Batch.empty()
    pending = header.collect(
        objects,
        world,
        batch,
        frame=frame,
        storey_height=storey_height,
        source=source,
        strict=strict,
    )
    settle(pending, batch, strict=strict, source=source)
    batch.sort_skips(str(k) for k in objects)
    return batch.report(source, header.source_crs, frame)


@dataclass(slots=True)
class Batch:
    """Buildings and skips gathered so far (one file, or a stream of features)."""

    buildings: list[Building]
    skips: list[Skip]
    skipped: Counter[str]

    @classmethod
    def empty(cls) -> Batch:
        return cls([], [], Counter())

    def sort_skips(self, object_ids: Iterable[str]) -> None:
        """Skips in the file's order of ``object_ids`` (others last)."""
        order = {oid: i for i, oid in enumerate(object_ids)}
        self.skips.sort(key=lambda s: order.get(s.object_id, len(order)))

    def extend(self, other: Batch) -> None:
        self.buildings.extend(other.buildings)
        self.skips.extend(other.skips)
        self.skipped.update(other.skipped)

    def report(self, source: str, source_crs: str | None, frame: Frame) -> GeometryReport:
        found = GeometryImport(source, source_crs, frame, tuple(self.buildings), dict(self.skipped))
        return GeometryReport(found, tuple(self.skips))


@dataclass(frozen=True, slots=True)
class Header:
    """What a document (or a CityJSONSeq's first line) says about all its objects."""

    source_crs: str | None
    scale: Vertices | None
    translate: Vertices | None
    templates: tuple[Mapping[str, Any], ...]
    template_vertices: Vertices

    @classmethod
    def of(cls, data: Mapping[str, Any], source: str, crs: str | None = None) -> Header:
        check_version(data, source)
        source_crs = reference_system(data) or crs
        if source_crs is not None:
            source_crs = canonical_crs(source_crs, f"{source} referenceSystem")
        scale = translate = None
        transform = data.get("transform")
        if transform is not None:
            try:
                scale = np.asarray(transform["scale"], dtype=np.float64).reshape(3)
                translate = np.asarray(transform["translate"], dtype=np.float64).reshape(3)
            except (KeyError, TypeError, ValueError):
                raise ModelError(
                    source, "transform needs scale and translate of 3 numbers"
                ) from None
        templates: tuple[Mapping[str, Any], ...] = ()
        template_vertices: Vertices = np.empty((0, 3))
        block = data.get("geometry-templates")
        if isinstance(block, Mapping):
            found = block.get("templates")
            templates = (
                tuple(t for t in found if isinstance(t, Mapping)) if isinstance(found, list) else ()
            )
            try:
                template_vertices = _xyz(block.get("vertices-templates") or [])
            except ModelError:
                templates = ()  # unusable templates: their instances are left out
        return cls(source_crs, scale, translate, templates, template_vertices)

    def world(self, raw: Any, source: str) -> Vertices:
        """The vertices in the source CRS (``transform`` applied)."""
        return self.placed(_xyz(raw if raw else [], source))

    def placed(self, vertices: Vertices) -> Vertices:
        """Stored vertices (n × 3) in the source CRS: ``transform`` applied."""
        if self.scale is not None and self.translate is not None:
            vertices = vertices * self.scale + self.translate
        return vertices

    def frame_for(self, world: Vertices, source: str) -> Frame:
        if self.source_crs is None:
            raise ModelError(
                source,
                "has no metadata.referenceSystem; import it with --crs, or from a "
                "model file with a crs",
            )
        if len(world) == 0:
            return Frame(self.source_crs)
        centre = (world[:, :2].min(axis=0) + world[:, :2].max(axis=0)) / 2
        offset = np.round(centre / 100.0) * 100.0
        return Frame(self.source_crs, (float(offset[0]), float(offset[1]), 0.0))

    def to_local(self, world: Vertices, frame: Frame, source: str) -> Vertices:
        if len(world) == 0:
            return np.empty((0, 3))
        x, y = to_frame(world[:, 0], world[:, 1], self.source_crs, frame, source)
        local = np.column_stack([x, y, world[:, 2] - frame.offset[2]])
        return np.asarray(np.round(local, DECIMALS), np.float64)

    def collect(
        self,
        objects: Mapping[str, Any],
        world: Vertices,
        batch: Batch,
        *,
        frame: Frame,
        storey_height: float,
        source: str,
        strict: bool,
        roots: Container[str] | None = None,
        local: Vertices | None = None,
    ) -> list[Pending]:
        """Every top-level building of ``objects`` (vertices ``world``) but for its footprint.

        Objects that are not buildings, or cannot be read, go to ``batch.skips``.
        ``roots`` names the top-level objects when ``objects`` is a piece of a
        file (``twin.geometry.cityjson_document``): their parents may be elsewhere.
        ``local`` is ``world`` already in ``frame``, when the caller has it.
        """
        if local is None:
            local = self.to_local(world, frame, source)

        def instance(geometry: Mapping[str, Any], owner: str) -> Placed | None:
            return self._instance(geometry, world, frame, owner)

        reader = BuildingReader(
            objects, local, frame.offset[2], storey_height, source=source, instance=instance
        )
        pending: list[Pending] = []
        tops: list[tuple[str, Mapping[str, Any], list[tuple[str, Mapping[str, Any]]]]] = []
        for object_id, obj in objects.items():
            oid = str(object_id)
            if roots is not None and oid not in roots:
                continue
            if not isinstance(obj, Mapping):
                error = ObjectError(f"object {oid} ({source})", INVALID_OBJECT, "not a JSON object")
                if strict:
                    raise error
                batch.skips.append(skip_for(oid, None, error))
                continue
            kind = obj.get("type")
            parents = obj.get("parents")
            if (
                roots is None
                and isinstance(parents, list)
                and any(isinstance(p, str) and p in objects for p in parents)
            ):
                continue
            if kind not in BUILDING_TYPES:
                batch.skipped[str(kind)] += 1
                batch.skips.append(Skip(oid, str(kind), NOT_A_BUILDING))
                continue
            try:
                tops.append((oid, obj, reader.family(oid, obj)))
            except ModelError as exc:
                if strict:
                    raise
                batch.skips.append(skip_for(oid, str(kind), exc))
        checks = check_geometries(
            [
                [g for _, o in [("", obj), *family] for g in geometries(o)]
                for _, obj, family in tops
            ],
            len(local),
            [reader.owner(oid) for oid, _, _ in tops],
        )
        for (oid, obj, family), problem in zip(tops, checks, strict=True):
            kind = str(obj.get("type"))
            try:
                if problem is not None:
                    raise problem
                pending.append(reader.building(oid, obj, family))
            except ModelError as exc:
                if strict:
                    raise
                batch.skips.append(skip_for(oid, kind, exc))
            except _UNFORESEEN as exc:
                error = _unforeseen(oid, source, exc)
                if strict:
                    raise error from None
                batch.skips.append(skip_for(oid, kind, error))
        return pending

    def _instance(
        self, geometry: Mapping[str, Any], world: Vertices, frame: Frame, owner: str
    ) -> Placed | None:
        """A GeometryInstance's template placed at its reference vertex, in local metres."""
        number = geometry.get("template")
        boundaries = geometry.get("boundaries")
        if (
            not isinstance(number, int)
            or not 0 <= number < len(self.templates)
            or not isinstance(boundaries, list)
            or len(boundaries) != 1
            or not isinstance(boundaries[0], int)
            or not 0 <= boundaries[0] < len(world)
        ):
            return None
        try:
            matrix = np.asarray(
                geometry.get("transformationMatrix", np.eye(4).ravel()), np.float64
            ).reshape(4, 4)
        except (TypeError, ValueError):
            return None
        template = self.templates[number]
        points = self.template_vertices
        placed = points @ matrix[:3, :3].T + matrix[:3, 3] + world[boundaries[0]]
        return template, self.to_local(placed, frame, owner)


def _xyz(raw: Any, source: str = "geometry-templates") -> Vertices:
    if not isinstance(raw, list):
        raise ModelError(source, "vertices must be a list of [x, y, z] numbers")
    if not raw:
        return np.empty((0, 3))
    try:
        # fromiter over the flattened list: several times faster than asarray on
        # a million small lists (a 10,000-building city).
        if set(map(len, raw)) != {3}:
            raise ValueError
        flat = np.fromiter(chain.from_iterable(raw), dtype=np.float64, count=3 * len(raw))
    except (TypeError, ValueError):
        raise ModelError(source, "vertices must be [x, y, z] numbers") from None
    if not np.isfinite(flat).all():
        raise ModelError(source, "vertices must be [x, y, z] numbers")
    return flat.reshape(-1, 3)


_UNFORESEEN = (TypeError, ValueError, KeyError, IndexError, AttributeError)
"""Shapes no rule foresaw (an attribute that is a list, a number where a list
belongs): that object is unreadable, the file is not."""


def _unforeseen(object_id: str, source: str, exc: Exception) -> ObjectError:
    return ObjectError(
        f"building {object_id} ({source})", INVALID_OBJECT, f"{type(exc).__name__}: {exc}"
    )


def settle(pending: list[Pending], batch: Batch, *, strict: bool, source: str) -> None:
    """Give the collected buildings their footprints (in bulk) and add them to ``batch``."""
    try:
        finished = finish(pending)
    except _UNFORESEEN:
        # One building's shapes broke the bulk step: redo them one by one to find it.
        finished = [_finish_one(p, source) for p in pending]
    for p, result in zip(pending, finished, strict=True):
        if isinstance(result, ModelError):
            if strict:
                raise result
            batch.skips.append(skip_for(p.building.id, p.kind, result))
        else:
            batch.buildings.append(result)
            batch.skips.extend(p.unit_skips)


def _finish_one(pending: Pending, source: str) -> Building | ModelError:
    try:
        return finish([pending])[0]
    except _UNFORESEEN as exc:
        return _unforeseen(pending.building.id, source, exc)
