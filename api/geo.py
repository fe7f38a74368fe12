"""Local community coordinates → WGS 84 for map clients.

A community stores footprints in local metres; ``world = local + offset`` in
the community's CRS, which pyproj turns into longitude/latitude.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError, ProjError


class GeoError(ValueError):
    """A community's CRS or a footprint cannot be converted."""


@dataclass(frozen=True, slots=True)
class Frame:
    """Where a community's local frame sits in the world."""

    crs: str
    offset_x: float
    offset_y: float


@lru_cache(maxsize=64)
def _to_wgs84(crs: str) -> Transformer:
    try:
        return Transformer.from_crs(CRS.from_user_input(crs), CRS.from_epsg(4326), always_xy=True)
    except (CRSError, ProjError) as exc:
        raise GeoError(f"community CRS {crs!r} is not usable: {exc}") from None


def to_wgs84(frame: Frame, geometry: dict[str, Any]) -> dict[str, Any]:
    """A GeoJSON Polygon/MultiPolygon in local metres, in longitude/latitude.

    >>> f = Frame("+proj=tmerc +lat_0=30 +lon_0=120 +k=1 +x_0=0 +y_0=0 +ellps=WGS84", 0, 0)
    >>> g = to_wgs84(f, {"type": "Polygon", "coordinates": [[[0, 0], [100, 0], [0, 100], [0, 0]]]})
    >>> [round(c, 5) for c in g["coordinates"][0][1]]
    [120.00104, 30.0]
    """
    transformer = _to_wgs84(frame.crs)

    def ring(points: list[list[float]]) -> list[list[float]]:
        xs = [float(p[0]) + frame.offset_x for p in points]
        ys = [float(p[1]) + frame.offset_y for p in points]
        lons, lats = transformer.transform(xs, ys, errcheck=True)
        return [[round(lon, 8), round(lat, 8)] for lon, lat in zip(lons, lats, strict=True)]

    try:
        kind = geometry["type"]
        if kind == "Polygon":
            return {"type": kind, "coordinates": [ring(r) for r in geometry["coordinates"]]}
        if kind == "MultiPolygon":
            return {
                "type": kind,
                "coordinates": [[ring(r) for r in poly] for poly in geometry["coordinates"]],
            }
    except (KeyError, IndexError, TypeError, ValueError, ProjError) as exc:
        raise GeoError(f"footprint cannot be converted: {exc}") from None
    raise GeoError(f"footprint type {kind!r} is not Polygon or MultiPolygon")
