"""The community's walk paths, for drawing on the ground of the 3D view."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.db import fetch_all
from api.deps import CommunityRead, DbConn
from api.models.common import ApiModel, problems

router = APIRouter(prefix="/v1/communities/{cid}/paths", tags=["paths"])


class PathCollection(ApiModel):
    type: str = "FeatureCollection"
    features: list[dict[str, Any]]


@router.get("", responses=problems(401, 403, 404, 429))
async def paths(cid: CommunityRead, conn: DbConn) -> PathCollection:
    """Walk paths as GeoJSON LineStrings in the community's local metres (x east,
    y north), like device positions; ``kind`` is the OSM highway value if known."""
    rows = await fetch_all(
        conn,
        "SELECT id, kind, geometry FROM walk_paths WHERE community_id = %(c)s ORDER BY id",
        {"c": cid},
    )
    return PathCollection(
        features=[
            {
                "type": "Feature",
                "id": r["id"],
                "properties": {"kind": r["kind"]},
                "geometry": r["geometry"],
            }
            for r in rows
        ]
    )
