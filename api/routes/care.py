"""``GET /v1/communities/{cid}/scenes/care``: the elderly scene's figures.

Readable with a ``cockpit:read`` key; counts of households, care alarms and
incidents, and the homes whose daily check is raised (where, since when, the
incident), never a device's readings. Cached like the scene trends
(:mod:`api.scene_cache`, 30 s) with a strong ``ETag``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from api.deps import CommunityRead, State
from api.models.care import CareSummary
from api.models.common import problems
from api.queries.care import care_summary
from api.routes.scenes import scene_cache
from api.scene_cache import not_modified

router = APIRouter(prefix="/v1/communities/{cid}", tags=["scenes"])
_ETAG = {"description": "digest of the answer", "schema": {"type": "string"}}


@router.get(
    "/scenes/care",
    response_class=Response,
    responses={
        200: {"model": CareSummary, "headers": {"ETag": _ETAG}},
        304: {"description": "unchanged since the ETag in `If-None-Match`"},
        **problems(401, 403, 404, 429),
    },
)
async def care(request: Request, cid: CommunityRead, state: State) -> Response:
    """Elderly care: households watched, care and wearable alarms, care incidents, quiet homes."""

    async def build() -> dict[str, Any]:
        async with state.pool.connection() as conn:
            doc = await care_summary(conn, cid)
        return CareSummary.model_validate(doc).model_dump(mode="json")

    got = await scene_cache(request).get("24h", ("care", cid), state.monotonic, build)
    headers = {"ETag": got.etag, "Cache-Control": f"private, max-age={got.max_age}"}
    if not_modified(request.headers.get("if-none-match"), got.etag):
        return Response(status_code=304, headers=headers)
    return Response(got.body, media_type="application/json", headers=headers)
