"""`commtwin community import` of real city models with broken objects, as an operator runs it.

The broken file is the shared 3D BAG tile with three buildings damaged (a
dangling vertex index, empty boundaries, a ring crossing itself); the
CityJSONSeq file is the tile written as a text sequence.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.shared_data import DELFT
from tests.twin.cityjson_variants import to_seq
from tests.twin.test_community_cli import commtwin, one_line_error
from twin.geometry.import_report import DANGLING_VERTEX, EMPTY_BOUNDARIES, SELF_INTERSECTING


def damaged(data: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    out: dict[str, Any] = orjson.loads(orjson.dumps(data))
    objects = out["CityObjects"]
    ids = [k for k, o in objects.items() if o["type"] == "Building"][:3]
    objects[ids[0]]["geometry"][0]["boundaries"][0][0][0] = len(out["vertices"])
    objects[ids[1]]["geometry"][0]["boundaries"] = []
    ring = objects[ids[2]]["geometry"][0]["boundaries"][0][0]
    ring[0], ring[2] = ring[2], ring[0]
    return out, ids


@pytest.fixture(scope="module")
def delft() -> dict[str, Any]:
    data: dict[str, Any] = orjson.loads(DELFT.read_bytes())
    return data


def test_broken_objects_are_skipped_reported_and_reimport_is_idempotent(
    database_url: str, tmp_path: Path, delft: dict[str, Any]
) -> None:
    cid = f"broken-{uuid.uuid4().hex[:8]}"
    data, ids = damaged(delft)
    path = tmp_path / "broken.city.json"
    path.write_bytes(orjson.dumps(data))
    report = tmp_path / "report.json"
    out = commtwin(database_url, "import", str(path), "--community", cid, "--report", str(report))
    assert out.returncode == 0, out.stderr
    assert "broken.city.json: 440 buildings" in out.stdout
    for reason, bid in zip(
        (DANGLING_VERTEX, EMPTY_BOUNDARIES, SELF_INTERSECTING), ids, strict=True
    ):
        assert f"  skipped 1 object(s): {reason} ({bid})" in out.stdout
    assert "buildings: 440 added" in out.stdout
    written = json.loads(report.read_text())
    assert written["buildings"] == 440
    assert written["by_reason"] == {DANGLING_VERTEX: 1, EMPTY_BOUNDARIES: 1, SELF_INTERSECTING: 1}
    assert [(o["id"], o["reason"]) for o in written["objects"]] == [
        (ids[0], DANGLING_VERTEX),
        (ids[1], EMPTY_BOUNDARIES),
        (ids[2], SELF_INTERSECTING),
    ]
    again = commtwin(database_url, "import", str(path), "--community", cid)
    assert again.returncode == 0, again.stderr
    assert f"community {cid}: unchanged" in again.stdout
    # The repaired file adds the three; the broken one again keeps their stored versions.
    whole = commtwin(database_url, "import", str(DELFT), "--community", cid)
    assert "buildings: 3 added, 0 updated, 0 removed, 440 unchanged" in whole.stdout
    kept = commtwin(database_url, "import", str(path), "--community", cid)
    assert "3 skipped building(s) keep their stored version" in kept.stdout
    assert f"community {cid}: unchanged" in kept.stdout


def test_strict_refuses_the_file_and_writes_nothing(
    database_url: str, tmp_path: Path, delft: dict[str, Any]
) -> None:
    cid = f"strict-{uuid.uuid4().hex[:8]}"
    data, ids = damaged(delft)
    path = tmp_path / "broken.city.json"
    path.write_bytes(orjson.dumps(data))
    error = one_line_error(
        commtwin(database_url, "import", str(path), "--community", cid, "--strict")
    )
    assert f"building {ids[0]} (broken.city.json): {DANGLING_VERTEX}" in error
    assert cid not in commtwin(database_url, "list").stdout


def test_nothing_usable_exits_1_with_the_report(database_url: str, tmp_path: Path) -> None:
    cid = f"empty-{uuid.uuid4().hex[:8]}"
    data = {
        "type": "CityJSON",
        "version": "1.1",
        "metadata": {"referenceSystem": "https://www.opengis.net/def/crs/EPSG/0/7415"},
        "CityObjects": {
            "b1": {
                "type": "Building",
                "geometry": [{"type": "Solid", "lod": "1", "boundaries": []}],
            },
            "r1": {"type": "Road"},
        },
        "vertices": [[0, 0, 0]],
    }
    path = tmp_path / "nothing.city.json"
    path.write_text(json.dumps(data))
    report = tmp_path / "r.json"
    out = commtwin(database_url, "import", str(path), "--community", cid, "--report", str(report))
    assert out.returncode == 1, out
    assert "no building could be imported; nothing written" in out.stderr
    assert "Traceback" not in out.stderr
    assert json.loads(report.read_text())["by_reason"] == {EMPTY_BOUNDARIES: 1, "not a building": 1}
    assert cid not in commtwin(database_url, "list").stdout


def test_cityjsonseq_streams_into_the_same_community(
    database_url: str, tmp_path: Path, delft: dict[str, Any]
) -> None:
    cid = f"seq-{uuid.uuid4().hex[:8]}"
    seq = tmp_path / "delft.city.jsonl"
    seq.write_bytes(to_seq(delft))
    out = commtwin(database_url, "import", str(seq), "--community", cid)
    assert out.returncode == 0, out.stderr
    assert (
        "delft.city.jsonl: 443 buildings, frame EPSG:7415 offset [84800.0, 446700.0, 0.0]"
        in out.stdout
    )
    # The whole-file form of the same tile changes nothing; a misnamed seq still streams.
    same = commtwin(database_url, "import", str(DELFT), "--community", cid)
    assert f"community {cid}: unchanged" in same.stdout, same.stdout
    misnamed = tmp_path / "delft.json"
    misnamed.write_bytes(seq.read_bytes())
    again = commtwin(database_url, "import", str(misnamed), "--community", cid)
    assert f"community {cid}: unchanged" in again.stdout, again.stderr
