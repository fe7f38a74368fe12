"""The demo's readings history: the scene devices' month written with COPY into a
real plain-PostgreSQL database, with its day partitions, rollups equal to the
raw rows, full resolution only for the last day, the cockpit's 24 h and 30 d
scene trends (through the API) full in every hour and day, counters joining
the live feed without a jump, and a second write a no-op."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from api.app import create_app
from api.config import ApiConfig
from commtwin import db, demo_setup
from commtwin.demo_readings import (
    COARSE_S,
    FULL_RESOLUTION_S,
    SCENE_KINDS,
    ReadingsWritten,
    scene_readings,
    write_readings,
)
from simulators.community_gen import CommunitySpec, generate_community
from tests.api.conftest import auth, serve
from tests.services import scratch_database
from tests.web.seed import create_key

DAYS = 30  # as the demo writes
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


def _rows(url: str, query: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    with psycopg.connect(url, autocommit=True) as conn:
        return [tuple(r) for r in conn.execute(query.encode(), params).fetchall()]


# The feed starts at :50 of an hour an hour or two ago, so the 24 h grid's
# current hour holds readings.
END = float(int(time.time() - 2700) // 3600 * 3600 - 600)
START = END - DAYS * 86400


@pytest.fixture(scope="module")
def written(site: tuple[str, Path]) -> ReadingsWritten:
    url, path = site
    return write_readings(url, path, ROOT, START, END, seed=2)


@pytest.fixture(scope="module")
def scene_api(site: tuple[str, Path], written: ReadingsWritten) -> Iterator[tuple[str, str]]:
    url, _ = site
    with psycopg.connect(url, autocommit=True) as conn:
        key = create_key(conn, ["cockpit:read"], ["hist"])
    config = ApiConfig(url, rate_per_s=1e6, rate_burst=1e6, key_cache_s=0.0)
    now = datetime.fromtimestamp(END, UTC)
    with serve(create_app(config, now=lambda: now)) as api:
        yield api, key


def _trend(api: tuple[str, str], scene: str, span: str) -> dict[str, Any]:
    r = httpx.get(
        f"{api[0]}/v1/communities/hist/scenes/{scene}",
        params={"span": span},
        headers=auth(api[1]),
        timeout=60,
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


@pytest.mark.parametrize("span", ["24h", "30d"])
def test_every_hour_and_day_of_the_scene_trends_is_full(
    scene_api: tuple[str, str], span: str
) -> None:
    energy = _trend(scene_api, "energy", span)
    periods = 24 if span == "24h" else 30
    assert len(energy["periods"]) == periods
    grid = energy["series"]["grid_kwh"]
    assert all(v is not None and v > 0 for v in grid), grid
    if span == "30d":  # the sun shines a little every day, on cloudy ones too
        pv = energy["series"]["pv_kwh"]
        assert all(v is not None and v > 0 for v in pv), pv
    traffic = _trend(scene_api, "traffic", span)
    assert traffic["lots"]
    for lot in traffic["lots"]:
        assert all(v is not None for v in lot["occupancy"]), lot
    entries = traffic["gates"]["entries"]
    assert traffic["gates"]["count"] > 0
    assert sum(1 for v in entries if v) >= periods - 2, entries  # a quiet night hour may be 0
    assert all(v is not None for v in traffic["chargers"]["availability"])


def test_full_resolution_for_the_last_day_only(
    site: tuple[str, Path], written: ReadingsWritten
) -> None:
    url, _ = site
    per_hour = _rows(
        url,
        "SELECT (r.ts >= to_timestamp(%s)) AS recent, count(*)::float8"
        " / count(DISTINCT date_trunc('hour', r.ts)) FROM readings r"
        " JOIN devices d ON d.key = r.device_key JOIN metrics m ON m.key = r.metric_key"
        " WHERE d.id = (SELECT min(id) FROM devices WHERE kind = 'power_meter')"
        " AND m.name = 'energy_kwh' GROUP BY 1 ORDER BY 1",
        (END - FULL_RESOLUTION_S,),
    )
    (_, older), (_, recent) = per_hour
    assert recent >= 50  # the meter's own minute (the first and last hours are cut)
    assert older <= 3600 / COARSE_S + 0.1


def test_readings_history_fills_partitions_rollups_and_every_day(
    site: tuple[str, Path], written: ReadingsWritten
) -> None:
    url, path = site
    start, end, first = START, END, written
    # power meters alone: 2 values a minute on the last day, 2 an hour before
    assert first.readings > 20_000 + DAYS * 1000, first
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
