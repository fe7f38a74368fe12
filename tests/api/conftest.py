"""API test fixtures: seeded data, a live uvicorn server in a thread, keys per role."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from api.app import create_app
from api.config import ApiConfig
from tests.api.seed import Seed, seed
from tests.services import free_port


@contextmanager
def serve(app: FastAPI) -> Iterator[str]:
    """Run ``app`` with uvicorn on a free port (one worker, as in production)."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test API server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


@pytest.fixture(scope="session")
def seeded(database_url: str) -> Seed:
    return seed(database_url)


@pytest.fixture(scope="session")
def api_config(database_url: str) -> ApiConfig:
    # No key caching, so that revocations are seen at once by the tests.
    return ApiConfig(
        database_url,
        cors_origins=("https://screen.example",),
        rate_per_s=1e6,
        rate_burst=1e6,
        key_cache_s=0.0,
        max_points=5000,
    )


@pytest.fixture(scope="session")
def api_url(api_config: ApiConfig, seeded: Seed) -> Iterator[str]:
    with serve(create_app(api_config)) as url:
        yield url


@pytest.fixture
def client(api_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=api_url, timeout=30) as c:
        yield c


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture(scope="session")
def keys(seeded: Seed) -> dict[str, dict[str, str]]:
    """Request headers per role (see ``tests.api.seed.ROLES``)."""
    return {role: auth(text) for role, text in seeded.keys.items()}


__all__ = ["auth", "replace", "serve"]
