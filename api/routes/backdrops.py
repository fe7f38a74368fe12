"""A community's 3D Tiles backdrop: set by an admin, read (with its georeference) by screens.

The cockpit cannot evaluate the community's CRS, so the API gives it the map
from the tileset's ECEF coordinates to the community's local metres, fitted
with pyproj around the buildings (:mod:`twin.model.georef`).
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends

from api.deps import CommunityRead, DbConn, community_access
from api.errors import ApiError, NotFoundError
from api.models.backdrops import BackdropPublic, BackdropSet, Georeference
from api.models.common import problems
from api.queries import backdrops as q
from api.queries.communities import frame
from twin.errors import ModelError
from twin.model.georef import ecef_to_local

router = APIRouter(prefix="/v1/communities", tags=["backdrop"])
CommunityAdmin = Annotated[str, Depends(community_access("admin"))]


class GeoreferenceError(ApiError):
    status_code = 422


async def _public(conn: DbConn, cid: str) -> BackdropPublic:
    row = await q.backdrop(conn, cid)
    if row is None:
        return BackdropPublic(url=None)
    community_frame = await frame(conn, cid)
    centre = await q.buildings_centre(conn, cid)
    try:
        geo = await asyncio.to_thread(
            ecef_to_local, community_frame, centre, height_offset=row["height_offset"]
        )
    except ModelError as exc:
        raise GeoreferenceError(
            f"the community's CRS cannot be placed on the Earth: {exc}"
        ) from None
    return BackdropPublic(
        url=row["url"],
        height_offset=row["height_offset"],
        georeference=Georeference(
            origin=geo.origin,
            ecef_to_local=[list(r) for r in geo.matrix],
            residual_m=round(geo.residual_m, 4),
        ),
    )


@router.get("/{cid}/backdrop", responses=problems(401, 403, 404, 429))
async def get_backdrop(cid: CommunityRead, conn: DbConn) -> BackdropPublic:
    """The community's backdrop tileset and where it goes; ``url`` null when none is set."""
    return await _public(conn, cid)


@router.put("/{cid}/backdrop", responses=problems(400, 401, 403, 404, 429))
async def put_backdrop(cid: CommunityAdmin, conn: DbConn, body: BackdropSet) -> BackdropPublic:
    """Set the community's backdrop (admin key): an http(s) URL of a tileset.json."""
    async with conn.transaction():
        await q.set_backdrop(conn, cid, body.url, body.height_offset)
    return await _public(conn, cid)


@router.delete("/{cid}/backdrop", status_code=204, responses=problems(401, 403, 404, 429))
async def delete_backdrop(cid: CommunityAdmin, conn: DbConn) -> None:
    """Remove the community's backdrop (admin key)."""
    async with conn.transaction():
        if not await q.delete_backdrop(conn, cid):
            raise NotFoundError("backdrop of community", cid)
