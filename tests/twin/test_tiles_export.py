"""`commtwin community export ID --format 3dtiles DIR`: validated, read back, georeferenced."""

from __future__ import annotations

import itertools
import json
import struct
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
import pygltflib
import pytest
import shapely
from pyproj import Transformer

from api.community_store import import_community, load_community
from tests.shared_data import DELFT
from tests.twin.test_community_cli import commtwin, one_line_error
from tests.twin.tileset_check import contents, gltf_reports, read_glb, tileset_problems
from twin.geometry.gltf import FEATURE_ID
from twin.model.community import Building, Community
from twin.model.storeys import derive_storeys


def property_table(file: Path) -> dict[str, list[Any]]:
    """The building property table of a tile, decoded from its buffer views."""
    doc, blob = read_glb(file)
    meta = doc["extensions"]["EXT_structural_metadata"]
    table = meta["propertyTables"][0]
    count = table["count"]

    def view(index: int) -> bytes:
        bv = doc["bufferViews"][index]
        return blob[bv["byteOffset"] : bv["byteOffset"] + bv["byteLength"]]

    out: dict[str, list[Any]] = {}
    for name, prop in table["properties"].items():
        if "stringOffsets" in prop:
            offsets = struct.unpack(
                f"<{count + 1}I", view(prop["stringOffsets"])[: 4 * (count + 1)]
            )
            text = view(prop["values"])
            out[name] = [text[a:b].decode() for a, b in itertools.pairwise(offsets)]
        else:
            kind = meta["schema"]["classes"]["building"]["properties"][name]["componentType"]
            dtype = {"FLOAT32": "<f4", "UINT16": "<u2"}[kind]
            out[name] = np.frombuffer(view(prop["values"]), dtype)[:count].tolist()
    return out


def export(url: str, cid: str, target: Path) -> None:
    out = commtwin(url, "export", cid, "--format", "3dtiles", str(target))
    assert out.returncode == 0, out.stderr
    assert "3D Tiles 1.1" in out.stdout


def test_the_3dbag_tile_exports_as_a_valid_georeferenced_tileset(
    database_url: str, tmp_path: Path
) -> None:
    cid = f"tiles-{uuid.uuid4().hex[:8]}"
    assert commtwin(database_url, "import", str(DELFT), "--community", cid).returncode == 0
    target = tmp_path / "delft"
    export(database_url, cid, target)
    assert tileset_problems(target) == []
    files = contents(target)
    reports = gltf_reports(files)
    for name, report in reports.items():
        assert report["errors"] == 0, (name, report["messages"])
        assert report["warnings"] == 0, (name, report["messages"])
    with psycopg.connect(database_url) as conn:
        community = load_community(conn, cid)
    assert community is not None
    by_id = {b.id: b for b in community.buildings}
    seen: list[str] = []
    for file in files:
        gltf = pygltflib.GLTF2.load(str(file))
        table = property_table(file)
        names = [n.name for n in gltf.nodes if n.mesh is not None]
        assert table["id"] == names  # feature id n = row n = node n
        for n, bid in enumerate(names):
            b = by_id[bid]
            assert table["height"][n] == pytest.approx(b.height, abs=1e-3)
            assert table["storeys"][n] == sum(1 for s in b.storeys if s.index > 0)
            assert table["name"][n] == (b.name or "")
            primitive = gltf.meshes[gltf.nodes[n].mesh].primitives[0]
            features = primitive.extensions["EXT_mesh_features"]["featureIds"][0]
            assert features["propertyTable"] == 0
            ids = gltf.accessors[getattr(primitive.attributes, FEATURE_ID)]
            view = gltf.bufferViews[ids.bufferView]
            start = view.byteOffset + ids.byteOffset
            values = np.frombuffer(gltf.binary_blob()[start : start + 4 * ids.count], "<f4")
            assert set(values.tolist()) == {float(n)}
        seen += names
    assert sorted(seen) == sorted(by_id)

    # Georeference: the root transform puts a corner of a building where pyproj
    # puts it from its RD New coordinates (EPSG:7415 = RD New + NAP heights).
    doc = json.loads((target / "tileset.json").read_text())
    matrix = np.asarray(doc["root"]["transform"]).reshape(4, 4).T
    ox, oy, oz = community.offset
    lon_lat = Transformer.from_crs("EPSG:28992", "EPSG:4979", always_xy=True)
    to_ecef = Transformer.from_crs("EPSG:4979", "EPSG:4978", always_xy=True)
    for b in (community.buildings[0], community.buildings[-1]):
        x, y = b.footprint.exterior.coords[0] if b.footprint.geom_type == "Polygon" else (0, 0)
        local = np.array([x, y, b.roof_z, 1.0])
        lon, lat = lon_lat.transform(x + ox, y + oy)
        expected = np.array(to_ecef.transform(lon, lat, b.roof_z + oz))
        # One plane for the community: within 5 cm at a few hundred metres.
        assert np.linalg.norm((matrix @ local)[:3] - expected) < 0.05


