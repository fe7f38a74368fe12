"""Buildings with storeys and a status computed from alarms and devices.

Phase 1 reads status from the database (worst active alarm and offline
devices per storey); the live state will take over once it exists.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from api.db import Conn, fetch_all, fetch_one
from api.errors import NotFoundError
from api.geo import GeoError, to_wgs84
from api.models.buildings import (
    BuildingCollection,
    BuildingDetailPublic,
    BuildingFeature,
    BuildingProperties,
    MultiPolygon,
    Polygon,
    StatusCounts,
    StoreyDetailPublic,
    StoreyPublic,
    UnitPublic,
)
from api.queries.devices import building_devices
from api.status import status_of, worst
from twin.crs import Frame

_BUILDINGS = """
SELECT id, name, footprint, ground_z, roof_z, flags FROM buildings
WHERE community_id = %(c)s AND (%(b)s::text IS NULL OR id = %(b)s) ORDER BY id"""
_STOREYS = """
SELECT building_id, idx, name, floor_z, height FROM storeys
WHERE community_id = %(c)s AND (%(b)s::text IS NULL OR building_id = %(b)s)
ORDER BY building_id, idx"""
# Devices and active alarms per (building, storey); a NULL storey holds what
# is placed on the building but on no storey.
_DEVICE_COUNTS = """
SELECT building_id, storey_idx, count(*) AS total,
       count(*) FILTER (WHERE online) AS online,
       count(*) FILTER (WHERE online IS FALSE) AS offline
FROM devices
WHERE community_id = %(c)s AND building_id IS NOT NULL
  AND (%(b)s::text IS NULL OR building_id = %(b)s)
GROUP BY 1, 2"""
_ALARM_COUNTS = """
SELECT building_id, storey_idx, severity, count(*) AS n FROM alarms
WHERE community_id = %(c)s AND state <> 'cleared' AND building_id IS NOT NULL
  AND (%(b)s::text IS NULL OR building_id = %(b)s)
GROUP BY 1, 2, 3"""


@dataclass(slots=True)
class _Tally:
    total: int = 0
    online: int = 0
    offline: int = 0
    alarms: int = 0
    severities: set[str] = field(default_factory=set)

    def add(self, other: _Tally) -> None:
        self.total += other.total
        self.online += other.online
        self.offline += other.offline
        self.alarms += other.alarms
        self.severities |= other.severities

    def counts(self) -> StatusCounts:
        sev = worst(self.severities)
        return StatusCounts(
            status=status_of(sev, self.offline),
            worst_severity=sev,
            devices_total=self.total,
            devices_online=self.online,
            alarms_active=self.alarms,
        )


Place = tuple[str, int | None]


async def _tallies(conn: Conn, params: dict[str, object]) -> dict[Place, _Tally]:
    tallies: dict[Place, _Tally] = defaultdict(_Tally)
    for r in await fetch_all(conn, _DEVICE_COUNTS, params):
        t = tallies[(r["building_id"], r["storey_idx"])]
        t.total, t.online, t.offline = r["total"], r["online"], r["offline"]
    for r in await fetch_all(conn, _ALARM_COUNTS, params):
        t = tallies[(r["building_id"], r["storey_idx"])]
        t.alarms += r["n"]
        t.severities.add(r["severity"])
    return tallies


def _building_tally(tallies: dict[Place, _Tally], building: str) -> _Tally:
    total = _Tally()
    for (b, _), t in tallies.items():
        if b == building:
            total.add(t)
    return total


def _storey(r: dict[str, Any], tally: _Tally | None) -> StoreyPublic:
    counts = (tally or _Tally()).counts()
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


async def feature_collection(conn: Conn, community: str, frame: Frame) -> BuildingCollection:
    """Every building of a community as GeoJSON in WGS 84 with status properties."""
    params: dict[str, object] = {"c": community, "b": None}
    storeys: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in await fetch_all(conn, _STOREYS, params):
        storeys[r["building_id"]].append(r)
    tallies = await _tallies(conn, params)
    features = []
    for b in await fetch_all(conn, _BUILDINGS, params):
        own = storeys.get(b["id"], [])
        props = BuildingProperties(
            id=b["id"],
            name=b["name"],
            ground_z=b["ground_z"],
            roof_z=b["roof_z"],
            height=b["roof_z"] - b["ground_z"],
            storey_count=sum(1 for s in own if s["idx"] > 0),
            storeys=[_storey(s, tallies.get((b["id"], s["idx"]))) for s in own],
            flags=list(b["flags"]),
            **_building_tally(tallies, b["id"]).counts().model_dump(),
        )
        features.append(
            BuildingFeature(
                type="Feature",
                id=b["id"],
                geometry=geometry(to_wgs84(frame, b["footprint"])),
                properties=props,
            )
        )
    return BuildingCollection(type="FeatureCollection", community=community, features=features)


async def building_detail(
    conn: Conn, community: str, building: str, since: datetime
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
    tallies = await _tallies(conn, params)
    storeys = [
        StoreyDetailPublic(
            **_storey(s, tallies.get((building, s["idx"]))).model_dump(),
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
        **_building_tally(tallies, building).counts().model_dump(),
    )
