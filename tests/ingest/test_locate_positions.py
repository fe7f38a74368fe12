"""Positions of moving devices located in the community model by the ingestor (real
broker, real PostgreSQL), and a re-imported model picked up while it runs."""

from __future__ import annotations

import copy
import secrets
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from pyproj import Transformer

from api.community_store import import_community
from tests.incidents.helpers import (
    MODEL,
    loop_database,
    now_utc,
    publish_readings,
    rows,
    square,
    wait_rows,
)
from tests.ingest.helpers import IngestProcess
from tests.services import Broker
from twin.community.file import community_from_json

POSITIONS = """
SELECT d.id, p.ts, p.building_id, p.storey_idx, p.unit_id, p.grid_id
FROM positions p JOIN devices d ON d.key = p.device_key ORDER BY p.ts, d.id
"""


@pytest.fixture
def loop_db() -> Iterator[str]:
    with loop_database() as url:
        yield url


def test_wearable_positions_are_located_onto_storeys(
    loop_db: str, broker: Broker, tmp_path: Path
) -> None:
    root = f"loc{secrets.token_hex(4)}/v1"
    ingestor = IngestProcess(loop_db, broker.url, tmp_path, client_id=f"loc-{root}", root=root)
    ingestor.wait_connected()
    t0 = now_utc() - timedelta(minutes=10)
    s = timedelta(seconds=1)
    lon, lat = Transformer.from_crs(MODEL["crs"], "EPSG:4326", always_xy=True).transform(5, 6)
    publish_readings(broker.url, root, "wear-0001", (t0, {"heart_rate": 70}),
                     pos={"lon": lon, "lat": lat, "alt": 7.0})  # fmt: skip
    publish_readings(broker.url, root, "wear-0001", (t0 + s, {"heart_rate": 71}),
                     pos={"x": 85.0, "y": 6.0, "z": 10.0})  # fmt: skip
    publish_readings(broker.url, root, "wear-0001", (t0 + 2 * s, {"heart_rate": 72}),
                     pos={"x": 15.0, "y": 6.0, "z": 60.0})  # fmt: skip
    publish_readings(broker.url, root, "stranger-1", (t0 + 3 * s, {"heart_rate": 90}),
                     pos={"x": 75.0, "y": 2.0})  # fmt: skip
    expected = [
        ("wear-0001", t0, "b01", 3, "1-301", "g1"),  # 7 m: third storey, in unit 1-301
        ("wear-0001", t0 + s, "b02", 4, None, "g2"),  # 10 m: fourth storey
        ("wear-0001", t0 + 2 * s, None, None, None, "g1"),  # above the roof: grid only
        ("stranger-1", t0 + 3 * s, "b02", 1, None, "g2"),  # no z: ground level
    ]
    assert wait_rows(loop_db, POSITIONS, expect=expected) == expected
    # A device ingest registered stays unplaced: its positions are located,
    # the device is not moved into the model.
    assert rows(
        loop_db, "SELECT modelled, building_id, grid_id FROM devices WHERE id = 'stranger-1'"
    ) == [(False, None, None)]

    # A re-imported model (a new building b04) is used without a restart.
    model = copy.deepcopy(MODEL)
    model["buildings"].append({"id": "b04", "footprint": square(20, 20, 40, 35), "roof_z": 9.0})
    with psycopg.connect(loop_db, autocommit=True) as conn:
        import_community(conn, community_from_json(model))
    found: list[tuple[object, ...]] = []
    for i in range(40):
        at = t0 + (10 + i) * s
        publish_readings(broker.url, root, "wear-0001", (at, {"heart_rate": 73}),
                         pos={"x": 30.0, "y": 30.0, "z": 1.0})  # fmt: skip
        found = wait_rows(
            loop_db,
            "SELECT p.building_id, p.storey_idx FROM positions p WHERE p.ts = %s",
            at,
            expect=[("b04", 1)],
            timeout=2,
        )
        if found == [("b04", 1)]:
            break
        time.sleep(0.25)
    assert found == [("b04", 1)]
    assert "its model reloads at next use" in ingestor.log
    assert ingestor.terminate() == 0, ingestor.log
