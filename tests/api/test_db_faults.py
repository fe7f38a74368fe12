"""The database really crashes (SIGKILL of the postmaster) and restarts while a real
ingestor and the API run: no message is lost or duplicated, and /live and /stream
recover by themselves, showing whole commits throughout."""

from __future__ import annotations

import itertools
import json
import secrets
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg
import pytest

from api.app import create_app
from api.config import ApiConfig
from commtwin import db
from tests.api.conftest import serve
from tests.api.live_fixtures import SseReader, wait_until
from tests.api.seed import A, seed
from tests.ingest.helpers import IngestProcess, wait_for_value
from tests.ingest.publisher import publish
from tests.pgcluster import PgCluster
from tests.services import Broker

READINGS = 600
TOGGLE_EVERY = 20  # a status change of env-a2b every 20 readings: 30 device changes
LINGER = ("--linger-ms", "20")


@pytest.fixture(scope="module")
def cluster() -> Iterator[PgCluster]:
    with PgCluster() as pg:
        yield pg


def feed(root: str, start: datetime) -> list[tuple[str, bytes]]:
    """Telemetry of env-b2 (one reading per message) with env-a2b going on/offline."""
    out: list[tuple[str, bytes]] = []
    for i in range(READINGS):
        ts = (start + timedelta(seconds=i)).isoformat()
        body = {"ts": ts, "values": {"temperature": 20 + i % 7}}
        out.append((f"{root}/{A}/devices/env-b2/telemetry", json.dumps(body).encode()))
        if i % TOGGLE_EVERY == 0:
            status = {"ts": ts, "online": (i // TOGGLE_EVERY) % 2 == 1}
            out.append((f"{root}/{A}/devices/env-a2b/status", json.dumps(status).encode()))
    return out


def test_database_killed_and_restarted_under_ingest_and_api(
    cluster: PgCluster, broker: Broker, tmp_path: Path
) -> None:
    url = cluster.create_database(f"faults_{secrets.token_hex(3)}")
    db.upgrade(url, prefer="plain")
    seeded = seed(url)
    headers = {"Authorization": f"Bearer {seeded.keys['reader_a']}"}
    root = f"faults-{secrets.token_hex(3)}/v1"
    ingestor = IngestProcess(
        url,
        broker.url,
        tmp_path,
        client_id=f"faults-{root}",
        root=root,
        extra=("--linger-ms", "20"),
    )
    ingestor.wait_connected()
    config = ApiConfig(url, rate_per_s=1e6, rate_burst=1e6, sse_ping_s=1.0, pool_timeout_s=1.0)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    messages = feed(root, start)
    try:
        with serve(create_app(config)) as base:
            live_url = f"{base}/v1/communities/{A}/live"
            assert httpx.get(live_url, headers=headers).status_code == 200
            with SseReader(f"{base}/v1/communities/{A}/stream", headers) as stream:
                assert stream.next().event == "version"
                published = threading.Event()

                def publish_slowly() -> None:
                    for i in range(0, len(messages), 40):
                        publish(broker.url, messages[i : i + 40])
                        time.sleep(0.05)
                    published.set()

                publisher = threading.Thread(target=publish_slowly, daemon=True)
                publisher.start()
                time.sleep(0.8)
                assert cluster.kill() > 0  # mid-feed: a crash, not a clean stop
                down = httpx.get(live_url, headers=headers)
                assert down.status_code in (200, 503)  # held in memory, or not ready
                time.sleep(1.5)
                cluster.start()
                publisher.join(60)
                assert published.is_set()

                assert_nothing_lost_or_doubled(url, start)
                last = count(url, "SELECT max(seq) FROM change_log WHERE community_id = %s")
                # /live recovers by itself and shows the last state.
                assert wait_until(
                    lambda: _version(live_url, headers) >= last, timeout=30, interval=0.3
                )
                online = count(
                    url, "SELECT count(*) FROM devices WHERE community_id = %s AND online"
                )
                snap = httpx.get(live_url, headers=headers).json()
                assert snap["kpis"]["devices_online"] == online
                # The stream opened before the crash reached the same version, in
                # whole commits (each commit's rows before one version event).
                events = stream.until(
                    lambda e: e.event == "version" and e.data["version"] >= last, timeout=30
                )
                groups: list[set[str]] = [set()]
                for e in events:
                    if e.event == "version":
                        groups.append(set())
                    elif e.event != "reset":
                        groups[-1].add(e.data["commit"])
                flat = [c for g in groups for c in g]
                assert len(flat) == len(set(flat))  # no commit split over two versions
    finally:
        if ingestor.proc.poll() is None:
            assert ingestor.terminate() == 0, ingestor.log


def _version(url: str, headers: dict[str, str]) -> int:
    try:
        r = httpx.get(url, headers=headers, timeout=5)
    except httpx.HTTPError:
        return -1
    return int(r.json()["version"]) if r.status_code == 200 else -1


def count(url: str, query: str, *params: object) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(query.encode(), (A, *params)).fetchone()
    return int(row[0]) if row else -1


def assert_nothing_lost_or_doubled(url: str, start: datetime) -> None:
    readings = (
        "SELECT count(*) FROM readings r JOIN devices d ON d.key = r.device_key"
        " WHERE d.community_id = %s AND d.id = 'env-b2' AND r.ts >= %s"
    )
    got = wait_for_value(lambda: count(url, readings, start), READINGS, timeout=60)
    assert got == READINGS
    history = (
        "SELECT count(*) FROM device_status s JOIN devices d ON d.key = s.device_key"
        " WHERE d.community_id = %s AND d.id = 'env-a2b' AND s.ts >= %s"
    )
    toggles = READINGS // TOGGLE_EVERY
    assert wait_for_value(lambda: count(url, history, start), toggles, timeout=30) == toggles
    # The cockpit's changes: each a real flip (a batch logs its net change), the
    # last one the state published last; a redelivery logs nothing twice.
    with psycopg.connect(url) as conn:
        flips = conn.execute(
            "SELECT (data->>'online')::bool, (data->>'was')::bool FROM change_log"
            " WHERE community_id = %s AND kind = 'device' AND ref = 'env-a2b' ORDER BY seq",
            (A,),
        ).fetchall()
    assert flips
    assert all(online != was for online, was in flips)
    assert all(a[0] != b[0] for a, b in itertools.pairwise(flips))
    assert flips[-1][0] is ((toggles - 1) % 2 == 1)
