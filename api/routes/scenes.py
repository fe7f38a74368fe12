"""Scene trends for screens: ``GET …/scenes/{energy,traffic,alarms,governance}``.

Readable with a ``cockpit:read`` key: aggregates only, from the rollups,
cached per community and parameters (:mod:`api.scene_cache`) with a strong
``ETag``; send it back in ``If-None-Match`` for a 304.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from typing import Annotated, Any, Literal, cast

from fastapi import APIRouter, Query, Request, Response

from api.deps import CommunityRead, ObjectId, State
from api.models.common import problems
from api.models.scenes import AlarmTrend, EnergyTrend, GovernanceTrend, Span, TrafficTrend
from api.queries import scenes
from api.scene_cache import SceneCache, not_modified
from twin.scenes.periods import grid

router = APIRouter(prefix="/v1/communities/{cid}", tags=["scenes"])

SpanParam = Annotated[
    Span, Query(description="24h: per hour; 30d: per day; 12mo: per month (local time)")
]
AlarmScene = Annotated[
    Literal["safety", "elderly", "energy", "traffic"],
    Query(description="the scene whose devices' alarms are counted"),
]
BuildingFilter = Annotated[str | None, Query(min_length=1, max_length=200, pattern=r"^[^\x00]+$")]
_ETAG = {"description": "digest of the answer", "schema": {"type": "string"}}


def _responses(model: type[Any]) -> dict[int | str, dict[str, Any]]:
    return {
        200: {"model": model, "headers": {"ETag": _ETAG}},
        304: {"description": "unchanged since the ETag in `If-None-Match`"},
        **problems(401, 403, 404, 429),
    }


def scene_cache(request: Request) -> SceneCache:
    return cast(SceneCache, request.app.state.scenes)


async def _answer(
    request: Request, state: State, span: str, key: Hashable, build: Callable[[], Awaitable[Any]]
) -> Response:
    got = await scene_cache(request).get(span, key, state.monotonic, build)
    headers = {"ETag": got.etag, "Cache-Control": f"private, max-age={got.max_age}"}
    if not_modified(request.headers.get("if-none-match"), got.etag):
        return Response(status_code=304, headers=headers)
    return Response(got.body, media_type="application/json", headers=headers)


@router.get("/scenes/energy", response_class=Response, responses=_responses(EnergyTrend))
async def community_energy(
    request: Request, cid: CommunityRead, state: State, span: SpanParam = "24h"
) -> Response:
    """Low carbon: grid energy, PV generation and self-consumption, carbon (kg CO₂e)
    per period; per building its totals, floor area, intensity per m² and rank."""
    return await _answer(request, state, span, ("energy", cid, None, span),
                         lambda: _energy(state, cid, span, None))  # fmt: skip


@router.get(
    "/buildings/{bid}/scenes/energy", response_class=Response, responses=_responses(EnergyTrend)
)
async def building_energy(
    request: Request, cid: CommunityRead, bid: ObjectId, state: State, span: SpanParam = "24h"
) -> Response:
    """One building's low-carbon figures, with its storeys and homes (home meters)."""
    return await _answer(request, state, span, ("energy", cid, bid, span),
                         lambda: _energy(state, cid, span, bid))  # fmt: skip


async def _energy(state: State, cid: str, span: str, building: str | None) -> dict[str, Any]:
    cfg = state.config
    g = grid(span, state.now(), cfg.timezone)
    async with state.pool.connection() as conn:
        return await scenes.energy_trend(
            conn, cid, g, cfg.timezone, factor=cfg.emission_factor, building=building
        )


@router.get("/scenes/traffic", response_class=Response, responses=_responses(TrafficTrend))
async def community_traffic(
    request: Request, cid: CommunityRead, state: State, span: SpanParam = "24h"
) -> Response:
    """Traffic: occupancy per parking lot, EV chargers (free now, availability,
    sessions, energy) and vehicle gates' entries and exits per period."""

    async def build() -> dict[str, Any]:
        g = grid(span, state.now(), state.config.timezone)
        async with state.pool.connection() as conn:
            return await scenes.traffic_trend(conn, cid, g, state.config.timezone)

    return await _answer(request, state, span, ("traffic", cid, span), build)


@router.get("/scenes/alarms", response_class=Response, responses=_responses(AlarmTrend))
async def scene_alarms(
    *,
    request: Request,
    cid: CommunityRead,
    state: State,
    scene: AlarmScene,
    span: SpanParam = "24h",
    building: BuildingFilter = None,
) -> Response:
    """Alarms raised per period by severity, of the devices of one scene."""

    async def build() -> dict[str, Any]:
        g = grid(span, state.now(), state.config.timezone)
        async with state.pool.connection() as conn:
            return await scenes.alarm_trend(
                conn, cid, scene, g, state.config.timezone, building=building
            )

    return await _answer(request, state, span, ("alarms", cid, scene, building, span), build)


@router.get("/scenes/governance", response_class=Response, responses=_responses(GovernanceTrend))
async def scene_governance(
    *,
    request: Request,
    cid: CommunityRead,
    state: State,
    span: SpanParam = "30d",
    building: BuildingFilter = None,
) -> Response:
    """Governance: incidents (residents' reports and alarms') reported and closed per period."""

    async def build() -> dict[str, Any]:
        g = grid(span, state.now(), state.config.timezone)
        async with state.pool.connection() as conn:
            return await scenes.governance_trend(conn, cid, g, state.config.timezone, building)

    return await _answer(request, state, span, ("governance", cid, building, span), build)
