"""Buildings with storeys and their status, as ``/live`` has it.

One source of status: the counts and status of every building and storey
come from the community's in-memory live state (the one ``/live`` renders),
read at one version with no await in between, so ``/buildings`` and ``/live``
agree for the same version. Geometry and names come from the database.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from psycopg.rows import tuple_row
from pydantic import ValidationError

from api.db import Conn, fetch_all, fetch_one
from api.errors import NotFoundError
from api.geo import GeoError
from api.live.document import CommunityLive
from api.models.buildings import (
    BuildingDetailPublic,
    MultiPolygon,
    Polygon,
    StatusCounts,
    StoreyDetailPublic,
    StoreyPublic,
    UnitPublic,
)
from api.queries.devices import building_devices
from twin.errors import ModelError
from twin.model.crs import Frame

_BUILDINGS = """
SELECT id, name, footprint, ground_z, roof_z, flags FROM buildings
WHERE community_id = %(c)s AND (%(b)s::text IS NULL OR id = %(b)s) ORDER BY id"""
_STOREYS = """
SELECT building_id, idx, name, floor_z, height FROM storeys
WHERE community_id = %(c)s AND (%(b)s::text IS NULL OR building_id = %(b)s)
ORDER BY building_id, idx"""
Place = tuple[str, int | None]
_NOTHING = StatusCounts(
    status="normal", worst_severity=None, devices_total=0, devices_online=0, alarms_active=0
)


_COUNTS = ("status", "worst_severity", "devices_total", "devices_online", "alarms_active")
_NOTHING_JSON: dict[str, Any] = _NOTHING.model_dump(mode="json")


@dataclass(frozen=True, slots=True)
class LiveStatus:
    """Status counts per (building, storey) — storey None: the whole building — at a version.

    Kept as the snapshot's plain dicts (the five :class:`StatusCounts` fields):
    the collection copies them into its JSON for thousands of places, a model
    per place cost more than the rest of the answer (issue 24).
    """

    version: int
    places: Mapping[Place, Mapping[str, Any]]

    def of(self, building: str, storey: int | None = None) -> StatusCounts:
        entry = self.places.get((building, storey))
        return _NOTHING if entry is None else StatusCounts.model_validate(entry)

    def counts(self, building: str, storey: int | None = None) -> Mapping[str, Any]:
        """The counts of a place as JSON-ready values (normal and none when unknown)."""
        return self.places.get((building, storey), _NOTHING_JSON)


def _counts(entry: Mapping[str, Any]) -> dict[str, Any]:
    return {k: entry[k] for k in _COUNTS}


def status_from_buildings(version: int, buildings: Iterable[Mapping[str, Any]]) -> LiveStatus:
    """The ``buildings`` entries of a ``/live`` snapshot as status counts per place.

    >>> b = {"id": "b1", "status": "offline", "worst_severity": None, "devices_total": 2,
    ...      "devices_online": 1, "alarms_active": 0}
    >>> st = status_from_buildings(7, [{**b, "storeys": [{**b, "index": 3}]}])
    >>> st.of("b1").status, st.of("b1", 3).devices_online, st.of("b1", 9).status
    ('offline', 1, 'normal')
    >>> st.counts("b1", 9)["status"], st.counts("b1", 3)["devices_total"]
    ('normal', 2)
    """
    places: dict[Place, dict[str, Any]] = {}
    for b in buildings:
        places[(b["id"], None)] = _counts(b)
        for s in b["storeys"]:
            places[(b["id"], s["index"])] = _counts(s)
    return LiveStatus(version, places)


def live_status(entry: CommunityLive, now: datetime) -> LiveStatus:
    """The status of every place in ``entry`` at its current version (no await: one version)."""
    return status_from_buildings(entry.version, entry.state.snapshot(now)["buildings"])


def _storey(r: dict[str, Any], counts: StatusCounts) -> StoreyPublic:
    return StoreyPublic(
        index=r["idx"],
        name=r["name"],
        floor_z=r["floor_z"],
        height=r["height"],
        **counts.model_dump(),
    )


def geometry(value: dict[str, Any]) -> Polygon | MultiPolygon:
    """A stored GeoJSON polygon as a response model (stored data, so a bad one is ours)."""
    try:
        if value.get("type") == "MultiPolygon":
            return MultiPolygon.model_validate(value)
        return Polygon.model_validate(value)
    except ValidationError as exc:
        raise GeoError(
            f"stored geometry is not a GeoJSON polygon: {exc.errors()[0]['msg']}"
        ) from None


_COLLECTION_BUILDINGS = """
SELECT id, name, footprint::text, ground_z, roof_z, flags FROM buildings
WHERE community_id = %(c)s ORDER BY id"""


def _rings(geometry: Any) -> list[list[Any]]:
    """The rings of a stored Polygon/MultiPolygon, outer first per polygon (a bad one is ours)."""
    kind = geometry.get("type") if isinstance(geometry, dict) else None
    try:
        if kind == "Polygon":
            return list(geometry["coordinates"])
        if kind == "MultiPolygon":
            return [ring for poly in geometry["coordinates"] for ring in poly]
    except (KeyError, TypeError) as exc:
        raise GeoError(f"footprint cannot be converted: {exc}") from None
    raise GeoError(f"footprint type {kind!r} is not Polygon or MultiPolygon")


def _wgs84_rings(frame: Frame, rings: list[list[Any]]) -> list[list[list[float]]]:
    """Every ring in longitude/latitude (8 decimals, as :func:`api.geo.to_wgs84`), in one
    transformation: one pyproj call per building cost more than the rest of the answer."""
    try:
        xs = [float(p[0]) for ring in rings for p in ring]
        ys = [float(p[1]) for ring in rings for p in ring]
        if not xs:
            return [[] for _ in rings]
        lons, lats, _ = frame.to_wgs84(xs, ys)
    except ModelError as exc:
        raise GeoError(str(exc)) from None
    except (IndexError, TypeError, ValueError) as exc:
        raise GeoError(f"footprint cannot be converted: {exc}") from None
    points = [
        [round(lon, 8), round(lat, 8)]
        for lon, lat in zip(lons.tolist(), lats.tolist(), strict=True)
    ]
    out, at = [], 0
    for ring in rings:
        out.append(points[at : at + len(ring)])
        at += len(ring)
    return out


async def collection_json(conn: Conn, community: str, frame: Frame, live: LiveStatus) -> bytes:
    """Every building of a community as GeoJSON in WGS 84 with status properties:
    a :class:`BuildingCollection`, as JSON bytes.

    Built as plain data rather than response models: for 2,000 buildings the
    models, FastAPI's check of them and its JSON encoding took ~3 s of the
    cockpit's first frame (issue 24). tests/api pins the document to the model.
    """
    params = {"c": community, "b": None}
    storeys: dict[str, list[dict[str, Any]]] = defaultdict(list)
    async with conn.cursor(row_factory=tuple_row) as cur:
        await cur.execute(_STOREYS, params)
        for bid, idx, name, floor_z, height in await cur.fetchall():
            counts = live.counts(bid, idx)
            storeys[bid].append(
                {
                    **counts,
                    "index": idx,
                    "name": name,
                    "floor_z": float(floor_z),
                    "height": float(height),
                }
            )
        await cur.execute(_COLLECTION_BUILDINGS, params)
        rows = await cur.fetchall()
    geometries = [orjson.loads(r[2]) for r in rows]
    shapes = [_rings(g) for g in geometries]
    converted = iter(_wgs84_rings(frame, [ring for rings in shapes for ring in rings]))
    features = []
    for (bid, name, _, ground_z, roof_z, flags), geometry in zip(rows, geometries, strict=True):
        listed = storeys.get(bid, [])
        if geometry["type"] == "Polygon":
            coordinates: list[Any] = [next(converted) for _ in geometry["coordinates"]]
        else:
            coordinates = [[next(converted) for _ in poly] for poly in geometry["coordinates"]]
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
            {
                "type": "Feature",
                "id": bid,
                "geometry": {"type": geometry["type"], "coordinates": coordinates},
                "properties": properties,
            }
        )
    return orjson.dumps(
        {
            "type": "FeatureCollection",
            "community": community,
            "version": live.version,
            "features": features,
        }
    )


async def building_detail(
    conn: Conn, community: str, building: str, since: datetime, live: LiveStatus
) -> BuildingDetailPublic:
    """One building: storeys with units and status, devices with latest values."""
    params: dict[str, object] = {"c": community, "b": building}
    b = await fetch_one(conn, _BUILDINGS, params)
    if b is None:
        raise NotFoundError("building", building)
    units: dict[int, list[UnitPublic]] = defaultdict(list)
    for u in await fetch_all(
        conn,
        "SELECT id, name, storey_idx FROM units"
        " WHERE community_id = %(c)s AND building_id = %(b)s ORDER BY storey_idx, id",
        params,
    ):
        units[u["storey_idx"]].append(UnitPublic(id=u["id"], name=u["name"]))
    storeys = [
        StoreyDetailPublic(
            **_storey(s, live.of(building, s["idx"])).model_dump(),
            units=units.get(s["idx"], []),
        )
        for s in await fetch_all(conn, _STOREYS, params)
    ]
    return BuildingDetailPublic(
        id=b["id"],
        name=b["name"],
        ground_z=b["ground_z"],
        roof_z=b["roof_z"],
        height=b["roof_z"] - b["ground_z"],
        footprint=geometry(b["footprint"]),
        flags=list(b["flags"]),
        storeys=storeys,
        devices=await building_devices(conn, community, building, since),
        version=live.version,
        **live.of(building).model_dump(),
    )
