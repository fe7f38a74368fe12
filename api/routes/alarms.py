"""Alarms: listing with filters and acknowledgement."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Body, Path, Query

from api.deps import CommunityAck, CommunityRead, CurrentKey, DbConn
from api.models.alarms import AlarmAck, AlarmPublic, AlarmsPublic
from api.models.common import problems
from api.params import Offset
from api.queries.alarms import acknowledge, list_alarms
from api.status import Severity

router = APIRouter(prefix="/v1/communities/{cid}/alarms", tags=["alarms"])

StateFilter = Literal["active", "active_unack", "active_ack", "cleared"]


@router.get("", responses=problems(401, 403, 404, 429))
async def alarms(
    *,
    cid: CommunityRead,
    conn: DbConn,
    state: Annotated[
        StateFilter | None, Query(description="`active` = unacknowledged or acknowledged")
    ] = None,
    severity: Severity | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Offset = 0,
) -> AlarmsPublic:
    """Newest first."""
    total, page = await list_alarms(
        conn, cid, state=state, severity=severity, limit=limit, offset=offset
    )
    return AlarmsPublic(count=total, data=page)


@router.post("/{aid}/ack", responses=problems(400, 401, 403, 404, 409, 413, 429))
async def ack(
    cid: CommunityAck,
    key: CurrentKey,
    aid: Annotated[int, Path(ge=1, le=2**63 - 1)],
    conn: DbConn,
    body: Annotated[AlarmAck | None, Body()] = None,
) -> AlarmPublic:
    """Acknowledge an active alarm (idempotent); 409 when it is already cleared."""
    by = body.by if body is not None and body.by else key.label
    note = body.note if body is not None else None
    return await acknowledge(conn, cid, aid, by, note)