def box(n: int) -> Building:
    x, y = (n % 100) * 20.0, (n // 100) * 20.0
    roof = 6.0 + (n % 7) * 3.0
    return Building(
        f"g{n:05d}",
        f"Block {n}",
        shapely.box(x, y, x + 12, y + 10),
        0.0,
        roof,
        derive_storeys(f"g{n}", 0.0, roof, storey_height=3.0),
    )


@pytest.mark.timeout(900)  # ~40 s alone; the machine is shared
def test_a_generated_city_of_10000_buildings_is_tiled(database_url: str, tmp_path: Path) -> None:
    cid = f"tiles-{uuid.uuid4().hex[:8]}"
    city = Community(cid, cid, "EPSG:32650", (500_000.0, 3_500_000.0, 0.0)).with_buildings(
        tuple(box(n) for n in range(10_000))
    )
    with psycopg.connect(database_url, autocommit=True) as conn:
        import_community(conn, city)
    target = tmp_path / "city"
    export(database_url, cid, target)
    assert tileset_problems(target) == []
    files = contents(target)
    assert 20 <= len(files) <= 80
    doc = json.loads((target / "tileset.json").read_text())
    assert len(doc["root"]["children"]) >= 2
    seen = []
    for file in files:
        doc_, _ = read_glb(file)
        names = [n["name"] for n in doc_["nodes"] if "mesh" in n]
        assert len(names) <= 500
        ids = property_table(file)["id"]
        assert ids == names
        seen += ids
    assert sorted(seen) == [b.id for b in city.buildings]
    reports = gltf_reports(files[:3])
    assert all(r["errors"] == 0 for r in reports.values()), reports


def test_the_validator_can_fail(database_url: str, tmp_path: Path) -> None:
    """A glb whose accessor reads past its buffer view, and a tileset whose
    child leaves its parent's box, are both reported."""
    cid = f"tiles-{uuid.uuid4().hex[:8]}"
    city = Community(cid, cid, "EPSG:32650", (500_000.0, 3_500_000.0, 0.0)).with_buildings(
        (box(1), box(2))
    )
    with psycopg.connect(database_url, autocommit=True) as conn:
        import_community(conn, city)
    target = tmp_path / "small"
    export(database_url, cid, target)
    [glb] = contents(target)
    gltf = pygltflib.GLTF2.load(str(glb))
    gltf.accessors[0].count *= 1000
    broken = tmp_path / "broken.glb"
    gltf.save_binary(str(broken))
    report = gltf_reports([broken])[str(broken)]
    assert report["errors"] > 0
    assert any("ACCESSOR" in m for m in report["messages"])

    doc = json.loads((target / "tileset.json").read_text())
    doc["root"]["children"][0]["boundingVolume"]["box"][0] += 500.0
    (target / "tileset.json").write_text(json.dumps(doc))
    problems = tileset_problems(target)
    assert any("outside its parent's" in p for p in problems)
    assert any("content outside its bounding box" in p for p in problems)


def test_bad_export_requests_are_one_line_errors(database_url: str, tmp_path: Path) -> None:
    assert "does not exist" in one_line_error(
        commtwin(database_url, "export", "no-such-community", "--format", "3dtiles", str(tmp_path))
    )
    assert "--format 3dtiles" in one_line_error(
        commtwin(database_url, "export", "x", "--format", "3dtiles")
    )
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    cid = f"tiles-{uuid.uuid4().hex[:8]}"
    with psycopg.connect(database_url, autocommit=True) as conn:
        import_community(conn, Community(cid, cid, "EPSG:32650").with_buildings((box(1),)))
    assert "not an empty folder" in one_line_error(
        commtwin(database_url, "export", cid, "--format", "3dtiles", str(tmp_path / "full"))
    )
    assert (tmp_path / "full" / "keep.txt").read_text() == "mine"
