"""Communities, buildings (GeoJSON in WGS 84 with status), devices and latest values."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import httpx
import pytest

from api.models.buildings import BuildingCollection
from tests.api.seed import DAYS, ENV_STEP_S, OFFSET, A, B, Seed, env_value, smoke_value

H = dict[str, dict[str, str]]


def test_communities_have_counts(client: httpx.Client, keys: H) -> None:
    data = client.get("/v1/communities", headers=keys["reader_a"]).json()["data"]
    # Other tests raise alarms in A: count them the other way round.
    active = client.get(f"/v1/communities/{A}/alarms?state=active", headers=keys["reader_a"])
    assert data == [
        {
            "id": A,
            "name": "Alpha 社区",
            "crs": data[0]["crs"],
            "offset": list(OFFSET),
            "counts": {
                "buildings": 2,
                "devices": 7,
                "devices_online": 5,
                "alarms_active": active.json()["count"],
            },
        }
    ]
    assert active.json()["count"] >= 2
    one = client.get(f"/v1/communities/{A}", headers=keys["reader_a"]).json()
    assert one == data[0]


def _approx_wgs84(x: float, y: float) -> tuple[float, float]:
    """Spherical approximation of the seed's tmerc around (120.15 E, 30.27 N)."""
    lat0, lon0 = 30.27, 120.15
    lat = lat0 + (y + OFFSET[1]) / 110_850.0
    lon = lon0 + (x + OFFSET[0]) / (111_320.0 * math.cos(math.radians(lat0)))
    return lon, lat


def test_buildings_are_geojson_in_wgs84_with_status(client: httpx.Client, keys: H) -> None:
    r = client.get(f"/v1/communities/{A}/buildings", headers=keys["reader_a"])
    assert r.status_code == 200
    fc = r.json()
    assert fc["type"] == "FeatureCollection"
    # Built as plain JSON (issue 24): still exactly the documented model, field for field.
    assert BuildingCollection.model_validate(fc).model_dump(mode="json") == fc
    by_id = {f["id"]: f for f in fc["features"]}
    assert set(by_id) == {"b1", "b2"}
    b1, b2 = by_id["b1"], by_id["b2"]
    assert b1["geometry"]["type"] == "Polygon"
    ring = b1["geometry"]["coordinates"][0]
    for (lon, lat), (x, y) in zip(ring, [(0, 0), (30, 0), (30, 12), (0, 12)], strict=False):
        want_lon, want_lat = _approx_wgs84(x, y)
        assert lon == pytest.approx(want_lon, abs=2e-5)
        assert lat == pytest.approx(want_lat, abs=2e-5)
    assert b2["geometry"]["type"] == "MultiPolygon"
    assert len(b2["geometry"]["coordinates"]) == 2
    p = b1["properties"]
    assert (p["height"], p["storey_count"]) == (9.0, 3)
    assert [s["index"] for s in p["storeys"]] == [-1, 1, 2, 3]
    # Critical active alarm on storey 1; warning (acked) on the building; cleared major ignored.
    assert (p["status"], p["worst_severity"], p["alarms_active"]) == ("alarm", "critical", 2)
    assert (p["devices_total"], p["devices_online"]) == (4, 3)
    storeys = {s["index"]: s for s in p["storeys"]}
    assert storeys[1]["status"] == "alarm"
    assert storeys[2]["status"] == "offline"  # env-a2 offline, its alarm cleared
    assert (storeys[2]["devices_total"], storeys[2]["devices_online"]) == (2, 1)
    assert storeys[3]["status"] == "normal"
    assert b2["properties"]["status"] == "normal"


def test_grids_are_geojson_in_wgs84(client: httpx.Client, keys: H) -> None:
    fc = client.get(f"/v1/communities/{A}/grids", headers=keys["reader_a"]).json()
    assert fc["type"] == "FeatureCollection"
    (g,) = fc["features"]
    assert g["properties"] == {
        "id": "g1",
        "name": "第一网格",
        "worker": "w-zhang",
        "worker_name": "张伟",
        "devices_total": 2,
        # Status from the live state: one of its two devices is offline.
        "devices_online": 1,
        "status": "offline",
        "worst_severity": None,
        "alarms_active": 0,
    }
    live = client.get(f"/v1/communities/{A}/live", headers=keys["reader_a"]).json()
    assert fc["version"] == live["version"]
    lon, lat = g["geometry"]["coordinates"][0][2]
    want_lon, want_lat = _approx_wgs84(30, 12)
    assert (lon, lat) == (pytest.approx(want_lon, abs=2e-5), pytest.approx(want_lat, abs=2e-5))
    empty = client.get(f"/v1/communities/{B}/grids", headers=keys["reader_all"]).json()
    assert empty["features"] == []


