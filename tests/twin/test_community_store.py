"""The community store against the real database: import, re-import, export."""

from __future__ import annotations

import asyncio
import copy
import json
import math
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest

from api.community_store import (
    export_community,
    import_community,
    list_communities,
    load_community,
    load_community_async,
)
from tests.twin.test_community_file import LANTING, SHARED
from twin.community.export import community_to_json
from twin.community.file import community_from_json, read_geometry, read_json_file
from twin.model.community import Community

Conn = psycopg.Connection[tuple[object, ...]]


def unique(prefix: str = "c") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def lanting(cid: str, **changes: Any) -> Community:
    data = copy.deepcopy(LANTING) | {"id": cid} | changes
    return community_from_json(data)


def count(conn: Conn, table: str, cid: str) -> int:
    queries = {
        "buildings": "SELECT count(*) FROM buildings WHERE community_id = %s",
        "storeys": "SELECT count(*) FROM storeys WHERE community_id = %s",
        "units": "SELECT count(*) FROM units WHERE community_id = %s",
        "grids": "SELECT count(*) FROM grids WHERE community_id = %s",
        "devices": "SELECT count(*) FROM devices WHERE community_id = %s",
        "change_log": "SELECT count(*) FROM change_log WHERE community_id = %s",
    }
    row = conn.execute(queries[table], (cid,)).fetchone()
    assert row is not None
    return int(str(row[0]))


def test_import_load_export_round_trip(conn: Conn) -> None:
    cid = unique()
    community = lanting(cid)
    report = import_community(conn, community)
    assert report.created
    assert report.change_seq is not None
    assert [count(conn, t, cid) for t in ("buildings", "storeys", "units", "grids", "devices")] == [
        1,
        19,
        2,
        1,
        3,
    ]
    assert load_community(conn, cid) == community
    assert export_community(conn, cid) == community_to_json(community)
    log = conn.execute(
        "SELECT kind, ref, data FROM change_log WHERE seq = %s", (report.change_seq,)
    ).fetchone()
    assert log is not None
    assert log[0] == "community"
    assert log[1] == cid
    assert log[2]["buildings"]["added"] == 1  # type: ignore[index]
    again = import_community(conn, community)
    assert not again.changed
    assert again.change_seq is None
    assert again.changes["storeys"].unchanged == 19
    assert count(conn, "change_log", cid) == 1
    located = conn.execute(
        "SELECT building_id, storey_idx, grid_id, attributes FROM devices"
        " WHERE community_id = %s AND id = 'parking-north'",
        (cid,),
    ).fetchone()
    assert located == (None, None, "g1", {})


def test_re_import_updates_in_place_and_reports_removals(conn: Conn) -> None:
    cid = unique()
    square = {"type": "Polygon", "coordinates": [[[40, 0], [50, 0], [50, 10], [40, 10], [40, 0]]]}
    b02 = {"id": "b02", "footprint": square, "height": 6}
    devices = [*LANTING["devices"], {"id": "door-b02", "kind": "door", "building": "b02"}]
    first = lanting(cid, buildings=[*LANTING["buildings"], b02], devices=devices)
    import_community(conn, first)
    key = conn.execute(
        "SELECT key FROM devices WHERE community_id = %s AND id = 'smoke-b01-0101'", (cid,)
    ).fetchone()
    metric = conn.execute(
        "INSERT INTO metrics (name) VALUES ('smoke') ON CONFLICT (name) DO UPDATE"
        " SET name = EXCLUDED.name RETURNING key"
    ).fetchone()
    assert key is not None
    assert metric is not None
    conn.execute(
        "INSERT INTO readings (ts, device_key, metric_key, value) VALUES (now(), %s, %s, 1)",
        (key[0], metric[0]),
    )
    # Second version: b02 and its door gone, the smoke detector gone, b01 taller.
    taller = LANTING["buildings"][0] | {"roof_z": 60.0, "storey_count": 20}
    second = lanting(cid, buildings=[taller], devices=LANTING["devices"][1:], name="Renamed")
    report = import_community(conn, second)
    assert report.community_changed
    assert report.changes["buildings"].removed == ("b02",)
    assert report.changes["buildings"].updated == ("b01",)
    assert "b02/1" in report.changes["storeys"].removed
    assert set(report.changes["storeys"].added) == {"b01/19", "b01/20"}
    assert report.devices_unmodelled == ("door-b02", "smoke-b01-0101")
    assert report.placements_cleared == ("door-b02",)
    text = "\n".join(report.lines())
    assert "removed buildings: b02" in text
    assert "smoke-b01-0101" in text
    assert load_community(conn, cid) == second
    # Kept with its history, no longer modelled; its placement still exists.
    kept = conn.execute(
        "SELECT key, modelled, building_id FROM devices WHERE community_id = %s AND id = %s",
        (cid, "smoke-b01-0101"),
    ).fetchone()
    assert kept == (key[0], False, "b01")
    readings = conn.execute("SELECT count(*) FROM readings WHERE device_key = %s", (key[0],))
    assert readings.fetchone() == (1,)
    door = conn.execute(
        "SELECT building_id, storey_idx, modelled FROM devices WHERE community_id = %s"
        " AND id = 'door-b02'",
        (cid,),
    ).fetchone()
    assert door == (None, None, False)


