"""Shared by the closed-loop tests: a small community model, a database holding it,
MQTT publishing of incident events and telemetry, and polling the database."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import orjson
import psycopg

from api.community_store import import_community
from commtwin import db
from tests.ingest.helpers import LANTING_CRS
from tests.ingest.publisher import publish
from tests.services import ROOT, scratch_database
from twin.community.file import community_from_json


def square(x0: float, y0: float, x1: float, y1: float) -> dict[str, Any]:
    ring = [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]
    return {"type": "Polygon", "coordinates": [ring]}


# Two buildings in the grids of two workers, a third grid without a worker.
# b01: storeys of 3 m from z = 0 (storey 3 is 6 m ≤ z < 9 m).
MODEL: dict[str, Any] = {
    "id": "lanting",
    "name": "Lanting",
    "crs": LANTING_CRS,
    "storey_height": 3.0,
    "buildings": [
        {
            "id": "b01",
            "footprint": square(0, 0, 30, 12),
            "roof_z": 54.0,
            "units": [
                {"id": "1-101", "storey": 1, "footprint": square(0, 0, 10, 12)},
                {"id": "1-301", "storey": 3, "footprint": square(0, 0, 10, 12)},
            ],
        },
        {"id": "b02", "footprint": square(70, 0, 100, 12), "roof_z": 30.0},
        {"id": "b03", "footprint": square(130, 0, 150, 12), "roof_z": 15.0},
    ],
    "grids": [
        {"id": "g1", "worker": "w-zhang", "polygon": square(-10, -10, 60, 40)},
        {"id": "g2", "worker": "w-li", "polygon": square(60, -10, 120, 40)},
        {"id": "g3", "polygon": square(120, -10, 200, 40)},
    ],
    "devices": [
        {"id": "smoke-b01-0101", "kind": "smoke", "metrics": ["smoke", "temperature"],
         "building": "b01", "storey": 1, "unit": "1-101"},
        {"id": "leak-b03", "kind": "water_leak", "metrics": ["leak"],
         "building": "b03", "storey": 1},
        {"id": "env-b02", "kind": "env", "metrics": ["temperature", "humidity"],
         "building": "b02", "storey": 2},
        {"id": "door-b01", "kind": "door", "metrics": ["open"], "building": "b01", "storey": 1},
        {"id": "wear-0001", "kind": "wearable", "metrics": ["heart_rate", "fall", "sos"],
         "mobile": True, "building": "b01", "storey": 3, "unit": "1-301"},
    ],
}  # fmt: skip


@contextmanager
def loop_database() -> Iterator[str]:
    """A migrated (plain) database holding :data:`MODEL`."""
    with scratch_database("commtwin_loop") as url:
        db.upgrade(url, prefer="plain")
        with psycopg.connect(url, autocommit=True) as conn:
            import_community(conn, community_from_json(MODEL))
        yield url


def ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)


def now_utc() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def event(incident: str, event_id: str, type_: str, at: datetime, **fields: Any) -> dict[str, Any]:
    return {"incident": incident, "event_id": event_id, "type": type_, "ts": ms(at), **fields}


def publish_events(url: str, root: str, events: list[dict[str, Any]]) -> None:
    """Publish incident events (dicts with an ``incident`` key) in this order, QoS 1."""
    messages = []
    for e in events:
        doc = {k: v for k, v in e.items() if k != "incident"}
        messages.append((f"{root}/lanting/incidents/{e['incident']}/events", orjson.dumps(doc)))
    publish(url, messages)


def publish_readings(
    url: str, root: str, device: str, *readings: tuple[datetime, dict[str, Any]], **extra: Any
) -> None:
    """Publish telemetry of one device, one message per reading, in this order."""
    topic = f"{root}/lanting/devices/{device}/telemetry"
    publish(
        url,
        [(topic, orjson.dumps({"ts": ms(at), "values": v, **extra})) for at, v in readings],
    )


def rows(url: str, query: str, *params: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(query.encode(), params or None).fetchall()  # type: ignore[arg-type]


def wait_rows(
    url: str, query: str, *params: Any, expect: Any, timeout: float = 20.0
) -> list[tuple[Any, ...]]:
    """Poll ``query`` until its rows equal ``expect`` (or time runs out); the last rows."""
    found = rows(url, query, *params)
    deadline = time.monotonic() + timeout
    while found != expect and time.monotonic() < deadline:
        time.sleep(0.2)
        found = rows(url, query, *params)
    return found


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``python -m commtwin ...`` with only the given COMMTWIN_* variables."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("COMMTWIN_")}
    full_env.update(env)
    return subprocess.run(
        [sys.executable, "-m", "commtwin", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
