"""Communities the key may see, with counts."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import CommunityRead, DbConn, ReaderKey
from api.errors import NotFoundError
from api.models.common import problems
from api.models.communities import CommunitiesPublic, CommunityPublic
from api.queries.communities import list_communities

router = APIRouter(prefix="/v1/communities", tags=["communities"])


@router.get("", responses=problems(401, 403, 429))
async def communities(key: ReaderKey, conn: DbConn) -> CommunitiesPublic:
    if key.unrestricted:
        data = await list_communities(conn, frozenset())
    else:
        visible = key.communities | key.members
        data = await list_communities(conn, visible) if visible else []
    return CommunitiesPublic(count=len(data), data=data)


@router.get("/{cid}", responses=problems(401, 403, 404, 429))
async def community(cid: CommunityRead, conn: DbConn) -> CommunityPublic:
    found = await list_communities(conn, frozenset({cid}))
    if not found:
        raise NotFoundError("community", cid)
    return found[0]