def test_a_device_registered_by_ingest_keeps_its_key_when_modelled(conn: Conn) -> None:
    cid = unique()
    import_community(conn, lanting(cid, devices=[]))
    row = conn.execute(
        "INSERT INTO devices (community_id, id) VALUES (%s, 'smoke-b01-0101') RETURNING key",
        (cid,),
    ).fetchone()
    assert row is not None
    report = import_community(conn, lanting(cid))
    assert "smoke-b01-0101" in report.changes["devices"].added
    stored = conn.execute(
        "SELECT key, kind, modelled, storey_idx FROM devices WHERE community_id = %s"
        " AND id = 'smoke-b01-0101'",
        (cid,),
    ).fetchone()
    assert stored == (row[0], "smoke", True, 1)


def test_nothing_is_half_imported(conn: Conn) -> None:
    cid = unique()
    broken = copy.deepcopy(LANTING["buildings"][0]) | {"id": "b99", "name": "bad\x00name"}
    with pytest.raises(psycopg.Error):
        import_community(conn, lanting(cid, buildings=[*LANTING["buildings"], broken]))
    assert load_community(conn, cid) is None
    assert count(conn, "buildings", cid) == 0
    # Same on a re-import: the stored version stays as it was.
    import_community(conn, lanting(cid))
    with pytest.raises(psycopg.Error):
        import_community(conn, lanting(cid, buildings=[*LANTING["buildings"], broken]))
    assert load_community(conn, cid) == lanting(cid)
    assert count(conn, "change_log", cid) == 1


def test_bare_delft_tile_round_trip(conn: Conn) -> None:
    cid = unique("delft")
    path = SHARED / "3dbag-delft.city.json"
    found = read_geometry(read_json_file(path), path.name)
    community = Community(
        cid, "Delft", found.frame.crs, found.frame.offset, buildings=found.buildings
    )
    report = import_community(conn, community)
    raw = json.loads(path.read_text())
    buildings = [o for o in raw["CityObjects"].values() if o["type"] == "Building"]
    expected_storeys = sum(
        max(1, math.floor((o["attributes"]["h_dak_max"] - o["attributes"]["h_maaiveld"]) / 3 + 0.5))
        for o in buildings
    )
    assert len(report.changes["buildings"].added) == len(buildings) == 443
    assert count(conn, "storeys", cid) == expected_storeys
    assert load_community(conn, cid) == community
    assert not import_community(conn, community).changed
    summary = next(s for s in list_communities(conn) if s.id == cid)
    assert (summary.buildings, summary.crs) == (443, "EPSG:7415")


def test_async_load_matches(database_url: str, conn: Conn) -> None:
    cid = unique()
    community = lanting(cid)
    import_community(conn, community)

    async def load() -> Community | None:
        async with await psycopg.AsyncConnection.connect(database_url) as aconn:
            return await load_community_async(aconn, cid)

    assert asyncio.run(load()) == community
    assert load_community(conn, unique()) is None


def test_export_file_is_valid_model_json(conn: Conn, tmp_path: Path) -> None:
    cid = unique()
    import_community(conn, lanting(cid))
    exported = export_community(conn, cid)
    (tmp_path / "out.json").write_text(json.dumps(exported, ensure_ascii=False))
    again = community_from_json(json.loads((tmp_path / "out.json").read_text()))
    assert again == lanting(cid)
