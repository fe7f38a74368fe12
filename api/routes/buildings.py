"""Buildings as GeoJSON for maps and 3D clients, and one building in detail."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter

from api.deps import CommunityRead, DbConn, ObjectId, State
from api.models.buildings import BuildingCollection, BuildingDetailPublic
from api.models.common import problems
from api.queries.buildings import building_detail, feature_collection
from api.queries.communities import frame

router = APIRouter(prefix="/v1/communities/{cid}/buildings", tags=["buildings"])


@router.get(
    "",
    responses={
        200: {"content": {"application/geo+json": {}}},
        **problems(401, 403, 404, 429),
    },
)
async def buildings(cid: CommunityRead, conn: DbConn) -> BuildingCollection:
    """FeatureCollection in WGS 84: footprints, heights, storeys and status."""
    return await feature_collection(conn, cid, await frame(conn, cid))


@router.get("/{bid}", responses=problems(401, 403, 404, 429))
async def building(
    cid: CommunityRead, bid: ObjectId, state: State, conn: DbConn
) -> BuildingDetailPublic:
    """Storeys with units and status, devices with their latest values."""
    since = state.now() - timedelta(days=state.config.latest_lookback_days)
    return await building_detail(conn, cid, bid, since)
