"""GeoJSON building files (OSM exports, footprint files) → community buildings.

Polygon/MultiPolygon features in WGS 84 (RFC 7946) unless a legacy ``crs``
member says otherwise; tags are the properties plus GDAL's OSM
``other_tags``. Rules (documented in docs/twin.md):

* A feature is a building when it has a ``building`` or ``building:part``
  tag (not ``no``); without either, a feature carrying another OSM map-feature
  key (``amenity``, ``highway``, ``landuse``, ...) or a geometry that is not a
  polygon is skipped as "not a building" (facilities and paths are read
  elsewhere); a feature with no OSM tags at all (a plain footprint file) is a
  building.
* Height: ``height`` (or ``building:height``; ``"12 m"`` works), else
  ``building:levels`` × storey height, else the default storeys (flag
  ``height_defaulted``). ``min_height`` (or ``building:min_height``) lifts
  the building's base off the ground (a building on stilts, a bridge
  building). ``building:levels:underground`` adds basements.
* A ``building:part`` is merged into the building that holds most of it: the
  building's roof is the highest part's top (its own height, if any, is the
  floor of that), its footprint takes in any part that sticks out, and the
  part ids are listed in the attribute ``building:parts``. A part inside no
  building is a building of its own.
* A feature that cannot be read (broken ring, duplicate id) is skipped with
  its reason, or, with ``strict``, ends the read with its error.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import shapely

from twin.errors import ModelError
from twin.geometry.geojson import (
    DECIMALS,
    HEIGHT_DEFAULTED,
    check_footprint,
    number,
    other_tags,
    polygon_rings,
)
from twin.geometry.import_report import (
    DUPLICATE_ID,
    NO_FOOTPRINT,
    NOT_A_BUILDING,
    GeometryReport,
    ObjectError,
    Skip,
    skip_for,
)
from twin.model.community import Building, Footprint, GeometryImport
from twin.model.crs import Frame, canonical_crs, local_tmerc, parse_crs, to_frame
from twin.model.storeys import DEFAULT_STOREY_COUNT, DEFAULT_STOREY_HEIGHT, derive_storeys

_CRS84 = "OGC:CRS84"
_NO = ("no", "false", "0")
_OSM_FEATURES = frozenset(
    {
        *("aeroway", "amenity", "area", "barrier", "boundary", "craft", "emergency"),
        *("footway", "healthcare", "highway", "historic", "landuse", "leisure", "man_made"),
        *("natural", "office", "parking", "place", "power", "public_transport", "railway"),
        *("route", "shop", "sport", "tourism", "water", "waterway", "wetland"),
    }
)
_PART_INSIDE = 0.5  # a part belongs to the building holding at least this share of it
_STICKS_OUT = 0.01  # share of a part outside its building above which the footprint grows


@dataclass(frozen=True, slots=True)
class _Feature:
    id: str
    polygons: list[list[np.ndarray[Any, Any]]]
    properties: dict[str, Any]
    tags: dict[str, Any]
    is_part: bool


def read_geojson_report(
    data: Any,
    source: str,
    *,
    frame: Frame | None = None,
    storey_height: float = DEFAULT_STOREY_HEIGHT,
    strict: bool = False,
) -> GeometryReport:
    """Buildings of a GeoJSON FeatureCollection, in ``frame`` (or a new local frame).

    Without a frame, a transverse Mercator frame is centred on the data (offset
    0), or, for a projected metric source CRS, that CRS with the data's
    centre rounded to 100 m as offset.
    """
    if not isinstance(data, Mapping) or data.get("type") not in ("FeatureCollection", "Feature"):
        raise ModelError(source, "not a GeoJSON FeatureCollection")
    features = data.get("features") if data["type"] == "FeatureCollection" else [data]
    if not isinstance(features, list):
        raise ModelError(source, "'features' must be a list")
    if not features:
        raise ModelError(source, "has no features")
    source_crs = _source_crs(data, source)
    stem = Path(source).name.split(".")[0]
    parsed: list[_Feature] = []
    skips: list[Skip] = []
    seen: set[str] = set()
    for index, raw in enumerate(features):
        try:
            feature = _feature(raw, index, source, stem)
            if feature is None:
                continue
            if feature.id in seen:
                raise ObjectError(
                    f"building {feature.id} ({source})",
                    DUPLICATE_ID,
                    "duplicate building id in this file",
                )
            seen.add(feature.id)
            parsed.append(feature)
        except ModelError as exc:
            if isinstance(exc, ObjectError) and exc.reason == NOT_A_BUILDING:
                skips.append(Skip(_raw_id(raw, index, stem), "Feature", NOT_A_BUILDING, exc.detail))
                continue
            if strict:
                raise
            skips.append(skip_for(_raw_id(raw, index, stem), "Feature", exc))
    if frame is None:
        rings = [ring for f in parsed for poly in f.polygons for ring in poly]
        if not rings:
            found = GeometryImport(source, source_crs, Frame(_CRS84), ())
            return GeometryReport(found, tuple(skips))
        frame = _frame_for(np.concatenate(rings), source_crs, source)
    footprints: dict[str, Footprint] = {}
    for feature, footprint in zip(
        parsed, _footprints(parsed, source_crs, frame, source), strict=True
    ):
        if isinstance(footprint, ModelError):
            if strict:
                raise footprint
            skips.append(skip_for(feature.id, "Feature", footprint))
        else:
            footprints[feature.id] = footprint
    usable = [f for f in parsed if f.id in footprints]
    buildings = _merge_parts(usable, footprints, frame, storey_height)
    return GeometryReport(GeometryImport(source, source_crs, frame, tuple(buildings)), tuple(skips))


def read_geojson_buildings(
    data: Any,
    source: str,
    *,
    frame: Frame | None = None,
    storey_height: float = DEFAULT_STOREY_HEIGHT,
) -> GeometryImport:
    """Buildings of a GeoJSON FeatureCollection, in ``frame`` (or a new local frame).

    Any feature that cannot be read is an error; :func:`read_geojson_report`
    skips and reports them instead (rules there).
    """
    report = read_geojson_report(
        data, source, frame=frame, storey_height=storey_height, strict=True
    )
    return report.found


def _source_crs(data: Mapping[str, Any], source: str) -> str:
    crs = data.get("crs")
    if crs is None:
        return _CRS84
    name = crs.get("properties", {}).get("name") if isinstance(crs, Mapping) else None
    parse_crs(name, f"{source} crs")
    return str(name)


def _frame_for(xy: np.ndarray[Any, Any], source_crs: str, source: str) -> Frame:
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    centre = (lo + hi) / 2
    crs = parse_crs(source_crs, source)
    if crs.is_geographic:
        return Frame(local_tmerc(float(centre[0]), float(centre[1])))
    offset = np.round(centre / 100.0) * 100.0
    return Frame(canonical_crs(source_crs, source), (float(offset[0]), float(offset[1]), 0.0))


def _feature(feature: Any, index: int, source: str, stem: str) -> _Feature | None:
    if not isinstance(feature, Mapping):
        raise ModelError(f"feature {index} ({source})", "is not a GeoJSON Feature")
    properties = feature.get("properties") or {}
    if not isinstance(properties, Mapping):
        raise ModelError(f"feature {index} ({source})", "properties must be an object")
    properties = {k: v for k, v in properties.items() if v is not None}
    tags = {**other_tags(properties), **{k: v for k, v in properties.items() if k != "other_tags"}}
    building_id = _feature_id(feature, properties, index, stem)
    owner = f"building {building_id} ({source})"
    building = str(tags.get("building", "")).strip().lower()
    part = str(tags.get("building:part", "")).strip().lower()
    is_building = bool(building) and building not in _NO
    is_part = not is_building and bool(part) and part not in _NO
    geometry = feature.get("geometry")
    kind = geometry.get("type") if isinstance(geometry, Mapping) else None
    if not (is_building or is_part):
        if building in _NO or _OSM_FEATURES & tags.keys():
            keys = sorted(_OSM_FEATURES & tags.keys()) or ["building=no"]
            raise ObjectError(owner, NOT_A_BUILDING, f"tagged {', '.join(keys)}")
        if geometry is not None and kind not in ("Polygon", "MultiPolygon"):
            raise ObjectError(owner, NOT_A_BUILDING, f"a {kind} has no footprint")
    if geometry is None:
        raise ObjectError(owner, NO_FOOTPRINT, "feature has no geometry")
    polygons = polygon_rings(geometry, owner)
    return _Feature(building_id, polygons, properties, tags, is_part)


def _raw_id(feature: Any, index: int, stem: str) -> str:
    if not isinstance(feature, Mapping):
        return f"{stem}-{index}"
    properties = feature.get("properties")
    return _feature_id(feature, properties if isinstance(properties, Mapping) else {}, index, stem)


def _feature_id(
    feature: Mapping[str, Any], properties: Mapping[str, Any], index: int, stem: str
) -> str:
    for value, prefix in (
        (feature.get("id"), ""),
        (properties.get("id"), ""),
        (properties.get("osm_id"), "osm-"),
        (properties.get("osm_way_id"), "osm-way-"),
    ):
        if value is not None and str(value).strip():
            return f"{prefix}{str(value).strip()}"
    return f"{stem}-{index}"


def _footprints(
    parsed: list[_Feature], source_crs: str, frame: Frame, source: str
) -> list[Footprint | ModelError]:
    """Every feature's footprint in the frame: one reprojection for all positions."""
    if not parsed:
        return []
    all_xy = np.concatenate([ring for f in parsed for poly in f.polygons for ring in poly])
    x, y = to_frame(all_xy[:, 0], all_xy[:, 1], source_crs, frame, source)
    local = np.round(np.column_stack([x, y]), DECIMALS)
    out: list[Footprint | ModelError] = []
    start = 0
    for feature in parsed:
        parts = []
        for poly in feature.polygons:
            rings = []
            for ring in poly:
                rings.append(local[start : start + len(ring)])
                start += len(ring)
            parts.append(shapely.Polygon(rings[0], rings[1:]))
        geometry = parts[0] if len(parts) == 1 else shapely.MultiPolygon(parts)
        try:
            out.append(check_footprint(geometry, f"building {feature.id} ({source})"))
        except ModelError as exc:
            out.append(exc)
    return out


