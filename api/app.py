"""The FastAPI application: ``create_app(config)`` wires routers, middleware, errors.

The lifespan opens the connection pool, then enters each *service* (an async
context manager factory taking the :class:`~api.state.ApiState`): that is
where background work such as a LISTEN/NOTIFY consumer keeping live state
current slots in, started after the pool and stopped before it closes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import platformdirs
import psycopg
from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import Scope

from api import __version__, cockpit, district_page, people_page
from api.body_limit import BodyLimitMiddleware
from api.cache import TtlCache
from api.config import ApiConfig
from api.db import Conn
from api.district_view import DistrictBoard
from api.errors import ApiError
from api.geo import GeoError
from api.http_metrics import HttpMetrics, MetricsMiddleware
from api.live.fastpath import LiveFastPath
from api.live.hub import LiveHub
from api.object_store import make_store
from api.queries.building_collection import Footprints
from api.ratelimit import RateLimiter
from api.routes import (
    alarms,
    backdrops,
    building_meshes,
    buildings,
    care,
    communities,
    deadletters,
    decisions,
    devices,
    districts,
    grids,
    health,
    history,
    incidents,
    keys,
    kpis,
    live,
    me_map,
    me_push,
    me_stream,
    my_incidents,
    participation,
    paths,
    people,
    photos,
    scenes,
    service_circle,
    stream,
    tables,
    topics,
    votes,
)
from api.scene_cache import SceneCache
from api.state import ApiState

if TYPE_CHECKING:
    from api.push import PushSender

log = logging.getLogger(__name__)

Service = Callable[[ApiState], AbstractAsyncContextManager[None]]


def _utc_now() -> datetime:
    return datetime.now(UTC)


def create_app(
    config: ApiConfig,
    *,
    services: Sequence[Service] = (),
    monotonic: Callable[[], float] = time.monotonic,
    now: Callable[[], datetime] = _utc_now,
) -> FastAPI:
    """A ready-to-serve app; nothing connects until its lifespan starts."""
    metrics = HttpMetrics()
    # The live state (/live, /stream): built per community on first use, kept
    # current by LISTEN while the lifespan runs.
    hub = LiveHub(
        now=now,
        timezone=config.timezone,
        replay_limit=config.sse_replay_max,
        subscriber_queue=config.sse_queue,
        build_timeout_s=config.pool_timeout_s + 5.0,
        freeze_heap=config.freeze_live_heap,
    )
    # Web Push (docs/people.md "Web Push"): one sender per process, when a VAPID key is set.
    push = _push_sender(config, hub)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool: AsyncConnectionPool[Conn] = AsyncConnectionPool(
            config.database_url,
            min_size=config.pool_min_size,
            max_size=config.pool_max_size,
            timeout=config.pool_timeout_s,
            kwargs={"autocommit": True},
            # Drop connections broken by a database restart instead of failing requests.
            check=AsyncConnectionPool.check_connection,
            open=False,
        )
        # Not waiting: the API starts (and /readyz says why) while the database is down.
        await pool.open(wait=False)
        state = ApiState(
            config=config,
            pool=pool,
            metrics=metrics,
            limiter=RateLimiter(config.rate_per_s, config.rate_burst),
            keys=TtlCache(config.key_cache_s),
            communities=TtlCache(config.key_cache_s),
            monotonic=monotonic,
            now=now,
        )
        app.state.api = state
        try:
            async with AsyncExitStack() as stack:
                await stack.enter_async_context(hub.running(pool, config.database_url))
                if push is not None:
                    await stack.enter_async_context(push.running(pool, config.database_url))
                for service in services:
                    await stack.enter_async_context(service(state))
                yield
        finally:
            await pool.close()

    app = FastAPI(
        title="commtwin cockpit API",
        version=__version__,
        description="Live state, history, alarms and dead letters of residential "
        "communities. Send an API key as `Authorization: Bearer KEY` or `X-API-Key`.",
        lifespan=lifespan,
    )
    for router in (
        health.router,
        communities.router,
        buildings.router,
        grids.router,
        devices.router,
        history.router,
        alarms.router,
        deadletters.router,
        keys.router,
        live.router,
        stream.router,
        incidents.router,
        kpis.router,
        districts.router,
        service_circle.router,
        scenes.router,
        care.router,
        people.router,
        backdrops.router,
        paths.router,
        me_map.router,
        me_stream.router,
        me_push.router,
        building_meshes.router,
        photos.router,
        my_incidents.router,
        # the round table (docs/roundtable.md)
        topics.router,
        tables.router,
        votes.router,
        decisions.router,
        participation.router,
    ):
        app.include_router(router)
    # Failed sign-ins per account and per address (twin.people.throttle).
    app.state.sign_in_limits = people.SignInLimits()
    # Photos of reports: a directory, or an S3-compatible bucket (api/object_store.py).
    app.state.photo_store = make_store(
        config.photo_dir or platformdirs.user_data_path("commtwin") / "photos", config.photo_s3
    )
    app.state.photo_checks = asyncio.Semaphore(config.photo_checks)
    app.state.live = hub
    app.state.push = push
    app.state.scenes = SceneCache()
    app.state.glb = building_meshes.GlbCache()
    app.state.footprints = Footprints()
    app.state.districts = DistrictBoard(
        hub, timezone=config.timezone, members_ttl_s=config.key_cache_s, monotonic=monotonic
    )
    web_dir = config.web_dir or cockpit.DEFAULT_WEB_DIR
    app.include_router(district_page.make_router(web_dir))
    app.include_router(cockpit.make_router(web_dir))
    app.include_router(people_page.make_router(web_dir))
    _install_error_handlers(app)
    # Added innermost first: metrics see every response, 413s and CORS preflights included.
    # /live polls answered from memory before routing (api/live/fastpath.py).
    app.add_middleware(LiveFastPath, hub=hub, route=live.router.routes[0])
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=config.max_body_bytes,
        upload_bytes=config.max_upload_bytes,
        upload_path=photos.UPLOAD_PATH,
    )
    if config.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(config.cors_origins),
            allow_methods=["GET", "POST", "DELETE", "OPTIONS"],
            allow_headers=[
                "Authorization",
                "X-API-Key",
                "Content-Type",
                "If-None-Match",
                "Last-Event-ID",
            ],
            expose_headers=["ETag", "Retry-After"],
            max_age=600,
        )
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    return app


def _push_sender(config: ApiConfig, hub: LiveHub) -> PushSender | None:
    if config.push is None:
        return None
    # pywebpush and requests are imported only when Web Push is on
    from api.push import PushSender  # noqa: PLC0415

    return PushSender(config.push, hub)


def _problem(status: int, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


def allowed_methods(app: FastAPI, scope: Scope) -> list[str]:
    """Methods of every route whose path matches (Starlette names only the first's)."""
    methods: set[str] = set()
    for route in app.router.routes:
        match, _ = route.matches(scope)
        route_methods = getattr(route, "methods", None)
        if match is not Match.NONE and route_methods:
            methods |= set(route_methods)
    return sorted(methods)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 405:
            allow = ", ".join(allowed_methods(app, request.scope))
            exc = StarletteHTTPException(405, exc.detail, headers={"Allow": allow})
        return await http_exception_handler(request, exc)

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return _problem(exc.status_code, str(exc))

    @app.exception_handler(PoolTimeout)
    async def pool_timeout(request: Request, exc: PoolTimeout) -> JSONResponse:
        log.warning("no database connection for %s: %s", request.url.path, exc)
        return _problem(503, "database unavailable, try again", {"Retry-After": "5"})

    @app.exception_handler(psycopg.OperationalError)
    async def db_down(request: Request, exc: psycopg.OperationalError) -> JSONResponse:
        log.warning("database error on %s: %s", request.url.path, exc)
        return _problem(503, "database unavailable, try again", {"Retry-After": "5"})

    @app.exception_handler(GeoError)
    async def geo_error(request: Request, exc: GeoError) -> JSONResponse:
        # Stored model data that cannot be converted: the server's problem, said plainly.
        log.error("%s: %s", request.url.path, exc)
        return _problem(500, str(exc))
