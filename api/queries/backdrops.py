"""A community's backdrop row, and the centre of its buildings for the georeference."""

from __future__ import annotations

from typing import Any

from api.db import Conn, fetch_one

_CENTRE = """
SELECT min((p->>0)::float8) AS min_x, max((p->>0)::float8) AS max_x,
       min((p->>1)::float8) AS min_y, max((p->>1)::float8) AS max_y
FROM buildings b,
     LATERAL jsonb_path_query(b.footprint, 'strict $.coordinates.**{2 to 3}') AS p
WHERE b.community_id = %(c)s AND jsonb_typeof(p) = 'array'
  AND jsonb_typeof(p->0) = 'number'
"""


async def backdrop(conn: Conn, community: str) -> dict[str, Any] | None:
    return await fetch_one(
        conn,
        "SELECT url, height_offset FROM community_backdrops WHERE community_id = %(c)s",
        {"c": community},
    )


async def set_backdrop(conn: Conn, community: str, url: str, height_offset: float) -> None:
    await conn.execute(
        "INSERT INTO community_backdrops (community_id, url, height_offset)"
        " VALUES (%(c)s, %(u)s, %(h)s) ON CONFLICT (community_id) DO UPDATE"
        " SET url = EXCLUDED.url, height_offset = EXCLUDED.height_offset, updated_at = now()",
        {"c": community, "u": url, "h": height_offset},
    )


async def delete_backdrop(conn: Conn, community: str) -> bool:
    cur = await conn.execute(
        "DELETE FROM community_backdrops WHERE community_id = %(c)s", {"c": community}
    )
    return cur.rowcount > 0


async def buildings_centre(conn: Conn, community: str) -> tuple[float, float]:
    """Middle of the buildings' footprints (local metres); (0, 0) without buildings."""
    row = await fetch_one(conn, _CENTRE, {"c": community})
    if row is None or row["min_x"] is None:
        return (0.0, 0.0)
    return ((row["min_x"] + row["max_x"]) / 2, (row["min_y"] + row["max_y"]) / 2)
