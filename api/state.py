"""What one API process holds while it runs, created by the app's lifespan."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from psycopg_pool import AsyncConnectionPool

from api.cache import TtlCache
from api.config import ApiConfig
from api.db import Conn
from api.flights import Flights
from api.http_metrics import HttpMetrics
from api.keys import ApiKey
from api.ratelimit import RateLimiter


@dataclass(slots=True)
class ApiState:
    config: ApiConfig
    pool: AsyncConnectionPool[Conn]
    metrics: HttpMetrics
    limiter: RateLimiter
    # Presented key text (hashed) → key; community id → True when it exists.
    keys: TtlCache[bytes, ApiKey]
    communities: TtlCache[str, bool]
    monotonic: Callable[[], float]  # rate limits and caches
    now: Callable[[], datetime]  # wall clock, for default history ranges
    # Lookups on a cache miss, one per key digest / community at a time (api/flights.py).
    key_lookups: Flights[bytes, ApiKey | None] = field(default_factory=Flights)
    community_lookups: Flights[str, bool] = field(default_factory=Flights)
