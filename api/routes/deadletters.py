"""Messages ingest could not use, for maintainers."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import CommunityMaintain, DbConn
from api.models.common import problems
from api.models.deadletters import DeadLettersPublic
from api.params import IsoDatetime, Offset, TextFilter
from api.queries.deadletters import list_dead_letters

router = APIRouter(prefix="/v1/communities/{cid}/deadletters", tags=["dead letters"])


@router.get("", responses=problems(401, 403, 404, 429))
async def dead_letters(
    *,
    cid: CommunityMaintain,
    conn: DbConn,
    reason: TextFilter = None,
    since: Annotated[
        IsoDatetime | None, Query(alias="from", description="last received at or after")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Offset = 0,
) -> DeadLettersPublic:
    """Most recently received first; a redelivered message counts up `occurrences`."""
    total, page = await list_dead_letters(
        conn, cid, reason=reason, since=since, limit=limit, offset=offset
    )
    return DeadLettersPublic(count=total, data=page)
