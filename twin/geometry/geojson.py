"""GeoJSON: footprint polygons, and building footprint files (OSM exports).

Footprints in the model file and in the database are GeoJSON Polygon or
MultiPolygon objects in local metres; :func:`footprint_from_geojson` checks them
(closed rings, at least four positions, finite numbers, non-empty, valid) and
names the object when they are not.

Building files (OSM exports: heights, levels, ``min_height``,
``building:part`` merged into its building, non-buildings skipped) are read
by ``twin/geometry/geojson_buildings.py`` (with ``read_geojson_buildings``, its
all-or-nothing form), which imports the helpers it shares from here.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import shapely

from twin.errors import ModelError
from twin.model.community import Footprint

DECIMALS = 6  # local coordinates are rounded to the micrometre: drops float noise
HEIGHT_DEFAULTED = "height_defaulted"
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


def footprints_from_geojson(objs: Sequence[Any], owners: Sequence[str]) -> list[Footprint]:
    """:func:`footprint_from_geojson` of many objects, the plain ones in bulk.

    A stored community has thousands of unit footprints, nearly all one ring
    without holes: those are built and checked with one vectorised call each
    (a stored model loads ~2× faster); any other shape, or any plain one that fails a
    check, goes through :func:`footprint_from_geojson` (and its error).

    >>> square = {"type": "Polygon", "coordinates": [[[0, 0], [2, 0], [2, 2], [0, 0]]]}
    >>> [f.area for f in footprints_from_geojson([square, square], ["a", "b"])]
    [2.0, 2.0]
    """
    found: list[Footprint | None] = [None] * len(objs)
    plain = [i for i, obj in enumerate(objs) if _one_ring(obj)]
    if plain:
        rings = [objs[i]["coordinates"][0] for i in plain]
        counts = np.fromiter(map(len, rings), dtype=np.intp, count=len(rings))
        try:
            xy = np.array([p[:2] for ring in rings for p in ring], dtype=np.float64)
        except (TypeError, ValueError, IndexError):
            xy = np.empty((0, 2))
        if xy.shape == (int(counts.sum()), 2) and np.isfinite(xy).all():
            ends = np.cumsum(counts)
            closed = (xy[ends - counts] == xy[ends - 1]).all(axis=1)
            shells = shapely.linearrings(xy, indices=np.repeat(np.arange(len(rings)), counts))
            polygons = shapely.polygons(shells)
            good = closed & shapely.is_valid(polygons) & (shapely.area(polygons) > 0)
            for i, polygon, ok in zip(plain, polygons.tolist(), good.tolist(), strict=True):
                if ok:
                    found[i] = polygon
    return [
        f if f is not None else footprint_from_geojson(obj, owner)
        for f, obj, owner in zip(found, objs, owners, strict=True)
    ]


def _one_ring(obj: Any) -> bool:
    if not isinstance(obj, Mapping) or obj.get("type") != "Polygon":
        return False
    coordinates = obj.get("coordinates")
    return (
        isinstance(coordinates, list)
        and len(coordinates) == 1
        and isinstance(coordinates[0], list)
        and len(coordinates[0]) >= 4
        and all(isinstance(p, list) for p in coordinates[0])
    )


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


def other_tags(properties: Mapping[str, Any]) -> dict[str, str]:
    """GDAL's OSM ``other_tags`` (``"k"=>"v", ...``) as a dict.

    >>> other_tags({"other_tags": '"building:levels"=>"6","roof:shape"=>"flat"'})
    {'building:levels': '6', 'roof:shape': 'flat'}
    """
    return dict(_OTHER_TAG.findall(str(properties.get("other_tags", ""))))


def polygon_rings(geometry: Any, owner: str) -> list[list[np.ndarray[Any, Any]]]:
    """A GeoJSON (Multi)Polygon's rings as checked (n, 2) arrays, polygon by polygon."""
    polygons = _polygon_coordinates(geometry, owner)
    rings = []
    for poly in polygons:
        if not isinstance(poly, list) or not poly:
            raise ModelError(owner, "footprint is empty")
        rings.append([ring_array(r, owner, i) for i, r in enumerate(poly)])
    return rings


def number(value: Any) -> float | None:
    """A number from a GeoJSON/OSM property: ``12``, ``"12"``, ``"12.5 m"``; else None.

    >>> number("12.5 m"), number(18), number("tall"), number(True)
    (12.5, 18.0, None, None)
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str) and (m := _NUMBER.match(value)):
        return float(m.group(1))
    return None
