"""``GET /v1/communities/{cid}/live``: the cockpit snapshot, polled by every screen.

Served from the in-memory live state (:mod:`api.live`) as bytes rendered once
per change: no database access and no per-request serialisation. The key
check is a plain call with cached lookups instead of FastAPI dependencies,
which would cost more than the rest of the request.
"""

from __future__ import annotations

from typing import Any, cast

from fastapi import APIRouter, Request, Response

from api.deps import CommunityId, authorize, get_state
from api.errors import NotFoundError
from api.live.answer import answer
from api.live.hub import LiveHub
from api.models.common import problems
from api.models.live import LiveSnapshot

router = APIRouter(prefix="/v1/communities/{cid}", tags=["live"])

_ETAG = {"description": 'the snapshot\'s version, e.g. `"1234"`', "schema": {"type": "string"}}
_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "model": LiveSnapshot,
        "description": "the snapshot",
        "headers": {"ETag": _ETAG, "Cache-Control": {"schema": {"type": "string"}}},
    },
    304: {
        "description": "unchanged since the ETag given in `If-None-Match`",
        "headers": {"ETag": _ETAG},
    },
    **problems(401, 403, 404, 429),
}
_IF_NONE_MATCH = {
    "name": "If-None-Match",
    "in": "header",
    "required": False,
    "schema": {"type": "string"},
    "description": "the ETag of the snapshot the client holds: 304 if it is still current",
}


def live_hub(request: Request) -> LiveHub:
    return cast(LiveHub, request.app.state.live)


@router.get(
    "/live",
    response_class=Response,
    responses=_RESPONSES,
    openapi_extra={"parameters": [_IF_NONE_MATCH]},
)
async def live(request: Request, cid: CommunityId) -> Response:
    """The whole cockpit state: KPIs, building and storey status, active alarms,
    open incidents. Strong `ETag` = version; revalidate each poll with
    `If-None-Match` (`Cache-Control: no-cache`)."""
    await authorize(request, cid, "cockpit:read")
    hub = live_hub(request)
    doc = hub.cached(cid, get_state(request).now())
    if doc is None:
        doc = await hub.document(cid)
        if doc is None:
            raise NotFoundError("community", cid)
    headers = request.headers
    status, raw, body = answer(doc, headers.get("if-none-match"), headers.get("accept-encoding"))
    response = Response(body, status_code=status)
    response.raw_headers = list(raw)
    return response
