"""Devices of a community: filtered listing and one device with latest values."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import CommunityRead, DbConn, ObjectId, State
from api.models.common import problems
from api.models.devices import DeviceDetailPublic, DevicesPublic
from api.params import Offset, StoreyFilter, TextFilter
from api.queries.devices import DeviceFilter, get_device, list_devices, lookback

router = APIRouter(prefix="/v1/communities/{cid}/devices", tags=["devices"])

Limit = Annotated[int, Query(ge=1, le=10000)]


@router.get("", responses=problems(401, 403, 404, 429))
async def devices(
    *,
    cid: CommunityRead,
    conn: DbConn,
    kind: TextFilter = None,
    building: TextFilter = None,
    storey: StoreyFilter = None,
    online: bool | None = None,
    unplaced: Annotated[
        bool | None, Query(description="true: devices with no building and no position")
    ] = None,
    limit: Limit = 1000,
    offset: Offset = 0,
) -> DevicesPublic:
    """``online=false`` also lists devices never seen online."""
    f = DeviceFilter(kind=kind, building=building, storey=storey, online=online, unplaced=unplaced)
    total, page = await list_devices(conn, cid, f, limit, offset)
    return DevicesPublic(count=total, data=page)


@router.get("/{did}", responses=problems(401, 403, 404, 429))
async def device(
    cid: CommunityRead, did: ObjectId, state: State, conn: DbConn
) -> DeviceDetailPublic:
    within = lookback(state.now(), state.config.latest_lookback_days)
    return await get_device(conn, cid, did, within)
