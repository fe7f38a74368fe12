"""``/v1/districts``: districts a key may see, a district's overview and its stream.

The overview is computed from the member communities' live states
(:mod:`api.district_view`) and answered like ``/live``: strong ``ETag``,
``304`` on ``If-None-Match``, gzip when asked. The stream sends the whole
overview as an ``overview`` event whenever it changed, checked once a second.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated, Any, Final, cast

from fastapi import APIRouter, Depends, HTTPException, Path, Request, Response
from sse_starlette import EventSourceResponse, ServerSentEvent

from api.deps import CurrentKey, ReaderKey, State, current_key, get_state
from api.district_view import DistrictBoard
from api.errors import ApiError, NotFoundError
from api.keys import ApiKey
from api.live.answer import answer
from api.live.reader import LiveUnavailableError
from api.models.common import problems
from api.models.districts import DistrictOverview, DistrictPublic, DistrictsPublic
from api.queries.districts import District, list_districts

router = APIRouter(prefix="/v1/districts", tags=["districts"])

SCOPE: Final = "district:read"
TICK_S: Final = 1.0  # how often a stream looks for a changed overview
RETRY_MS: Final = 3000

DistrictId = Annotated[
    str, Path(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$", description="district id", examples=["xihu"])
]


def district_board(request: Request) -> DistrictBoard:
    return cast(DistrictBoard, request.app.state.districts)


async def _district_for(request: Request, did: str, key: ApiKey) -> District:
    # Existence before scope: a key learns nothing about districts it may not see.
    found = None
    if key.sees_district(did):
        found = await district_board(request).district(get_state(request).pool, did)
    if found is None:
        raise NotFoundError("district", did)
    if not key.grants(SCOPE):
        raise HTTPException(403, f"this key lacks the {SCOPE} scope")
    return found


async def district_access(request: Request, district_id: DistrictId, key: CurrentKey) -> District:
    return await _district_for(request, district_id, key)


DistrictRead = Annotated[District, Depends(district_access)]

_ETAG = {"description": "the overview's version", "schema": {"type": "string"}}
_OVERVIEW_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "model": DistrictOverview,
        "description": "the overview",
        "headers": {"ETag": _ETAG, "Cache-Control": {"schema": {"type": "string"}}},
    },
    304: {"description": "unchanged since the ETag in `If-None-Match`", "headers": {"ETag": _ETAG}},
    **problems(401, 403, 404, 429),
}
_IF_NONE_MATCH = {
    "name": "If-None-Match",
    "in": "header",
    "required": False,
    "schema": {"type": "string"},
    "description": "the ETag of the overview the client holds: 304 if it is still current",
}


@router.get("", responses=problems(401, 403, 429))
async def districts(key: ReaderKey, state: State) -> DistrictsPublic:
    """The districts this key sees (a key limited to communities sees none)."""
    if not key.grants(SCOPE):
        raise HTTPException(403, f"this key lacks the {SCOPE} scope")
    async with state.pool.connection() as conn:
        found = await list_districts(conn)
    data = [
        DistrictPublic(id=d.id, name=d.name, communities=d.communities)
        for d in found
        if key.sees_district(d.id)
    ]
    return DistrictsPublic(count=len(data), data=data)


@router.get(
    "/{district_id}/overview",
    response_class=Response,
    responses=_OVERVIEW_RESPONSES,
    openapi_extra={"parameters": [_IF_NONE_MATCH]},
)
async def overview(request: Request, district: DistrictRead, state: State) -> Response:
    """Per member community: devices online, active alarms by severity, open and
    overdue incidents, closed-loop rates today and over 30 days, its status and
    rank; and the district's totals. Revalidate with `If-None-Match`."""
    board = district_board(request)
    entries = await board.entries(district)
    doc = board.overview(district, entries, state.now()).document
    headers = request.headers
    status, raw, body = answer(doc, headers.get("if-none-match"), headers.get("accept-encoding"))
    response = Response(body, status_code=status)
    response.raw_headers = list(raw)
    return response


@router.get(
    "/{district_id}/stream",
    response_class=EventSourceResponse,
    responses={
        200: {
            "description": "an endless text/event-stream of `overview` events",
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        },
        **problems(401, 403, 404, 429),
    },
)
async def stream(request: Request, district: DistrictRead, state: State) -> EventSourceResponse:
    """The overview now, then again whenever it changes (at most once a second);
    `closing` when the key was revoked."""
    board = district_board(request)
    await board.entries(district)  # 503 now rather than a stream that cannot start
    recheck_s = max(1.0, state.config.key_cache_s)
    return EventSourceResponse(
        _events(request, board, district, recheck_s),
        ping=state.config.sse_ping_s,
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _events(
    request: Request, board: DistrictBoard, district: District, recheck_s: float
) -> AsyncIterator[ServerSentEvent]:
    state = get_state(request)
    clock = asyncio.get_running_loop().time
    next_check = clock() + recheck_s
    sent: str | None = None
    while True:
        if clock() >= next_check:
            # A stream outlives its key check: look again (cached, cheap).
            try:
                key = await current_key(request, state)
                district = await _district_for(request, district.id, key)
            except (HTTPException, ApiError) as exc:
                yield ServerSentEvent(
                    data=str(getattr(exc, "detail", exc)), event="closing", retry=RETRY_MS
                )
                return
            next_check = clock() + recheck_s
        try:
            entries = await board.entries(district)
        except LiveUnavailableError:
            entries = None  # the database is away: keep the last overview, try again
        if entries is not None:
            found = board.overview(district, entries, state.now())
            if found.etag != sent:
                sent = found.etag
                body = found.document.body.decode()
                yield ServerSentEvent(data=body, event="overview", retry=RETRY_MS)
        await asyncio.sleep(TICK_S)
