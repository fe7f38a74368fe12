"""``GET …/buildings``: every building as GeoJSON in WGS 84 with its status, as JSON bytes.

The cockpit's first request for a city (issue 24). Built as plain data
rather than response models: for 2,000 buildings the models, FastAPI's
check of them and its JSON encoding took ~3 s of the first frame under
load; tests/api pins the document to :class:`api.models.buildings.BuildingCollection`.
Footprints in WGS 84 are kept per community (:class:`Footprints`) while the
stored footprint and the community's frame are the same, so a repeat
converts nothing; the rest is built in a worker thread, so the event loop
serves the page's other requests meanwhile.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

import orjson
from psycopg.rows import tuple_row

from api.db import Conn
from api.geo import GeoError
from api.queries.buildings import LiveStatus
from twin.errors import ModelError
from twin.model.crs import Frame

_STOREYS = """
SELECT building_id, idx, name, floor_z, height FROM storeys
WHERE community_id = %s ORDER BY building_id, idx"""
_BUILDINGS = """
SELECT id, name, footprint::text, ground_z, roof_z, flags FROM buildings
WHERE community_id = %s ORDER BY id"""
Geometry = dict[str, Any]


def _rings(geometry: Any) -> list[list[Any]]:
    """The rings of a stored Polygon/MultiPolygon, in order (a bad one is ours: GeoError)."""
    kind = geometry.get("type") if isinstance(geometry, dict) else None
    try:
        if kind == "Polygon":
            return list(geometry["coordinates"])
        if kind == "MultiPolygon":
            return [ring for poly in geometry["coordinates"] for ring in poly]
    except (KeyError, TypeError) as exc:
        raise GeoError(f"footprint cannot be converted: {exc}") from None
    raise GeoError(f"footprint type {kind!r} is not Polygon or MultiPolygon")


def to_wgs84(frame: Frame, geometries: list[Any]) -> list[Geometry]:
    """Stored footprints (local metres) in longitude/latitude, 8 decimals as
    :func:`api.geo.to_wgs84` gives them, in one pyproj call for them all.

    >>> f = Frame("+proj=tmerc +lat_0=30 +lon_0=120 +k=1 +x_0=0 +y_0=0 +ellps=WGS84")
    >>> square = [[0, 0], [100, 0], [0, 100], [0, 0]]
    >>> (a, b) = to_wgs84(f, [{"type": "Polygon", "coordinates": [square]},
    ...                       {"type": "MultiPolygon", "coordinates": [[square], [square]]}])
    >>> a["coordinates"][0][1], len(b["coordinates"]), b["coordinates"][1][0][1]
    ([120.00103642, 30.0], 2, [120.00103642, 30.0])
    >>> to_wgs84(f, [{"type": "Point", "coordinates": [0, 0]}])
    Traceback (most recent call last):
    ...
    api.geo.GeoError: footprint type 'Point' is not Polygon or MultiPolygon
    """
    rings = [ring for g in geometries for ring in _rings(g)]
    try:
        xs = [float(p[0]) for ring in rings for p in ring]
        ys = [float(p[1]) for ring in rings for p in ring]
        lons, lats = ([], []) if not xs else (a.tolist() for a in frame.to_wgs84(xs, ys)[:2])
    except ModelError as exc:
        raise GeoError(str(exc)) from None
    except (IndexError, TypeError, ValueError) as exc:
        raise GeoError(f"footprint cannot be converted: {exc}") from None
    points = [[round(lon, 8), round(lat, 8)] for lon, lat in zip(lons, lats, strict=True)]
    converted, at = [], 0
    for ring in rings:
        converted.append(points[at : at + len(ring)])
        at += len(ring)
    out: list[Geometry] = []
    taken = iter(converted)
    for g in geometries:
        if g["type"] == "Polygon":
            coordinates: list[Any] = [next(taken) for _ in g["coordinates"]]
        else:
            coordinates = [[next(taken) for _ in poly] for poly in g["coordinates"]]
        out.append({"type": g["type"], "coordinates": coordinates})
    return out


class Footprints:
    """WGS 84 footprints per community, each kept while its stored text and the frame stay.

    Checked against what the database holds on every request (a footprint
    changed by any import, or a building added or removed, is converted
    again), so the cache can never serve a footprint that is no longer stored.

    >>> f = Frame("+proj=tmerc +lat_0=30 +lon_0=120 +k=1 +x_0=0 +y_0=0 +ellps=WGS84")
    >>> text = '{"type": "Polygon", "coordinates": [[[0, 0], [100, 0], [0, 100], [0, 0]]]}'
    >>> cache = Footprints()
    >>> first = cache.wgs84("c", f, [("b1", text)])
    >>> cache.wgs84("c", f, [("b1", text)])[0] is first[0]
    True
    >>> moved = text.replace("100, 0]", "200, 0]")
    >>> cache.wgs84("c", f, [("b1", moved)])[0]["coordinates"][0][1]
    [120.00207283, 29.99999998]
    """

    def __init__(self, max_communities: int = 64) -> None:
        self.max_communities = max_communities
        self._entries: dict[str, tuple[Frame, dict[str, tuple[str, Geometry]]]] = {}

    def wgs84(self, cid: str, frame: Frame, rows: list[tuple[str, str]]) -> list[Geometry]:
        """The footprints of ``rows`` (building id, stored GeoJSON text) in WGS 84, in order."""
        entry = self._entries.get(cid)
        known = entry[1] if entry is not None and entry[0] == frame else {}
        stale = [(bid, text) for bid, text in rows if known.get(bid, ("",))[0] != text]
        fresh = to_wgs84(frame, [orjson.loads(text) for _, text in stale])
        kept = {bid: known[bid] for bid, _ in rows if bid in known}
        kept.update((bid, (text, g)) for (bid, text), g in zip(stale, fresh, strict=True))
        if cid not in self._entries and len(self._entries) >= self.max_communities:
            self._entries.clear()
        self._entries[cid] = (frame, kept)
        return [kept[bid][1] for bid, _ in rows]


def _document(
    community: str,
    live: LiveStatus,
    geometries: list[Geometry],
    buildings: list[tuple[Any, ...]],
    storey_rows: list[tuple[Any, ...]],
) -> bytes:
    storeys: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for bid, idx, name, floor_z, height in storey_rows:
        storeys[bid].append(
            {
                **live.counts(bid, idx),
                "index": idx,
                "name": name,
                "floor_z": float(floor_z),
                "height": float(height),
            }
        )
    features = []
    for (bid, name, _, ground_z, roof_z, flags), geometry in zip(
        buildings, geometries, strict=True
    ):
        listed = storeys.get(bid, [])
        properties = {
            **live.counts(bid),
            "id": bid,
            "name": name,
            "ground_z": float(ground_z),
            "roof_z": float(roof_z),
            "height": float(roof_z - ground_z),
            "storey_count": sum(1 for s in listed if s["index"] > 0),
            "storeys": listed,
            "flags": list(flags),
        }
        features.append(
            {"type": "Feature", "id": bid, "geometry": geometry, "properties": properties}
        )
    doc = {"type": "FeatureCollection", "community": community, "version": live.version}
    return orjson.dumps({**doc, "features": features})


async def collection_json(
    conn: Conn, community: str, frame: Frame, live: LiveStatus, footprints: Footprints
) -> bytes:
    """Every building of ``community`` with the status of ``live``: a BuildingCollection's JSON."""
    async with conn.cursor(row_factory=tuple_row) as cur:
        await cur.execute(_STOREYS, (community,))
        storey_rows = await cur.fetchall()
        await cur.execute(_BUILDINGS, (community,))
        buildings = await cur.fetchall()

    def build() -> bytes:
        geometries = footprints.wgs84(community, frame, [(r[0], r[2]) for r in buildings])
        return _document(community, live, geometries, buildings, storey_rows)

    return await asyncio.to_thread(build)
