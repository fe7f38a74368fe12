"""History for maintainers: one device's metric, or aggregated over an area.

``Accept: text/csv`` returns the same points as CSV (``t,v``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from api.buckets import Agg
from api.deps import CommunityMaintain, DbConn, ObjectId, State
from api.models.common import problems
from api.models.history import HistoryPoint, HistoryPublic
from api.params import IsoDatetime, StoreyFilter, TextFilter
from api.queries import history
from api.queries.history import HistoryRequest, HistoryResult, Selection

router = APIRouter(prefix="/v1/communities/{cid}", tags=["history"])

Metric = Annotated[
    str, Query(pattern=r"^[a-z][a-z0-9_]{0,63}$", description="metric name", examples=["power_kw"])
]
From = Annotated[
    IsoDatetime | None,
    Query(alias="from", description="inclusive start (default: a day before `to`)"),
]
To = Annotated[IsoDatetime | None, Query(alias="to", description="exclusive end (default: now)")]
Bucket = Annotated[
    str | None,
    Query(
        pattern=r"^[0-9]{1,9}[smhd]$",
        description="bucket width (30s, 5m, 1h, 1d ...); omitted: raw points",
    ),
]
AggParam = Annotated[Agg | None, Query(description="aggregate per bucket (default avg)")]
_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {"schema": {"type": "string"}}}},
    **problems(400, 401, 403, 404, 429),
}


def _respond(request: Request, result: HistoryResult) -> HistoryPublic | Response:
    if "text/csv" in request.headers.get("accept", ""):
        return Response(history.to_csv(result), media_type="text/csv; charset=utf-8")
    req, plan = result.request, result.plan
    return HistoryPublic(
        community=req.selection.community,
        device=req.selection.device,
        building=req.selection.building,
        storey=req.selection.storey,
        kind=req.selection.kind,
        metric=req.metric,
        start=plan.window.start,
        end=plan.window.end,
        bucket=req.bucket,
        agg=plan.agg,
        source=plan.source,
        devices=result.devices,
        points=[HistoryPoint(t=t, v=v) for t, v in result.points],
    )


@router.get("/devices/{did}/history", response_model=HistoryPublic, responses=_RESPONSES)
async def device_history(
    *,
    request: Request,
    cid: CommunityMaintain,
    did: ObjectId,
    state: State,
    conn: DbConn,
    metric: Metric,
    start: From = None,
    end: To = None,
    bucket: Bucket = None,
    agg: AggParam = None,
) -> HistoryPublic | Response:
    """Raw points, or buckets aligned on multiples of their width since 1970 UTC.

    A bucketed answer covers the whole buckets overlapping `[from, to)`;
    empty buckets are left out.
    """
    req = HistoryRequest(Selection(cid, device=did), metric, start, end, bucket, agg)
    result = await history.fetch(conn, req, state.now(), state.config.max_points)
    return _respond(request, result)


@router.get("/history", response_model=HistoryPublic, responses=_RESPONSES)
async def area_history(
    *,
    request: Request,
    cid: CommunityMaintain,
    state: State,
    conn: DbConn,
    metric: Metric,
    bucket: Annotated[str, Query(pattern=r"^[0-9]{1,9}[smhd]$", description="bucket width")],
    building: TextFilter = None,
    storey: StoreyFilter = None,
    kind: TextFilter = None,
    start: From = None,
    end: To = None,
    agg: AggParam = None,
) -> HistoryPublic | Response:
    """One series over every matching device: avg weighs each reading equally."""
    sel = Selection(cid, building=building, storey=storey, kind=kind)
    req = HistoryRequest(sel, metric, start, end, bucket, agg)
    result = await history.fetch(conn, req, state.now(), state.config.max_points)
    return _respond(request, result)
