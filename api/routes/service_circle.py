"""The 15-minute service circle: walking minutes per building, summary, CSV, what-if."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
import shapely
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from api.deps import CommunityRead, DbConn
from api.errors import BadRequestError
from api.models.common import problems
from api.models.service_circle import Place, ScenarioCreate
from api.queries.service_circle import (
    CircleCache,
    Computed,
    buildings_geojson,
    facilities_geojson,
    homes_csv,
    summary,
)
from twin.errors import ModelError
from twin.model.facilities import Facility
from twin.services.circle import ELDERLY_WALKING_SPEED_M_S, CircleConfig
from twin.services.scenario import Scenario, run_scenario

router = APIRouter(prefix="/v1/communities/{cid}/service-circle", tags=["service circle"])

Speed = Annotated[
    float,
    Query(gt=0.2, le=3.0, description="walking speed, m/s (default 0.9: older pedestrians)"),
]


def _cache(request: Request) -> CircleCache:
    cache = getattr(request.app.state, "service_circle", None)
    if cache is None:
        cache = request.app.state.service_circle = CircleCache()
    return cache


async def _computed(request: Request, conn: DbConn, cid: str, speed: float) -> Computed:
    return await _cache(request).get(conn, cid, CircleConfig(speed_m_s=speed))


def _json(data: Any, media_type: str = "application/json") -> Response:
    return Response(orjson.dumps(data), media_type=media_type)


_GEOJSON: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/geo+json": {}}},
    **problems(401, 403, 404, 429),
}


@router.get("", responses=_GEOJSON)
async def circle_buildings(
    request: Request, cid: CommunityRead, conn: DbConn, speed: Speed = ELDERLY_WALKING_SPEED_M_S
) -> Response:
    """Buildings (WGS 84) with walking minutes to the nearest facility of each type."""
    c = await _computed(request, conn, cid, speed)
    return _json(buildings_geojson(c), "application/geo+json")


@router.get("/facilities", responses=_GEOJSON)
async def circle_facilities(request: Request, cid: CommunityRead, conn: DbConn) -> Response:
    """The community's facilities (WGS 84), with their local x/y."""
    c = await _computed(request, conn, cid, ELDERLY_WALKING_SPEED_M_S)
    return _json(facilities_geojson(c), "application/geo+json")


@router.get("/summary", responses=problems(401, 403, 404, 429))
async def circle_summary(
    request: Request, cid: CommunityRead, conn: DbConn, speed: Speed = ELDERLY_WALKING_SPEED_M_S
) -> Response:
    """Per community and grid and type: homes and elderly homes within 5/10/15 minutes, gaps."""
    return _json(summary(await _computed(request, conn, cid, speed)))


@router.get(
    "/homes.csv",
    responses={200: {"content": {"text/csv": {}}}, **problems(401, 403, 404, 429)},
)
async def circle_csv(
    request: Request, cid: CommunityRead, conn: DbConn, speed: Speed = ELDERLY_WALKING_SPEED_M_S
) -> Response:
    """One row per home: building, unit, grid, elderly, minutes and estimate flag per type."""
    c = await _computed(request, conn, cid, speed)
    return Response(
        homes_csv(c),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{cid}-service-circle.csv"'},
    )


@router.post("/scenarios", responses=problems(400, 401, 403, 404, 413, 429))
async def circle_scenario(
    request: Request,
    cid: CommunityRead,
    conn: DbConn,
    body: ScenarioCreate,
    speed: Speed = ELDERLY_WALKING_SPEED_M_S,
) -> Response:
    """What-if: facilities added, moved or removed → homes newly covered per type.

    Nothing stored changes.
    """
    c = await _computed(request, conn, cid, speed)
    try:
        added = tuple(
            Facility(a.id or f"candidate-{i + 1}", a.type, _point(c, a), a.name)
            for i, a in enumerate(body.add)
        )
        moved = tuple(Facility(m.id, "", _point(c, m)) for m in body.move)
        result = run_scenario(
            c.circle, c.minutes, c.homes, Scenario(added, moved, tuple(body.remove))
        )
    except ModelError as exc:
        raise BadRequestError("scenario", str(exc)) from None
    return _json({"community": cid, "model_version": c.version, **result})


def _point(c: Computed, place: Place) -> Any:
    if place.x is not None and place.y is not None:
        return shapely.Point(place.x, place.y)
    # Place guarantees lon and lat when x and y are missing.
    x, y, _ = c.community.frame.to_local([place.lon or 0.0], [place.lat or 0.0])
    return shapely.Point(float(x[0]), float(y[0]))