def test_building_detail_has_storeys_units_devices_and_latest_values(
    client: httpx.Client, keys: H, seeded: Seed
) -> None:
    r = client.get(f"/v1/communities/{A}/buildings/b1", headers=keys["reader_a"])
    assert r.status_code == 200
    b = r.json()
    assert b["footprint"]["coordinates"][0][1] == [30.0, 0.0]  # local metres, as stored
    units = {s["index"]: [u["id"] for u in s["units"]] for s in b["storeys"]}
    assert units == {-1: [], 1: ["1-101", "1-102"], 2: ["1-201"], 3: []}
    devices = {d["id"]: d for d in b["devices"]}
    assert set(devices) == {"smoke-a1", "env-a2", "env-a2b", "meter-a1"}
    last_env = DAYS * 86400 // ENV_STEP_S - 1
    env = devices["env-a2"]["latest"]
    assert set(env) == {"temperature"}  # humidity declared but never reported
    assert env["temperature"]["value"] == env_value(last_env)
    last_ts = seeded.start + timedelta(seconds=last_env * ENV_STEP_S)
    assert datetime.fromisoformat(env["temperature"]["ts"]) == last_ts
    assert devices["smoke-a1"]["latest"]["temperature"]["value"] == smoke_value(DAYS * 1440 - 1)
    assert devices["meter-a1"]["latest"]["power_kw"]["value"] == float((DAYS * 1440 - 1) % 10)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", {"smoke-a1", "env-a2", "env-a2b", "meter-a1", "parking-1", "mystery-1", "env-b2"}),
        ("?kind=env", {"env-a2", "env-a2b", "env-b2"}),
        ("?building=b1&storey=2", {"env-a2", "env-a2b"}),
        ("?online=false", {"env-a2", "mystery-1"}),
        ("?online=true&kind=env", {"env-a2b", "env-b2"}),
        ("?unplaced=true", {"mystery-1"}),
        ("?unplaced=false&building=b2", {"env-b2"}),
        ("?kind=nothing-like-this", set()),
    ],
)
def test_device_filters(client: httpx.Client, keys: H, query: str, expected: set[str]) -> None:
    r = client.get(f"/v1/communities/{A}/devices{query}", headers=keys["reader_a"])
    assert r.status_code == 200
    assert {d["id"] for d in r.json()["data"]} == expected
    assert r.json()["count"] == len(expected)


def test_device_paging_keeps_the_total(client: httpx.Client, keys: H) -> None:
    page = client.get(f"/v1/communities/{A}/devices?limit=2&offset=1", headers=keys["reader_a"])
    assert page.json()["count"] == 7
    assert [d["id"] for d in page.json()["data"]] == ["env-a2b", "env-b2"]
    past = client.get(f"/v1/communities/{A}/devices?offset=100", headers=keys["reader_a"])
    assert past.json() == {"count": 7, "data": []}


def test_device_detail(client: httpx.Client, keys: H) -> None:
    d = client.get(f"/v1/communities/{A}/devices/parking-1", headers=keys["reader_a"]).json()
    assert (d["x"], d["y"], d["z"], d["building"], d["latest"]) == (10.0, -5.0, 0.0, None, {})
    meter = client.get(f"/v1/communities/{A}/devices/meter-a1", headers=keys["reader_a"]).json()
    assert meter["kind"] == "power_meter"
    assert set(meter["latest"]) == {"power_kw"}


@pytest.mark.parametrize(
    ("path", "detail"),
    [
        (f"/v1/communities/{A}/devices/env-b1", "device 'env-b1' not found"),  # B's device
        (f"/v1/communities/{A}/buildings/b9", "building 'b9' not found"),
        (f"/v1/communities/{B}/buildings/b2", "building 'b2' not found"),  # A's building
    ],
)
def test_unknown_ids_are_404(client: httpx.Client, keys: H, path: str, detail: str) -> None:
    r = client.get(path, headers=keys["admin"])
    assert r.status_code == 404
    assert r.json()["detail"] == detail


@pytest.mark.parametrize(
    ("query", "param"),
    [("?storey=99999", "storey"), ("?online=maybe", "online"), ("?limit=0", "limit")],
)
def test_malformed_filters_are_422_naming_the_parameter(
    client: httpx.Client, keys: H, query: str, param: str
) -> None:
    r = client.get(f"/v1/communities/{A}/devices{query}", headers=keys["reader_a"])
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["query", param]
