"""SQL of the small map: footprints, grids and a resident's home, in local metres."""

from __future__ import annotations

from typing import Final

from api.db import Conn, fetch_all, fetch_one
from api.models.me_map import CommunityMap, MapBuilding, MapGrid, MapHome
from api.queries.buildings import geometry
from twin.people.roles import Person

_BUILDINGS: Final = """
SELECT b.id, b.name, b.footprint,
       (SELECT count(*) FROM storeys s
        WHERE s.community_id = b.community_id AND s.building_id = b.id AND s.idx > 0) AS storeys
FROM buildings b WHERE b.community_id = %(c)s ORDER BY b.id"""
_GRIDS: Final = "SELECT id, name, polygon FROM grids WHERE community_id = %(c)s ORDER BY id"
_HOME: Final = """
SELECT storey_idx, name FROM units
WHERE community_id = %(c)s AND building_id = %(b)s AND id = %(u)s"""


async def community_map(conn: Conn, person: Person) -> CommunityMap | None:
    """The map of ``person``'s community, or None when the community is gone."""
    c = person.community_id
    community = await fetch_one(conn, "SELECT name FROM communities WHERE id = %(c)s", {"c": c})
    if community is None:
        return None
    buildings = [
        MapBuilding(
            id=r["id"],
            name=r["name"],
            storeys=int(r["storeys"]),
            footprint=geometry(r["footprint"]),
        )
        for r in await fetch_all(conn, _BUILDINGS, {"c": c})
    ]
    grids = [
        MapGrid(id=r["id"], name=r["name"], polygon=geometry(r["polygon"]))
        for r in await fetch_all(conn, _GRIDS, {"c": c})
    ]
    home = None
    if person.household is not None:
        b, u = person.household.building_id, person.household.unit_id
        unit = await fetch_one(conn, _HOME, {"c": c, "b": b, "u": u})
        home = MapHome(
            building=b,
            unit=u,
            storey=unit["storey_idx"] if unit else None,
            unit_name=unit["name"] if unit else None,
        )
    return CommunityMap(
        community=c, name=community["name"], buildings=buildings, grids=grids, home=home
    )
