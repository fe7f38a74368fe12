"""Facilities, walking paths and entrances from a GeoJSON file with OSM tags.

Each feature's tags are its ``properties`` (a nested ``tags`` object and
GDAL's ``other_tags`` string are read too):

* Point / Polygon / MultiPolygon whose tags map to a facility type
  (:func:`twin.model.facilities.facility_type_from_tags`) → a facility;
* LineString / MultiLineString that :func:`twin.model.walk_network.is_walkable`
  → a walking path (``kind`` = its ``highway`` value);
* Point tagged ``entrance=*`` (or ``door=*``) → an entrance of the building
  whose footprint lies within :data:`ENTRANCE_TOLERANCE_M` of it.

Everything else (buildings, roads for cars, shops commtwin does not map) is
counted in ``skipped``. Coordinates are WGS 84 unless a legacy ``crs`` member
names another CRS; they are converted into the community frame.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely

from twin.errors import ModelError
from twin.model.community import Building
from twin.model.crs import Frame, parse_crs, to_frame
from twin.model.facilities import Facility, facility_type_from_tags, geometry_from_json
from twin.model.walk_network import Entrance, WalkPath, is_walkable

ENTRANCE_TOLERANCE_M = 2.0
_CRS84 = "OGC:CRS84"
_OTHER_TAG = re.compile(r'"([^"]+)"=>"([^"]*)"')
_GEOMETRIES = ("Point", "Polygon", "MultiPolygon", "LineString", "MultiLineString")


@dataclass(frozen=True, slots=True)
class ServiceImport:
    source: str
    facilities: tuple[Facility, ...]
    paths: tuple[WalkPath, ...]
    entrance_points: tuple[tuple[float, float], ...]
    skipped: Mapping[str, int] = field(default_factory=dict)


def feature_tags(properties: Mapping[str, Any]) -> dict[str, Any]:
    """OSM tags of a feature: GDAL ``other_tags``, a nested ``tags``, then the properties.

    >>> feature_tags({"other_tags": '"shop"=>"supermarket"', "name": "A"})
    {'shop': 'supermarket', 'name': 'A'}
    """
    tags: dict[str, Any] = dict(_OTHER_TAG.findall(str(properties.get("other_tags", ""))))
    nested = properties.get("tags")
    if isinstance(nested, Mapping):
        tags.update(nested)
    tags.update({k: v for k, v in properties.items() if k not in ("other_tags", "tags")})
    return {k: v for k, v in tags.items() if v is not None and not _is_nan(v)}


def _is_nan(value: Any) -> bool:
    # Tables exported to GeoJSON (pandas, GDAL) write missing tags as NaN.
    return isinstance(value, float) and value != value  # noqa: PLR0124


def read_service_geojson(data: Any, source: str, frame: Frame) -> ServiceImport:
    """Facilities, paths and entrance points of a decoded GeoJSON document (see module)."""
    if not isinstance(data, Mapping) or data.get("type") not in ("FeatureCollection", "Feature"):
        raise ModelError(source, "not a GeoJSON FeatureCollection")
    features = data.get("features") if data["type"] == "FeatureCollection" else [data]
    if not isinstance(features, list):
        raise ModelError(source, "'features' must be a list")
    source_crs = _source_crs(data, source)
    stem = source.rsplit("/", 1)[-1].split(".", maxsplit=1)[0]
    skipped: dict[str, int] = {}
    kept: list[tuple[str, str, Any, dict[str, Any]]] = []  # (role, id, geometry, tags)
    for index, feature in enumerate(features):
        where = f"feature {index} ({source})"
        if not isinstance(feature, Mapping):
            raise ModelError(where, "is not a GeoJSON Feature")
        props = feature.get("properties") or {}
        if not isinstance(props, Mapping):
            raise ModelError(where, "properties must be an object")
        tags = feature_tags(props)
        raw = feature.get("geometry")
        kind = raw.get("type") if isinstance(raw, Mapping) else None
        role = _role(kind, tags)
        if role is None:
            skipped[str(kind)] = skipped.get(str(kind), 0) + 1
            continue
        fid = _feature_id(feature, props, stem, index)
        kept.append((role, fid, geometry_from_json(raw, where, _GEOMETRIES), tags))
    if not kept:
        return ServiceImport(source, (), (), (), skipped)
    local = _to_local(np.array([g for _, _, g, _ in kept], dtype=object), source_crs, frame, source)
    facilities, paths, entrances = [], [], []
    seen: set[str] = set()
    for (role, fid, _, tags), geom in zip(kept, local, strict=True):
        if role == "entrance":
            entrances.append((float(geom.x), float(geom.y)))
            continue
        oid = fid if fid not in seen else f"{fid}-{len(seen)}"
        seen.add(oid)
        if role == "path":
            paths.append(WalkPath(oid, geom, str(tags.get("highway") or "path")))
        else:
            shape = geom
            if shape.geom_type != "Point" and not shapely.is_valid(shape):
                shape = shapely.make_valid(shape)
            name = tags.get("name")
            facilities.append(
                Facility(oid, role, shape, str(name) if name is not None else None, {})
            )
    return ServiceImport(source, tuple(facilities), tuple(paths), tuple(entrances), skipped)


def entrances_of(
    points: Sequence[tuple[float, float]], buildings: Sequence[Building]
) -> tuple[Entrance, ...]:
    """Entrance points assigned to the building within the tolerance (nearest; else dropped)."""
    if not points or not buildings:
        return ()
    tree = shapely.STRtree([b.footprint for b in buildings])
    geoms = shapely.points(np.array(points))
    pairs, dist = tree.query_nearest(
        geoms, max_distance=ENTRANCE_TOLERANCE_M, return_distance=True, all_matches=False
    )
    del dist
    return tuple(
        Entrance(buildings[int(b)].id, points[int(p)][0], points[int(p)][1])
        for p, b in zip(pairs[0], pairs[1], strict=True)
    )


def _role(kind: Any, tags: Mapping[str, Any]) -> str | None:
    if kind in ("LineString", "MultiLineString"):
        return "path" if is_walkable(tags) else None
    if kind == "Point" and (tags.get("entrance") or tags.get("door")):
        return "entrance"
    if kind in ("Point", "Polygon", "MultiPolygon"):
        return facility_type_from_tags(tags)
    return None


def _feature_id(feature: Mapping[str, Any], props: Mapping[str, Any], stem: str, i: int) -> str:
    for value in (feature.get("id"), props.get("id"), props.get("osm_id")):
        if isinstance(value, str | int) and not isinstance(value, bool):
            text = re.sub(r"[\s/+#]", "-", str(value))
            if text:
                return text if not isinstance(value, int) else f"osm-{text}"
    return f"{stem}-{i}"


def _source_crs(data: Mapping[str, Any], source: str) -> str:
    crs = data.get("crs")
    if crs is None:
        return _CRS84
    name = crs.get("properties", {}).get("name") if isinstance(crs, Mapping) else None
    parse_crs(name, f"{source} crs")
    return str(name)


def _to_local(geoms: Any, source_crs: str, frame: Frame, source: str) -> Any:
    def convert(xy: Any) -> Any:
        x, y = to_frame(xy[:, 0].copy(), xy[:, 1].copy(), source_crs, frame, source)
        return np.round(np.column_stack([x, y]), 3)

    return shapely.transform(shapely.force_2d(geoms), convert)
