"""GeoJSON: footprint polygons, and building footprint files (OSM exports).

Footprints in the model file and in the database are GeoJSON Polygon or
MultiPolygon objects in local metres; :func:`footprint_from_geojson` checks them
(closed rings, at least four positions, finite numbers, non-empty, valid) and
names the object when they are not.

A GeoJSON building file has Polygon/MultiPolygon features with optional
``height`` (metres, also ``building:height``), ``building:levels`` and
``building:levels:underground`` properties (also read from GDAL's OSM
``other_tags``). It is in WGS 84 (RFC 7946) unless a legacy ``crs`` member
says otherwise. A building without a usable height is ``levels ×
storey_height`` high, or :data:`~twin.storeys.DEFAULT_STOREY_COUNT` storeys
when it has no levels either, and is flagged ``height_defaulted``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import shapely

from twin.crs import Frame, canonical_crs, local_tmerc, parse_crs, to_frame
from twin.errors import ModelError
from twin.model import Building, Footprint, GeometryImport
from twin.storeys import DEFAULT_STOREY_COUNT, DEFAULT_STOREY_HEIGHT, derive_storeys

DECIMALS = 6  # local coordinates are rounded to the micrometre: drops float noise
HEIGHT_DEFAULTED = "height_defaulted"
_CRS84 = "OGC:CRS84"
_OTHER_TAG = re.compile(r'"([^"]+)"=>"([^"]*)"')
_NUMBER = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*(?:m|metres|meters)?\s*$")


def footprint_from_geojson(obj: Any, owner: str) -> Footprint:
    """A checked shapely Polygon/MultiPolygon from a GeoJSON geometry object.

    >>> footprint_from_geojson({"type": "Polygon", "coordinates": [[[0, 0], [4, 0], [4, 3]]]},
    ...                        "building b1")
    Traceback (most recent call last):
    twin.errors.ModelError: building b1: footprint ring 0 has 3 positions; a closed ring needs 4
    """
    polygons = _polygon_coordinates(obj, owner)
    parts = [_polygon(rings, owner) for rings in polygons]
    geometry = parts[0] if obj["type"] == "Polygon" else shapely.MultiPolygon(parts)
    return check_footprint(geometry, owner)


def check_footprint(geometry: Footprint, owner: str) -> Footprint:
    """``geometry`` if it is a non-empty valid (Multi)Polygon, else a ModelError.

    >>> check_footprint(shapely.Polygon([(0, 0), (1, 1), (1, 0), (0, 1)]), "grid g")
    Traceback (most recent call last):
    twin.errors.ModelError: grid g: footprint is invalid: Self-intersection[0.5 0.5]
    """
    if geometry is None or geometry.is_empty:
        raise ModelError(owner, "footprint is empty")
    if geometry.geom_type not in ("Polygon", "MultiPolygon"):
        raise ModelError(
            owner, f"footprint must be a Polygon or MultiPolygon, not {geometry.geom_type}"
        )
    if not shapely.is_valid(geometry):
        raise ModelError(owner, f"footprint is invalid: {shapely.is_valid_reason(geometry)}")
    if geometry.area <= 0:
        raise ModelError(owner, "footprint has no area")
    return geometry


def footprint_to_geojson(geometry: Footprint) -> dict[str, Any]:
    """The GeoJSON object of a footprint, 2D coordinates as lists.

    >>> footprint_to_geojson(shapely.box(0, 0, 2, 1))["coordinates"]
    [[[2.0, 0.0], [2.0, 1.0], [0.0, 1.0], [0.0, 0.0], [2.0, 0.0]]]
    """

    def rings(polygon: Any) -> list[list[list[float]]]:
        out = [shapely.get_coordinates(polygon.exterior).tolist()]
        out.extend(shapely.get_coordinates(r).tolist() for r in polygon.interiors)
        return out

    if geometry.geom_type == "Polygon":
        return {"type": "Polygon", "coordinates": rings(geometry)}
    return {"type": "MultiPolygon", "coordinates": [rings(p) for p in geometry.geoms]}


def _polygon_coordinates(obj: Any, owner: str) -> list[Any]:
    if not isinstance(obj, Mapping) or obj.get("type") not in ("Polygon", "MultiPolygon"):
        raise ModelError(owner, "footprint must be a GeoJSON Polygon or MultiPolygon object")
    coordinates = obj.get("coordinates")
    if not isinstance(coordinates, list) or not coordinates:
        raise ModelError(owner, "footprint is empty")
    return [coordinates] if obj["type"] == "Polygon" else coordinates


def _polygon(rings: Any, owner: str) -> Any:
    if not isinstance(rings, list) or not rings:
        raise ModelError(owner, "footprint is empty")
    arrays = [ring_array(ring, owner, i) for i, ring in enumerate(rings)]
    return shapely.Polygon(arrays[0], arrays[1:])


def ring_array(ring: Any, owner: str, number: int) -> np.ndarray[Any, np.dtype[np.float64]]:
    """One GeoJSON linear ring as an (n, 2) array: closed, ≥ 4 finite positions."""
    if not isinstance(ring, list):
        raise ModelError(owner, f"footprint ring {number} is not a list of positions")
    if len(ring) < 4:
        raise ModelError(
            owner, f"footprint ring {number} has {len(ring)} positions; a closed ring needs 4"
        )
    try:
        array = np.array([p[:2] for p in ring], dtype=np.float64)
    except (TypeError, ValueError, IndexError):
        raise ModelError(
            owner, f"footprint ring {number} has a position that is not [x, y]"
        ) from None
    if array.shape != (len(ring), 2) or not np.isfinite(array).all():
        raise ModelError(owner, f"footprint ring {number} has a position that is not [x, y]")
    if not np.array_equal(array[0], array[-1]):
        raise ModelError(owner, f"footprint ring {number} is not closed (first ≠ last position)")
    return array


def read_geojson_buildings(
    data: Any,
    source: str,
    *,
    frame: Frame | None = None,
    storey_height: float = DEFAULT_STOREY_HEIGHT,
) -> GeometryImport:
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
    source_crs = _source_crs(data, source)
    stem = Path(source).name.split(".")[0]
    parsed = [_feature(f, i, source, stem) for i, f in enumerate(features)]
    if not parsed:
        raise ModelError(source, "has no features")
    all_xy = np.concatenate([ring for _, rings, _ in parsed for poly in rings for ring in poly])
    if frame is None:
        frame = _frame_for(all_xy, source_crs, source)
    x, y = to_frame(all_xy[:, 0], all_xy[:, 1], source_crs, frame, source)
    local = np.round(np.column_stack([x, y]), DECIMALS)
    buildings, seen, start = [], set(), 0
    for building_id, polygons, properties in parsed:
        owner = f"building {building_id} ({source})"
        if building_id in seen:
            raise ModelError(owner, "duplicate building id in this file")
        seen.add(building_id)
        parts = []
        for poly in polygons:
            rings = []
            for ring in poly:
                rings.append(local[start : start + len(ring)])
                start += len(ring)
            parts.append(shapely.Polygon(rings[0], rings[1:]))
        geometry = parts[0] if len(parts) == 1 else shapely.MultiPolygon(parts)
        footprint = check_footprint(geometry, owner)
        buildings.append(_building(building_id, footprint, properties, frame, storey_height))
    return GeometryImport(source, source_crs, frame, tuple(buildings))


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


def _feature(
    feature: Any, index: int, source: str, stem: str
) -> tuple[str, list[list[np.ndarray[Any, Any]]], dict[str, Any]]:
    if not isinstance(feature, Mapping):
        raise ModelError(f"feature {index} ({source})", "is not a GeoJSON Feature")
    properties = feature.get("properties") or {}
    if not isinstance(properties, Mapping):
        raise ModelError(f"feature {index} ({source})", "properties must be an object")
    building_id = _feature_id(feature, properties, index, stem)
    owner = f"building {building_id} ({source})"
    geometry = feature.get("geometry")
    if geometry is None:
        raise ModelError(owner, "feature has no geometry")
    polygons = _polygon_coordinates(geometry, owner)
    rings = []
    for poly in polygons:
        if not isinstance(poly, list) or not poly:
            raise ModelError(owner, "footprint is empty")
        rings.append([ring_array(r, owner, i) for i, r in enumerate(poly)])
    return building_id, rings, {k: v for k, v in properties.items() if v is not None}


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


def _building(
    building_id: str,
    footprint: Footprint,
    properties: dict[str, Any],
    frame: Frame,
    storey_height: float,
) -> Building:
    tags = dict(_OTHER_TAG.findall(str(properties.get("other_tags", ""))))
    tags.update({k: v for k, v in properties.items() if k != "other_tags"})
    height = _number(tags.get("height", tags.get("building:height")))
    levels = _number(tags.get("building:levels"))
    underground = _number(tags.get("building:levels:underground"))
    count = int(levels) if levels is not None and levels >= 1 else None
    flags: tuple[str, ...] = ()
    if height is None or height <= 0:
        height = (count or DEFAULT_STOREY_COUNT) * storey_height
        flags = (HEIGHT_DEFAULTED,)
    ground_z = 0.0 - frame.offset[2]
    owner = f"building {building_id}"
    basements = [storey_height] * int(underground) if underground and underground >= 1 else []
    storeys = derive_storeys(
        owner,
        ground_z,
        ground_z + height,
        storey_height=storey_height,
        count=count,
        basement_heights=basements,
    )
    name = properties.get("name")
    return Building(
        id=building_id,
        name=str(name) if name is not None else None,
        footprint=footprint,
        ground_z=ground_z,
        roof_z=ground_z + height,
        storeys=storeys,
        flags=flags,
        attributes=properties,
    )


def _number(value: Any) -> float | None:
    """A number from a GeoJSON/OSM property: ``12``, ``"12"``, ``"12.5 m"``; else None.

    >>> _number("12.5 m"), _number(18), _number("tall"), _number(True)
    (12.5, 18.0, None, None)
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str) and (m := _NUMBER.match(value)):
        return float(m.group(1))
    return None
