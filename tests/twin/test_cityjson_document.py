"""A whole .city.json read through simdjson, object by object, gives what the
decoded document gives: the shared 3D BAG tile as is, shuffled (parts before
their buildings, families interleaved), damaged, and in pieces of a few
families; vertices that are not [x, y, z] are refused like before."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.shared_data import DELFT
from tests.twin.test_import_kinds import SHELL, box_vertices, document, solid
from twin.errors import ModelError
from twin.geometry import cityjson_document
from twin.geometry.cityjson import read_cityjson_report
from twin.geometry.cityjson_document import CityJSONDocument, load_json, read_cityjson_document
from twin.geometry.import_report import GeometryReport


def tile() -> dict[str, Any]:
    data: dict[str, Any] = orjson.loads(DELFT.read_bytes())
    return data


def written(tmp_path: Path, data: Any, name: str = "model.city.json") -> Path:
    path = tmp_path / name
    path.write_bytes(orjson.dumps(data))
    return path


def streamed(path: Path, **options: Any) -> GeometryReport:
    doc = load_json(path)
    assert isinstance(doc, CityJSONDocument)
    return read_cityjson_document(doc, **options)


def assert_same(got: GeometryReport, want: GeometryReport) -> None:
    assert {b.id: b for b in got.found.buildings} == {b.id: b for b in want.found.buildings}
    assert got.found.frame == want.found.frame
    assert got.found.source_crs == want.found.source_crs
    assert got.found.skipped == want.found.skipped
    assert got.skips == want.skips


def test_the_tile_reads_the_same(tmp_path: Path) -> None:
    data = tile()
    got = streamed(written(tmp_path, data))
    assert len(got.found.buildings) == 443
    assert_same(got, read_cityjson_report(data, "model.city.json"))


def test_shuffled_objects_in_small_pieces_read_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tile()
    items = list(data["CityObjects"].items())
    random.Random(7).shuffle(items)  # parts before their buildings, families apart
    data["CityObjects"] = dict(items)
    monkeypatch.setattr(cityjson_document, "CHUNK", 7)
    assert_same(streamed(written(tmp_path, data)), read_cityjson_report(data, "model.city.json"))


def test_damaged_objects_are_skipped_alike(tmp_path: Path) -> None:
    data = tile()
    objects = data["CityObjects"]
    ids = [k for k, o in objects.items() if o["type"] == "Building"]
    objects[ids[0]]["geometry"][0]["boundaries"][0][0][1] = len(data["vertices"]) + 5
    objects[ids[1]]["geometry"][0]["boundaries"] = []
    objects[ids[2]]["children"] = ["not-there"]
    objects[ids[3]]["parents"] = [["not", "an", "id"]]
    objects["road"] = {"type": "Road", "geometry": []}
    objects["odd"] = [1, 2, 3]
    got = streamed(written(tmp_path, data))
    assert len(got.found.buildings) == 443 - 3
    assert {s.object_id for s in got.skips} >= {ids[0], ids[1], ids[2], "road", "odd"}
    assert_same(got, read_cityjson_report(data, "model.city.json"))
    with pytest.raises(ModelError):
        streamed(written(tmp_path, data), strict=True)


def test_parts_templates_and_a_building_listed_twice(tmp_path: Path) -> None:
    vertices = box_vertices() + box_vertices(x0=10, z0=2, z1=20) + box_vertices(x0=40)
    data = document(
        {
            "b1-a": {"type": "BuildingPart", "parents": ["b1"], "geometry": [solid([SHELL])]},
            "b1": {"type": "Building", "children": ["b1-a", "b1-b", "lonely"]},
            "lonely": {"type": "BuildingPart", "geometry": [solid([[[[16, 17, 18, 19]]]])]},
            "b1-b": {
                "type": "BuildingPart",
                "parents": ["b1"],
                "geometry": [{**solid([[[[8, 9, 10, 11]]]]), "lod": 2}],
            },
        },
        vertices,
        transform={"scale": [0.5, 0.5, 1.0], "translate": [1000.0, 2000.0, 0.0]},
    )
    got = streamed(written(tmp_path, data))
    assert sorted(b.id for b in got.found.buildings) == ["b1", "lonely"]
    assert_same(got, read_cityjson_report(data, "model.city.json"))


@pytest.mark.parametrize(
    "vertices",
    [
        [[0, 0, 0], [1, 1]],
        [[0, 0], [1, 1, 1, 1]],  # six numbers, but not three per vertex
        [[0, 0, [1]], [1, 1, 1]],
        [[0, 0, "one"]],
        {"x": 1},
    ],
    ids=["short", "ragged", "nested", "text", "object"],
)
def test_vertices_that_are_not_xyz_are_refused(tmp_path: Path, vertices: Any) -> None:
    data = document({"b1": {"type": "Building", "geometry": [solid([SHELL])]}}, vertices)
    with pytest.raises(ModelError, match=r"vertices must be"):
        read_cityjson_report(data, "model.city.json")
    with pytest.raises(ModelError, match=r"vertices must be"):
        streamed(written(tmp_path, data))


def test_other_files_come_back_decoded_and_errors_name_the_file(tmp_path: Path) -> None:
    model = {"id": "c1", "crs": "EPSG:7415", "buildings": [{"id": "b", "height": [1, 2.5]}]}
    assert load_json(written(tmp_path, model, "model.json")) == model
    bad = tmp_path / "bad.city.json"
    bad.write_text('{"type": "CityJSON", ')
    with pytest.raises(ModelError, match=r"bad\.city\.json: is not valid JSON"):
        load_json(bad)
    with pytest.raises(ModelError, match=r"missing\.city\.json: file not found"):
        load_json(tmp_path / "missing.city.json")
    doc = load_json(written(tmp_path, tile()))
    assert isinstance(doc, CityJSONDocument)
    doc.close()
    with pytest.raises(ModelError, match="closed"):
        read_cityjson_document(doc)
