"""The service-circle endpoints against a live API and a real database."""

from __future__ import annotations

import csv
import io
import uuid
from typing import Any

import httpx
import psycopg
import pytest
import shapely

from api.community_store import import_community
from twin.model.community import Building, Community, Grid, Storey, Unit
from twin.model.facilities import Facility
from twin.model.walk_network import Entrance, WalkPath

CRS = "+proj=tmerc +lat_0=31.84 +lon_0=117.2 +k=1 +x_0=0 +y_0=0 +datum=WGS84 +units=m +no_defs"


def street_community(cid: str) -> Community:
    """A 1.5 km street with houses along it, a clinic at the west end."""
    buildings = tuple(
        Building(
            f"b{i:02d}",
            None,
            shapely.box(i * 100, 10, i * 100 + 20, 25),
            0,
            6,
            (Storey(1, 0, 3), Storey(2, 3, 3)),
            (Unit("101", 1), Unit("201", 2)),
        )
        for i in range(16)
    )
    return Community(
        cid,
        "street",
        CRS,
        buildings=buildings,
        grids=(Grid("g1", None, shapely.box(-50, -50, 800, 100)),),
        facilities=(Facility("clinic-w", "clinic", shapely.Point(0, 0)),),
        paths=(WalkPath("main", shapely.LineString([(-10, 0), (1600, 0)])),),
        # Door at the south-west corner: a whole wall is equally near the street.
        entrances=tuple(Entrance(f"b{i:02d}", i * 100, 10) for i in range(16)),
    )


@pytest.fixture(scope="module")
def cid(database_url: str) -> str:
    name = f"sc-{uuid.uuid4().hex[:8]}"
    with psycopg.connect(database_url, autocommit=True) as conn:
        import_community(conn, street_community(name))
    return name


def get(client: httpx.Client, keys: dict[str, dict[str, str]], path: str, **kw: Any) -> Any:
    r = client.get(path, headers=keys["reader_all"], **kw)
    assert r.status_code == 200, r.text
    return r


def test_minutes_summary_and_csv(
    client: httpx.Client, keys: dict[str, dict[str, str]], cid: str
) -> None:
    base = f"/v1/communities/{cid}/service-circle"
    doc = get(client, keys, base).json()
    by_id = {f["id"]: f["properties"] for f in doc["features"]}
    # b03: entrance at (300, 10) → 10 m gap + 300 m along → 310 m at 54 m/min.
    assert by_id["b03"]["minutes"]["clinic"] == pytest.approx(310 / 54, abs=0.01)
    assert by_id["b03"]["minutes"]["school"] is None
    assert by_id["b03"]["estimate"]["clinic"] is False
    assert doc["features"][0]["geometry"]["coordinates"][0][0][0] == pytest.approx(117.2, abs=0.01)
    table = get(client, keys, f"{base}/summary").json()
    row = next(r for r in table["rows"] if r["scope"] == "community" and r["type"] == "clinic")
    # within 15 min = 810 m: buildings at x ≤ 800 (b00..b08, 9 of 16), 2 homes each
    assert row["homes"] == 32
    assert row["homes_within_15"] == 18
    assert row["gap_homes"] == 14
    assert "b15" in table["gaps"]["clinic"]
    assert any(r["scope"] == "grid:g1" for r in table["rows"])
    slow = get(client, keys, f"{base}/summary", params={"speed": 0.5}).json()
    slow_row = next(r for r in slow["rows"] if r["scope"] == "community" and r["type"] == "clinic")
    assert slow_row["homes_within_15"] < row["homes_within_15"]
    rows = list(csv.DictReader(io.StringIO(get(client, keys, f"{base}/homes.csv").text)))
    assert len(rows) == 32
    assert rows[0]["building"] == "b00"
    assert rows[0]["school"] == ""


def test_what_if_adds_moves_removes_without_changing_the_model(
    client: httpx.Client, keys: dict[str, dict[str, str]], cid: str
) -> None:
    base = f"/v1/communities/{cid}/service-circle"
    before = get(client, keys, base).json()
    body = {"add": [{"type": "clinic", "x": 1500, "y": 0}]}
    r = client.post(f"{base}/scenarios", json=body, headers=keys["reader_all"])
    assert r.status_code == 200, r.text
    out = r.json()
    gained = out["types"]["clinic"]["15"]
    # b08 (x 800) was already covered; b09..b15 now are: 7 buildings, 14 homes.
    assert gained["homes_newly_covered"] == 14
    assert gained["homes_covered_after"] == 32
    assert {b["id"] for b in out["buildings"]} >= {"b15", "b09"}
    removed = client.post(
        f"{base}/scenarios", json={"remove": ["clinic-w"]}, headers=keys["reader_all"]
    ).json()
    assert removed["types"]["clinic"]["15"]["homes_no_longer_covered"] == 18
    moved = client.post(
        f"{base}/scenarios",
        json={"move": [{"id": "clinic-w", "x": 800, "y": 0}]},
        headers=keys["reader_all"],
    ).json()
    assert moved["types"]["clinic"]["15"]["homes_covered_after"] == 32
    assert get(client, keys, base).json() == before


@pytest.mark.parametrize(
    ("body", "status", "reason"),
    [
        ({}, 422, "at least one facility"),
        ({"add": [{"type": "bank", "x": 0, "y": 0}]}, 422, "clinic"),
        ({"add": [{"type": "clinic", "x": 0}]}, 422, "either x and y"),
        ({"remove": ["nope"]}, 400, "facility nope: does not exist"),
        ({"add": [{"type": "clinic", "id": "clinic-w", "x": 1, "y": 1}]}, 400, "already exists"),
    ],
)
def test_bad_scenarios_get_reasons(  # noqa: PLR0917
    client: httpx.Client,
    keys: dict[str, dict[str, str]],
    cid: str,
    body: dict[str, Any],
    status: int,
    reason: str,
) -> None:
    r = client.post(
        f"/v1/communities/{cid}/service-circle/scenarios", json=body, headers=keys["reader_all"]
    )
    assert r.status_code == status, r.text
    assert reason in r.text


def test_unknown_community_and_bad_speed(
    client: httpx.Client, keys: dict[str, dict[str, str]]
) -> None:
    r = client.get("/v1/communities/no-such/service-circle", headers=keys["reader_all"])
    assert r.status_code == 404
    r = client.get("/v1/communities/no-such/service-circle?speed=0", headers=keys["reader_all"])
    assert r.status_code in (404, 422)
