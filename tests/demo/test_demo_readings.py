"""The demo's readings history: the scene devices' month written with COPY into a
real plain-PostgreSQL database, with its day partitions, rollups equal to the
raw rows, scene trends full over the window, and a second write a no-op."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from commtwin import db, demo_setup
from commtwin.demo_readings import SCENE_KINDS, scene_readings, write_readings
from simulators.community_gen import CommunitySpec, generate_community
from tests.services import scratch_database

DAYS = 3
ROOT = "commtwin/v1"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    with scratch_database("commtwin_readings") as url:
        db.upgrade(url, prefer="plain")
        model = generate_community(CommunitySpec(buildings=3, seed=2, id="hist"))
        path = tmp_path_factory.mktemp("readings") / "model.json"
        path.write_text(json.dumps(model, ensure_ascii=False))
        demo_setup.import_model(url, path, model)
        yield url, path


def _rows(url: str, query: str) -> list[tuple[object, ...]]:
    with psycopg.connect(url, autocommit=True) as conn:
        return [tuple(r) for r in conn.execute(query.encode()).fetchall()]


def test_readings_history_fills_partitions_rollups_and_every_day(
    site: tuple[str, Path],
) -> None:
    url, path = site
    end = float(int(time.time()) - 2700)
    start = end - DAYS * 86400
    first = write_readings(url, path, ROOT, start, end, seed=2)
    assert first.readings > DAYS * 20_000, first  # power meters alone: 2 values a minute
    kinds = _rows(
        url,
        "SELECT DISTINCT d.kind FROM readings r JOIN devices d ON d.key = r.device_key",
    )
    assert {k for (k,) in kinds} <= SCENE_KINDS
    assert {"power_meter", "parking"} <= {k for (k,) in kinds}
    # Every day of the window has its own partition; the default one holds nothing.
    parts = _rows(url, "SELECT count(*) FROM pg_tables WHERE tablename ~ '^readings_p[0-9]{8}$'")
    assert parts[0][0] >= DAYS + 1  # type: ignore[operator]
    assert _rows(url, "SELECT count(*) FROM readings_default") == [(0,)]
    # The rollups hold exactly the raw rows, per minute and per hour.
    raw, m1, h1 = _rows(
        url,
        "SELECT (SELECT count(*) FROM readings), (SELECT sum(n) FROM readings_1m),"
        " (SELECT sum(n) FROM readings_1h)",
    )[0]
    assert raw == first.readings == m1 == h1
    # Every hour of the window has energy from the power meters.
    hours = _rows(
        url,
        "SELECT count(DISTINCT h.bucket) FROM readings_1h h JOIN devices d ON d.key = h.device_key"
        " JOIN metrics m ON m.key = h.metric_key"
        " WHERE d.kind = 'power_meter' AND m.name = 'energy_kwh'",
    )
    assert hours[0][0] >= DAYS * 24  # type: ignore[operator]
    # Counters run into the live feed's first values: no jump where it begins.
    live = {
        t.device: t.readings[0]
        for t in scene_readings(path, ROOT, end, end + 120, seed=2)
        if t.device.startswith("pm-")
    }
    last = dict(
        _rows(
            url,
            "SELECT DISTINCT ON (d.id) d.id, r.value FROM readings r"
            " JOIN devices d ON d.key = r.device_key JOIN metrics m ON m.key = r.metric_key"
            " WHERE m.name = 'energy_kwh' AND d.kind = 'power_meter'"
            " ORDER BY d.id, r.ts DESC",
        )
    )
    assert live
    assert set(live) <= set(last)
    for device, reading in live.items():
        first = dict(zip(reading.metrics, reading.values, strict=True))["energy_kwh"]
        assert 0 <= first - float(str(last[device])) < 5.0, (device, first, last[device])
    again = write_readings(url, path, ROOT, start, end, seed=2)
    assert again.readings == 0
    assert _rows(url, "SELECT sum(n) FROM readings_1m") == [(m1,)]
