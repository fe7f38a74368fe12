"""``GET /v1/me/map``: the signed-in person's community drawn small, for the phone page.

Building footprints and grid outlines in the community's local metres (the
page draws them as SVG), and a resident's own home to default a report to.
No names of people, no devices, no status: only the person's own community,
which the session decides (there is no community in the path to guess).
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from api.deps import DbConn
from api.errors import NotFoundError
from api.models.common import problems
from api.models.me_map import CommunityMap
from api.queries.me_map import community_map
from api.sessions import SignedIn

router = APIRouter(tags=["people"])


@router.get("/v1/me/map", responses=problems(401, 404))
async def my_map(session: SignedIn, conn: DbConn, response: Response) -> CommunityMap:
    """Footprints and grids of this person's community, in local metres."""
    found = await community_map(conn, session.person)
    if found is None:
        raise NotFoundError("community", session.person.community_id)
    response.headers["Cache-Control"] = "private, max-age=300"
    return found
