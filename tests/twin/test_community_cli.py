"""`commtwin community import|export|list` as an operator runs them."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.twin.test_community_file import LANTING, SHARED

ROOT = Path(__file__).resolve().parents[2]


def commtwin(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMMTWIN_")}
    env["COMMTWIN_DATABASE_URL"] = url
    return subprocess.run(
        [sys.executable, "-m", "commtwin", "community", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
        check=False,
    )


def one_line_error(out: subprocess.CompletedProcess[str]) -> str:
    assert out.returncode == 2, out
    assert out.stderr.count("\n") == 1, out.stderr
    assert "Traceback" not in out.stderr
    return out.stderr.strip()


def write_model(tmp_path: Path, cid: str, **changes: Any) -> Path:
    path = tmp_path / f"{cid}.json"
    path.write_text(json.dumps(copy.deepcopy(LANTING) | {"id": cid} | changes, ensure_ascii=False))
    return path


def test_import_list_export_reimport(database_url: str, tmp_path: Path) -> None:
    cid = f"cli-{uuid.uuid4().hex[:8]}"
    out = commtwin(database_url, "import", str(write_model(tmp_path, cid)))
    assert out.returncode == 0, out.stderr
    assert f"community {cid}: created" in out.stdout
    assert "storeys: 19 added" in out.stdout
    listed = commtwin(database_url, "list")
    assert listed.returncode == 0
    line = next(ln for ln in listed.stdout.splitlines() if ln.startswith(cid))
    assert line.split()[1:4] == ["1", "1", "3"]
    assert "兰亭社区" in line
    exported = tmp_path / "export.json"
    out = commtwin(database_url, "export", cid, "--out", str(exported))
    assert out.returncode == 0, out.stderr
    model = json.loads(exported.read_text(encoding="utf-8"))
    assert model["id"] == cid
    assert len(model["buildings"][0]["storeys"]) == 19
    out = commtwin(database_url, "import", str(exported))
    assert f"community {cid}: unchanged" in out.stdout
    stdout_export = commtwin(database_url, "export", cid)
    assert json.loads(stdout_export.stdout) == model


def test_bare_geojson_creates_then_updates_buildings(database_url: str, tmp_path: Path) -> None:
    cid = f"hfut-{uuid.uuid4().hex[:8]}"
    geojson = str(SHARED / "osm-hfut-hefei.geojson")
    out = commtwin(database_url, "import", geojson, "--community", cid, "--name", "HFUT")
    assert out.returncode == 0, out.stderr
    assert "101 buildings" in out.stdout
    assert "48 building(s) flagged height_defaulted" in out.stdout
    assert "buildings: 101 added" in out.stdout
    again = commtwin(database_url, "import", geojson, "--community", cid)
    assert "buildings: 0 added, 0 updated, 0 removed, 101 unchanged" in again.stdout


def test_bare_import_refuses_to_strand_devices(database_url: str, tmp_path: Path) -> None:
    cid = f"strand-{uuid.uuid4().hex[:8]}"
    assert commtwin(database_url, "import", str(write_model(tmp_path, cid))).returncode == 0
    geojson = str(SHARED / "osm-hfut-hefei.geojson")
    error = one_line_error(commtwin(database_url, "import", geojson, "--community", cid))
    assert "device smoke-b01-0101: building 'b01' does not exist" in error
    listed = commtwin(database_url, "list").stdout.splitlines()
    assert next(ln for ln in listed if ln.startswith(cid)).split()[1] == "1"  # still b01 only


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["import", "/nonexistent/model.json"], "/nonexistent/model.json: file not found"),
        (["import", str(SHARED / "osm-hfut-hefei.geojson")], "needs --community ID"),
        (
            ["import", str(SHARED / "osm-hfut-hefei.geojson"), "--community", "Bad Id"],
            "--community: 'Bad Id' is not a valid id",
        ),
        (["export", "no-such-community"], "community 'no-such-community' does not exist"),
    ],
)
def test_errors_are_one_line(database_url: str, args: list[str], message: str) -> None:
    assert message in one_line_error(commtwin(database_url, *args))


def test_invalid_model_is_one_line_and_imports_nothing(database_url: str, tmp_path: Path) -> None:
    cid = f"bad-{uuid.uuid4().hex[:8]}"
    devices = [*LANTING["devices"], {"id": "x", "kind": "door", "building": "b09"}]
    error = one_line_error(
        commtwin(database_url, "import", str(write_model(tmp_path, cid, devices=devices)))
    )
    assert error == "commtwin: device x: building 'b09' does not exist"
    assert cid not in commtwin(database_url, "list").stdout