def _merge_parts(
    features: list[_Feature],
    footprints: Mapping[str, Footprint],
    frame: Frame,
    storey_height: float,
) -> list[Building]:
    """Buildings, each with the ``building:part`` features that lie in it merged in."""
    outlines = [f for f in features if not f.is_part]
    tree = shapely.STRtree([footprints[f.id] for f in outlines])
    parts_of: dict[str, list[_Feature]] = {}
    alone: list[_Feature] = []
    for part in (f for f in features if f.is_part):
        shape = footprints[part.id]
        best, share = None, 0.0
        for i in tree.query(shape, predicate="intersects"):
            inside = shapely.intersection(footprints[outlines[i].id], shape).area / shape.area
            if inside > share:
                best, share = outlines[int(i)], inside
        if best is not None and share >= _PART_INSIDE:
            parts_of.setdefault(best.id, []).append(part)
        else:
            alone.append(part)
    buildings = []
    for feature in [*outlines, *alone]:
        building = _building(feature, footprints[feature.id], frame, storey_height)
        parts = parts_of.get(feature.id, [])
        if parts:
            building = _with_parts(
                building, feature, parts, footprints, frame=frame, storey_height=storey_height
            )
        buildings.append(building)
    return buildings


def _with_parts(
    building: Building,
    feature: _Feature,
    parts: list[_Feature],
    footprints: Mapping[str, Footprint],
    *,
    frame: Frame,
    storey_height: float,
) -> Building:
    footprint = building.footprint
    for part in parts:
        shape = footprints[part.id]
        if shapely.difference(shape, footprint).area > _STICKS_OUT * shape.area:
            footprint = check_footprint(shapely.union(footprint, shape), f"building {feature.id}")
    tops = [_building(p, footprints[p.id], frame, storey_height) for p in parts]
    measured = [
        t.roof_z for t, p in zip(tops, parts, strict=True) if _height(p.tags)[0] is not None
    ]
    own = building.roof_z if HEIGHT_DEFAULTED not in building.flags else None
    roof_z = max([*measured, *([own] if own is not None else [])], default=building.roof_z)
    flags = building.flags if own is not None or not measured else ()
    attributes = {**building.attributes, "building:parts": [p.id for p in parts]}
    merged = replace(feature, tags={**feature.tags, "height": roof_z + frame.offset[2]})
    rebuilt = _building(merged, footprint, frame, storey_height)
    return replace(rebuilt, flags=flags, attributes=attributes)


