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

from pydantic import ValidationError

from api.buckets import TimeWindow
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


async def building_detail(
    conn: Conn, community: str, building: str, within: TimeWindow, live: LiveStatus
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
        devices=await building_devices(conn, community, building, within),
        version=live.version,
        **live.of(building).model_dump(),
    )
