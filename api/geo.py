"""Footprints in a community's local metres → GeoJSON in WGS 84 for map clients.

The conversion itself is ``twin.model.crs.Frame`` (the same one the importer and
locator use, so maps and the 3D view agree); this module walks GeoJSON rings.
"""

from __future__ import annotations

from typing import Any

from twin.errors import ModelError
from twin.model.crs import Frame


class GeoError(ValueError):
    """A community's CRS or a footprint cannot be converted."""


def to_wgs84(frame: Frame, geometry: dict[str, Any]) -> dict[str, Any]:
    """A GeoJSON Polygon/MultiPolygon in local metres, in longitude/latitude.

    >>> f = Frame("+proj=tmerc +lat_0=30 +lon_0=120 +k=1 +x_0=0 +y_0=0 +ellps=WGS84")
    >>> g = to_wgs84(f, {"type": "Polygon", "coordinates": [[[0, 0], [100, 0], [0, 100], [0, 0]]]})
    >>> [round(c, 5) for c in g["coordinates"][0][1]]
    [120.00104, 30.0]
    >>> to_wgs84(Frame("EPSG:999999"), g)
    Traceback (most recent call last):
    ...
    api.geo.GeoError: frame: cannot convert 'EPSG:999999' to 'EPSG:4326': ...
    """

    def ring(points: list[list[float]]) -> list[list[float]]:
        lons, lats, _ = frame.to_wgs84([p[0] for p in points], [p[1] for p in points])
        return [
            [round(float(lon), 8), round(float(lat), 8)]
            for lon, lat in zip(lons, lats, strict=True)
        ]

    kind = geometry.get("type")
    try:
        if kind == "Polygon":
            return {"type": kind, "coordinates": [ring(r) for r in geometry["coordinates"]]}
        if kind == "MultiPolygon":
            return {
                "type": kind,
                "coordinates": [[ring(r) for r in poly] for poly in geometry["coordinates"]],
            }
    except ModelError as exc:
        raise GeoError(str(exc)) from None
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise GeoError(f"footprint cannot be converted: {exc}") from None
    raise GeoError(f"footprint type {kind!r} is not Polygon or MultiPolygon")
