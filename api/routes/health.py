"""Open endpoints for orchestration and monitoring: liveness, readiness, metrics."""

from __future__ import annotations

import psycopg
from fastapi import APIRouter, Response
from psycopg_pool import PoolTimeout

from api.db import fetch_one
from api.deps import State
from api.models.health import HealthPublic, ReadinessPublic
from schemas.migrations import latest_version

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> HealthPublic:
    """The process is up (no dependency is checked)."""
    return HealthPublic(status="ok")


@router.get(
    "/readyz",
    responses={503: {"model": ReadinessPublic, "description": "database unreachable or stale"}},
)
async def readyz(state: State, response: Response) -> ReadinessPublic:
    """The database answers and its schema is the one this code expects."""
    expected = latest_version()
    try:
        async with state.pool.connection(timeout=2.0) as conn:
            row = await fetch_one(conn, "SELECT max(version) AS v FROM schema_migrations")
    except psycopg.errors.UndefinedTable:
        row = None  # reachable, never migrated
    except (psycopg.Error, PoolTimeout) as exc:
        response.status_code = 503
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return ReadinessPublic(
            status="not_ready",
            schema_version=None,
            expected_schema_version=expected,
            detail=f"database unavailable: {reason}",
        )
    version = None if row is None or row["v"] is None else int(row["v"])
    if version != expected:
        response.status_code = 503
        return ReadinessPublic(
            status="not_ready",
            schema_version=version,
            expected_schema_version=expected,
            detail=f"schema version is {version or 'none'}, expected {expected}:"
            " run `commtwin db upgrade`",
        )
    return ReadinessPublic(status="ready", schema_version=version, expected_schema_version=expected)


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
async def metrics(state: State) -> Response:
    """Prometheus text format: requests by route and status, latency, pool use."""
    body = state.metrics.render(state.pool.get_stats())
    return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")
