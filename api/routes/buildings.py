"""Buildings as GeoJSON for maps and 3D clients, and one building in detail."""

from __future__ import annotations

from typing import cast

from fastapi import APIRouter, Request, Response

from api.deps import CommunityRead, DbConn, ObjectId, State
from api.errors import NotFoundError
from api.models.buildings import BuildingCollection, BuildingDetailPublic
from api.models.common import problems
from api.queries.building_collection import Footprints, collection_json
from api.queries.buildings import LiveStatus, building_detail, live_status
from api.queries.communities import frame
from api.queries.devices import lookback
from api.routes.live import live_hub

router = APIRouter(prefix="/v1/communities/{cid}/buildings", tags=["buildings"])


@router.get(
    "",
    response_model=BuildingCollection,
    responses={
        200: {"content": {"application/geo+json": {}}},
        **problems(401, 403, 404, 429),
    },
)
async def buildings(request: Request, cid: CommunityRead, state: State, conn: DbConn) -> Response:
    """FeatureCollection in WGS 84: footprints, heights, storeys and status (the
    status of `/live` at the `version` given)."""
    live = await _live_status(request, cid, state)
    # JSON bytes built directly (the cockpit's first request for a city's buildings).
    footprints = cast(Footprints, request.app.state.footprints)
    body = await collection_json(conn, cid, await frame(conn, cid), live, footprints)
    return Response(body, media_type="application/json")


@router.get("/{bid}", responses=problems(401, 403, 404, 429))
async def building(
    request: Request, cid: CommunityRead, bid: ObjectId, state: State, conn: DbConn
) -> BuildingDetailPublic:
    """Storeys with units and status (that of `/live` at `version`), devices with
    their latest values."""
    live = await _live_status(request, cid, state)
    within = lookback(state.now(), state.config.latest_lookback_days)
    return await building_detail(conn, cid, bid, within, live)


async def _live_status(request: Request, cid: str, state: State) -> LiveStatus:
    """Status from the live state ``/live`` serves: one source, one version."""
    entry = await live_hub(request).ensure(cid)
    if entry is None:
        raise NotFoundError("community", cid)
    return live_status(entry, state.now())
