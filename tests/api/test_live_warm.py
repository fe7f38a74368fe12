"""The /live fast path's caches are looked up again before they expire, once per
entry, and a key revoked meanwhile still stops working on time (api/live/warm.py);
the fast path in front of the whole app (api/live/fastpath.py, LiveFront)."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import cast

import httpx
import psycopg
import pytest
from fastapi import FastAPI
from psycopg_pool import AsyncConnectionPool

from api.app import create_app
from api.cache import TtlCache
from api.config import ApiConfig
from api.db import Conn
from api.http_metrics import HttpMetrics
from api.live.fastpath import live_front
from api.live.warm import CacheWarmer
from api.queries.keys import authenticate
from api.ratelimit import RateLimiter
from api.state import ApiState
from tests.api.conftest import serve
from tests.api.live_fixtures import seeded_database
from tests.api.seed import A, Seed

TTL = 5.0


@pytest.fixture(scope="module")
def seeded_db() -> Iterator[tuple[str, Seed]]:
    with seeded_database("commtwin_test_live_warm") as found:
        yield found


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


async def _state(url: str, clock: Clock) -> ApiState:
    pool: AsyncConnectionPool[Conn] = AsyncConnectionPool(
        url, min_size=1, max_size=2, kwargs={"autocommit": True}, open=False
    )
    await pool.open(wait=True)
    return ApiState(
        config=ApiConfig(url),
        pool=pool,
        metrics=HttpMetrics(),
        limiter=RateLimiter(1e6, 1e6),
        keys=TtlCache(TTL),
        communities=TtlCache(TTL),
        monotonic=clock,
        now=lambda: datetime.now(UTC),
    )


def test_entries_past_half_life_are_refreshed_once_and_revocations_seen(
    seeded_db: tuple[str, Seed],
) -> None:
    url, seeded = seeded_db
    text = seeded.keys["reader_a"]
    digest = hashlib.sha256(text.encode()).digest()

    async def scenario() -> None:
        clock = Clock()
        state = await _state(url, clock)
        warmer = CacheWarmer()
        try:
            async with state.pool.connection() as conn:
                key = await authenticate(conn, text)
            assert key is not None
            state.keys.put(digest, key, clock())
            state.communities.put(A, True, clock())
            # Young entries: nothing to do.
            clock.t += 1.0
            warmer.key(state, digest, text, clock())
            warmer.community(state, A, clock())
            assert not warmer._tasks
            # Past half their life: one lookup each, however many polls ask.
            clock.t += 2.0
            for _ in range(200):
                warmer.key(state, digest, text, clock())
                warmer.community(state, A, clock())
            assert len(warmer._tasks) == 2
            await asyncio.gather(*warmer._tasks)
            assert state.keys.remaining(digest, clock()) == TTL
            assert state.communities.remaining(A, clock()) == TTL
            # Revoked meanwhile: the next refresh drops the entry at once.
            with psycopg.connect(url, autocommit=True) as db:
                db.execute("UPDATE api_keys SET revoked_at = now() WHERE id = %s", (key.id,))
            clock.t += 3.0
            warmer.key(state, digest, text, clock())
            await asyncio.gather(*warmer._tasks)
            assert state.keys.get(digest, clock()) is None
        finally:
            await state.pool.close()

    asyncio.run(scenario())


def test_the_front_answers_polls_counts_them_and_passes_the_rest(
    seeded_db: tuple[str, Seed],
) -> None:
    """``commtwin api`` serves live_front(app): same answers, same metrics, CORS intact."""
    url, seeded = seeded_db
    cfg = ApiConfig(url, rate_per_s=1e6, rate_burst=1e6, cors_origins=("https://screen.example",))
    app = create_app(cfg)
    front = live_front(app)
    assert front.route_path == "/v1/communities/{cid}/live"
    with serve(cast(FastAPI, front)) as base, httpx.Client(base_url=base) as client:
        auth = {"Authorization": f"Bearer {seeded.keys['reader_all']}"}
        first = client.get(f"/v1/communities/{A}/live", headers=auth)  # built by the route
        assert first.status_code == 200
        etag = first.headers["etag"]
        for _ in range(3):
            again = client.get(f"/v1/communities/{A}/live", headers=auth | {"If-None-Match": etag})
            assert (again.status_code, again.headers["etag"]) == (304, etag)
        packed = client.get(f"/v1/communities/{A}/live", headers=auth | {"Accept-Encoding": "gzip"})
        assert packed.headers["content-encoding"] == "gzip"
        assert packed.json()["version"] == first.json()["version"]
        # A browser on another origin still gets its CORS header (the app answers it).
        cross = client.get(
            f"/v1/communities/{A}/live", headers=auth | {"Origin": "https://screen.example"}
        )
        assert cross.headers["access-control-allow-origin"] == "https://screen.example"
        assert client.get(f"/v1/communities/{A}/live").status_code == 401
        text = client.get("/metrics").text
        counted = [
            line
            for line in text.splitlines()
            if line.startswith("commtwin_http_requests_total")
            and 'route="/v1/communities/{cid}/live"' in line
            and 'status="304"' in line
        ]
        assert counted
        assert float(counted[0].split()[-1]) == 3.0
