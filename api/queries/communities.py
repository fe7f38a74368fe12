"""Communities: existence, listing with counts, and a community's frame."""

from __future__ import annotations

from api.db import Conn, fetch_all, fetch_one
from api.errors import NotFoundError
from api.models.communities import CommunityCounts, CommunityPublic
from twin.model.crs import Frame

_LIST = """
SELECT c.id, c.name, c.crs, c.offset_x, c.offset_y, c.offset_z,
       (SELECT count(*) FROM buildings b WHERE b.community_id = c.id) AS buildings,
       d.devices, d.devices_online,
       (SELECT count(*) FROM alarms a
         WHERE a.community_id = c.id AND a.state <> 'cleared') AS alarms_active
FROM communities c
CROSS JOIN LATERAL (
    SELECT count(*) AS devices, count(*) FILTER (WHERE online) AS devices_online
    FROM devices WHERE community_id = c.id) d
WHERE %(ids)s::text[] IS NULL OR c.id = ANY(%(ids)s)
ORDER BY c.id
"""


async def list_communities(conn: Conn, only: frozenset[str]) -> list[CommunityPublic]:
    """Every community, or only those in ``only`` when it is not empty."""
    rows = await fetch_all(conn, _LIST, {"ids": sorted(only) if only else None})
    return [
        CommunityPublic(
            id=r["id"],
            name=r["name"],
            crs=r["crs"],
            offset=(r["offset_x"], r["offset_y"], r["offset_z"]),
            counts=CommunityCounts(
                buildings=r["buildings"],
                devices=r["devices"],
                devices_online=r["devices_online"],
                alarms_active=r["alarms_active"],
            ),
        )
        for r in rows
    ]


async def frame(conn: Conn, community: str) -> Frame:
    """The community's CRS and offset; 404 when it does not exist."""
    row = await fetch_one(
        conn,
        "SELECT crs, offset_x, offset_y, offset_z FROM communities WHERE id = %(c)s",
        {"c": community},
    )
    if row is None:
        raise NotFoundError("community", community)
    return Frame(row["crs"], (row["offset_x"], row["offset_y"], row["offset_z"]))


async def exists(conn: Conn, community: str) -> bool:
    row = await fetch_one(conn, "SELECT 1 FROM communities WHERE id = %(c)s", {"c": community})
    return row is not None


async def existing(conn: Conn, communities: list[str]) -> set[str]:
    """Those of ``communities`` that exist (one query for many)."""
    rows = await fetch_all(
        conn, "SELECT id FROM communities WHERE id = ANY(%(c)s)", {"c": communities}
    )
    return {str(r["id"]) for r in rows}