def _height(tags: Mapping[str, Any]) -> tuple[float | None, float]:
    """The feature's top above the ground (None: not given) and its base (``min_height``)."""
    height = number(tags.get("height", tags.get("building:height")))
    base = number(tags.get("min_height", tags.get("building:min_height"))) or 0.0
    if height is None or height <= 0:
        return None, 0.0
    return height, base if 0 < base < height else 0.0


def _building(
    feature: _Feature, footprint: Footprint, frame: Frame, storey_height: float
) -> Building:
    tags = feature.tags
    height, base = _height(tags)
    levels = number(tags.get("building:levels"))
    underground = number(tags.get("building:levels:underground"))
    count = int(levels) if levels is not None and levels >= 1 else None
    flags: tuple[str, ...] = ()
    if height is None:
        height = (count or DEFAULT_STOREY_COUNT) * storey_height
        flags = (HEIGHT_DEFAULTED,)
    ground_z = base - frame.offset[2]
    top_z = 0.0 - frame.offset[2] + height
    owner = f"building {feature.id}"
    basements = [storey_height] * int(underground) if underground and underground >= 1 else []
    storeys = derive_storeys(
        owner,
        ground_z,
        top_z,
        storey_height=storey_height,
        count=count,
        basement_heights=basements,
    )
    name = feature.properties.get("name")
    return Building(
        id=feature.id,
        name=str(name) if name is not None else None,
        footprint=footprint,
        ground_z=ground_z,
        roof_z=top_z,
        storeys=storeys,
        flags=flags,
        attributes=feature.properties,
    )
