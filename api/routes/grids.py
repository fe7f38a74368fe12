"""Grids as GeoJSON, drawn on the ground of maps and the 3D view."""

from __future__ import annotations

from fastapi import APIRouter, Request

from api.deps import CommunityRead, DbConn
from api.errors import NotFoundError
from api.models.common import problems
from api.models.grids import GridCollection
from api.queries.communities import frame
from api.queries.grids import grid_collection
from api.routes.live import live_hub

router = APIRouter(prefix="/v1/communities/{cid}/grids", tags=["grids"])


@router.get(
    "",
    responses={200: {"content": {"application/geo+json": {}}}, **problems(401, 403, 404, 429)},
)
async def grids(request: Request, cid: CommunityRead, conn: DbConn) -> GridCollection:
    """FeatureCollection in WGS 84 with each grid's name, worker and status (that of
    the live state `/live` serves, at the `version` given)."""
    entry = await live_hub(request).ensure(cid)
    if entry is None:
        raise NotFoundError("community", cid)
    return await grid_collection(conn, cid, await frame(conn, cid), entry)
