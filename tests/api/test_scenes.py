"""Scene trends over HTTP: hand-computed figures from rollups the ingest writer made."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest

from api.app import create_app
from api.config import ApiConfig
from tests.api.conftest import auth, serve
from tests.scene_seed import EXPECTED, seed_scene_community
from tests.web.seed import create_key

CID = "scenes-a"
OTHER = "scenes-b"


@pytest.fixture(scope="module")
def scene_api(database_url: str) -> Iterator[tuple[str, dict[str, str], datetime]]:
    first_hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=24)
    now = first_hour + timedelta(hours=23, minutes=50)
    with psycopg.connect(database_url, autocommit=True) as conn:
        seed_scene_community(conn, CID, first_hour)
        conn.execute("DELETE FROM communities WHERE id = %s", (OTHER,))
        conn.execute(
            "INSERT INTO communities (id, name, crs) VALUES (%s, 'B', 'EPSG:3857')", (OTHER,)
        )
        # Alarms: two safety ones (smoke critical, leak minor) in slot 5, a fall in slot 7.
        devices = (("sc-smoke", "smoke"), ("sc-leak", "water_leak"), ("sc-wear", "wearable"))
        for did, kind in devices:
            conn.execute(
                "INSERT INTO devices (community_id, id, kind, building_id, storey_idx)"
                " VALUES (%s, %s, %s, 'main', 2)",
                (CID, did, kind),
            )
        for did, rule, severity, slot in (("sc-smoke", "smoke", "critical", 5),
                                          ("sc-leak", "water_leak", "minor", 5),
                                          ("sc-wear", "fall", "critical", 7)):  # fmt: skip
            at = first_hour + timedelta(hours=slot, minutes=20)
            conn.execute(
                "INSERT INTO alarms (community_id, device_id, rule_id, severity, state, raised_at,"
                " updated_at, cleared_at, building_id) VALUES (%s, %s, %s, %s, 'cleared', %s, %s,"
                " %s, 'main')",
                (CID, did, rule, severity, at, at, at + timedelta(minutes=5)),
            )
        # Incidents: reported in slots 3 and 4, one closed in slot 6.
        for iid, slot, closed in (("i-1", 3, 6), ("i-2", 4, None)):
            at = first_hour + timedelta(hours=slot, minutes=1)
            conn.execute(
                "INSERT INTO incidents (community_id, id, status, reported_at, closed_at)"
                " VALUES (%s, %s, %s, %s, %s)",
                (CID, iid, "closed" if closed else "dispatched", at,
                 None if closed is None else first_hour + timedelta(hours=closed, minutes=2)),
            )  # fmt: skip
        key = create_key(conn, ["cockpit:read"], [CID, OTHER])
    config = ApiConfig(database_url, rate_per_s=1e6, rate_burst=1e6, key_cache_s=0.0)
    with serve(create_app(config, now=lambda: now)) as url:
        yield url, auth(key), first_hour


def _get(api: tuple[str, dict[str, str], datetime], path: str, **params: str) -> dict[str, Any]:
    url, headers, _ = api
    r = httpx.get(f"{url}/v1/communities/{CID}{path}", headers=headers, params=params, timeout=30)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_energy_of_the_community_per_hour(scene_api: Any) -> None:
    body = _get(scene_api, "/scenes/energy", span="24h")
    first_hour = scene_api[2]
    assert body["unit"] == "hour"
    assert len(body["periods"]) == 24
    assert datetime.fromisoformat(body["periods"][0]) == first_hour
    s = body["series"]
    assert s["grid_kwh"] == EXPECTED["community_grid"]
    assert s["pv_kwh"] == EXPECTED["pv"]
    assert s["self_consumed_kwh"] == EXPECTED["self_consumed"]
    assert min(s["grid_kwh"]) >= 0
    t = body["totals"]
    assert t["grid_kwh"] == 310.0
    assert t["carbon_kg"] == pytest.approx(310 * 0.5306, abs=1e-3)
    assert t["self_consumption_rate"] == 0.75
    assert body["emission_factor"]["kg_co2e_per_kwh"] == 0.5306
    by_id = {b["id"]: b for b in body["buildings"]}
    # MAIN: (238 + 24) kWh over 30 × 12 m × 10 storeys; HOMES: 72 kWh over 20 × 10 × 4.
    assert by_id["main"]["floor_area_m2"] == 3600.0
    assert by_id["main"]["kwh_per_m2"] == pytest.approx(262 / 3600, abs=1e-3)
    assert by_id["homes"]["kwh_per_m2"] == 0.09
    assert (by_id["homes"]["rank"], by_id["main"]["rank"]) == (1, 2)


def test_energy_of_a_building_with_storeys_and_homes(scene_api: Any) -> None:
    body = _get(scene_api, "/buildings/homes/scenes/energy", span="24h")
    assert body["series"]["grid_kwh"] == EXPECTED["homes_grid"]
    assert body["series"]["self_consumed_kwh"] is None  # no PV on it
    assert [(s["index"], s["grid_kwh"]) for s in body["storeys"]] == [(1, 24.0), (2, 48.0)]
    assert sorted((h["unit"], h["grid_kwh"]) for h in body["homes"]) == [
        ("h-101", 24.0),
        ("h-201", 48.0),
    ]
    main = _get(scene_api, "/buildings/main/scenes/energy", span="24h")
    assert main["series"]["grid_kwh"] == EXPECTED["main_grid"]


def test_energy_per_day_adds_up_the_hours(scene_api: Any) -> None:
    body = _get(scene_api, "/scenes/energy", span="30d")
    assert body["unit"] == "day"
    assert len(body["periods"]) == 30
    # The hour before the 24 h (the counters' start there) is inside these days:
    # its own readings add 1010 - 1005 (main) + 0.5 + 1.0 (homes) to the 310.
    assert sum(v for v in body["series"]["grid_kwh"] if v) == pytest.approx(316.5)
    assert body["series"]["grid_kwh"][:-2] == [0.0] * 28


def test_traffic(scene_api: Any) -> None:
    body = _get(scene_api, "/scenes/traffic", span="24h")
    (lot,) = body["lots"]
    assert (lot["id"], lot["capacity"]) == ("sc-lot", 100)
    assert lot["occupancy"] == EXPECTED["occupancy"]
    ch = body["chargers"]
    assert (ch["total"], ch["available"], ch["charging"]) == (2, 1, 1)
    assert ch["availability"] == EXPECTED["availability"]
    assert ch["sessions"] == EXPECTED["sessions"]
    assert ch["energy_kwh"] == EXPECTED["charged_kwh"]
    assert body["gates"]["entries"] == EXPECTED["entries"]
    assert body["gates"]["exits"] == EXPECTED["exits"]


def test_alarms_and_governance_per_hour(scene_api: Any) -> None:
    safety = _get(scene_api, "/scenes/alarms", scene="safety")
    assert safety["total"][5] == 2
    assert sum(safety["total"]) == 2
    assert safety["by_severity"]["critical"][5] == 1
    assert safety["by_severity"]["minor"][5] == 1
    elderly = _get(scene_api, "/scenes/alarms", scene="elderly", building="main")
    assert elderly["total"][7] == 1
    assert sum(elderly["total"]) == 1
    gov = _get(scene_api, "/scenes/governance", span="24h")
    assert (gov["reported"][3], gov["reported"][4], gov["closed"][6]) == (1, 1, 1)
    assert (sum(gov["reported"]), sum(gov["closed"])) == (2, 1)


def test_etag_304_and_errors(scene_api: Any) -> None:
    url, headers, _ = scene_api
    path = f"{url}/v1/communities/{CID}/scenes/traffic"
    first = httpx.get(path, headers=headers)
    etag = first.headers["etag"]
    again = httpx.get(path, headers={**headers, "If-None-Match": etag})
    assert (again.status_code, again.content, again.headers["etag"]) == (304, b"", etag)
    assert "max-age=30" in first.headers["cache-control"]
    bad = httpx.get(path, headers=headers, params={"span": "7d"})
    assert bad.status_code == 422
    assert "span" in bad.text
    assert httpx.get(path).status_code == 401
    missing = httpx.get(f"{url}/v1/communities/{CID}/buildings/nope/scenes/energy", headers=headers)
    assert missing.status_code == 404
    assert "nope" in missing.json()["detail"]
    unknown = httpx.get(f"{url}/v1/communities/{CID}/scenes/alarms", headers=headers,
                        params={"scene": "governance"})  # fmt: skip
    assert unknown.status_code == 422
    # Another community's trends hold nothing of this one's devices.
    other = httpx.get(f"{url}/v1/communities/{OTHER}/scenes/energy", headers=headers).json()
    assert (other["meters"], other["totals"]["grid_kwh"], other["buildings"]) == (0, 0.0, [])


def test_energy_per_month_reads_local_days(scene_api: Any) -> None:
    body = _get(scene_api, "/scenes/energy", span="12mo")
    assert (body["unit"], len(body["periods"])) == ("month", 12)
    grid = body["series"]["grid_kwh"]
    assert min(grid) >= 0
    # Read per day: a day without a day before it counts only its own growth,
    # so the months hold at most what the hours do (the restart day loses some).
    assert 0 < sum(grid) <= 316.5
