"""The community model file: the DESIGN.md example, referenced geometry, errors."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from pyproj import Transformer

from tests.shared_data import SHARED_DATA
from twin.community.export import community_to_json
from twin.community.file import community_from_json, read_community_file
from twin.errors import ModelError
from twin.geometry.geojson import HEIGHT_DEFAULTED
from twin.model.community import Placement, Position

SHARED = SHARED_DATA

LANTING: dict[str, Any] = {
    "id": "lanting",
    "name": "兰亭社区 Lanting",
    "crs": "+proj=tmerc +lat_0=30.27 +lon_0=120.15 +k=1 +x_0=0 +y_0=0 +ellps=WGS84 +units=m",
    "offset": [0, 0, 0],
    "storey_height": 3.0,
    "buildings": [
        {
            "id": "b01",
            "name": "1幢",
            "footprint": {
                "type": "Polygon",
                "coordinates": [[[0, 0], [30, 0], [30, 12], [0, 12], [0, 0]]],
            },
            "ground_z": 0.0,
            "roof_z": 54.0,
            "storeys": [{"index": -1, "floor_z": -3.5, "height": 3.5, "name": "B1"}],
            "storey_count": 18,
            "units": [{"id": "1-101", "storey": 1, "name": "101"}, {"id": "1-301", "storey": 3}],
        }
    ],
    "grids": [
        {
            "id": "g1",
            "name": "第一网格",
            "worker": "w-zhang",
            "worker_name": "张伟",
            "polygon": {
                "type": "Polygon",
                "coordinates": [[[-10, -10], [60, -10], [60, 40], [-10, 40], [-10, -10]]],
            },
        }
    ],
    "devices": [
        {
            "id": "smoke-b01-0101",
            "kind": "smoke",
            "metrics": ["smoke", "temperature"],
            "building": "b01",
            "storey": 1,
            "unit": "1-101",
        },
        {
            "id": "parking-north",
            "kind": "parking",
            "metrics": ["occupancy"],
            "position": {"x": 10, "y": -5, "z": 0},
        },
        {
            "id": "wear-0001",
            "kind": "wearable",
            "metrics": ["heart_rate", "fall", "sos"],
            "mobile": True,
            "building": "b01",
            "unit": "1-301",
        },
    ],
}


def model(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(LANTING)
    data.update(changes)
    return data


def test_design_example_reads_with_derived_and_given_storeys() -> None:
    c = community_from_json(model())
    [b] = c.buildings
    assert [s.index for s in b.storeys] == [-1, *range(1, 19)]
    basement, top = b.storey(-1), b.storey(18)
    assert basement is not None
    assert basement.name == "B1"
    assert top is not None
    assert top.top_z == 54.0
    devices = {d.id: d for d in c.devices}
    assert devices["wear-0001"].placement == Placement("b01", 3, "1-301")  # storey from unit
    assert devices["wear-0001"].mobile
    assert devices["parking-north"].placement == Placement(position=Position(10.0, -5.0, 0.0))
    assert c.grids[0].worker == "w-zhang"


def test_export_reads_back_equal() -> None:
    c = community_from_json(model())
    again = community_from_json(json.loads(json.dumps(community_to_json(c))))
    assert again == c


def test_referenced_geometry_is_reprojected_into_the_frame(tmp_path: Path) -> None:
    """The 3D BAG tile (RD New) into a tmerc frame centred on Delft."""
    centre_rd = (84800.0, 446700.0)
    lon, lat = Transformer.from_crs("EPSG:28992", "EPSG:4326", always_xy=True).transform(*centre_rd)
    crs = f"+proj=tmerc +lat_0={lat} +lon_0={lon} +k=1 +x_0=0 +y_0=0 +ellps=WGS84 +units=m"
    data = model(crs=crs, geometry=[str(SHARED / "3dbag-delft.city.json")], devices=[])
    (tmp_path / "m.json").write_text(json.dumps(data))
    c = read_community_file(tmp_path / "m.json")
    assert len(c.buildings) == 444  # b01 + 443 from the tile
    bag = json.loads((SHARED / "3dbag-delft.city.json").read_text())
    some = "NL.IMBAG.Pand.0503100000019595"
    first = bag["CityObjects"][some]["geometry"][0]["boundaries"][0][0][0]
    t = bag["transform"]
    x, y = (bag["vertices"][first][i] * t["scale"][i] + t["translate"][i] for i in (0, 1))
    # Through WGS 84 explicitly: the frame's "+ellps=WGS84" means WGS 84, so the
    # Amersfoort datum shift (~100 m) must be applied.
    wgs = Transformer.from_crs("EPSG:28992", "EPSG:4326", always_xy=True).transform(x, y)
    expected = Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform(*wgs)
    building = next(b for b in c.buildings if b.id == some)
    coords = list(building.footprint.exterior.coords)
    assert min(abs(cx - expected[0]) + abs(cy - expected[1]) for cx, cy in coords) < 0.01


def test_building_height_rules() -> None:
    square = LANTING["buildings"][0]["footprint"]
    buildings = [
        {"id": "a", "footprint": square, "height": 10},
        {"id": "b", "footprint": square, "storey_count": 4},
        {
            "id": "c",
            "footprint": square,
            "storeys": [
                {"index": 1, "floor_z": 0, "height": 4},
                {"index": 2, "floor_z": 4, "height": 4},
            ],
        },
        {"id": "d", "footprint": square},
    ]
    c = community_from_json(model(buildings=buildings, devices=[]))
    got = {b.id: (b.roof_z, len(b.storeys), b.flags) for b in c.buildings}
    assert got == {
        "a": (10.0, 3, ()),
        "b": (12.0, 4, ()),
        "c": (8.0, 2, ()),
        "d": (9.0, 3, (HEIGHT_DEFAULTED,)),
    }


def device(**fields: Any) -> dict[str, Any]:
    return {"id": "dev-1", "kind": "smoke", "metrics": ["smoke"], **fields}


BAD: list[tuple[dict[str, Any], str]] = [
    (model(crs="EPSG:999999"), "community lanting: unknown CRS 'EPSG:999999'"),
    (model(crs="EPSG:4326"), "community lanting: CRS 'EPSG:4326' is not projected in metres"),
    (model(id="Lanting"), "model id: 'Lanting' is not a valid id"),
    (model(geometry=["missing.city.json"]), "missing.city.json: file not found"),
    (model(devices=[device(building="b9")]), "device dev-1: building 'b9' does not exist"),
    (
        model(devices=[device(building="b01", storey=30)]),
        "device dev-1: storey 30 does not exist in building b01",
    ),
    (
        model(devices=[device(building="b01", unit="9-9")]),
        "device dev-1: unit '9-9' does not exist in building b01",
    ),
    (
        model(devices=[device(building="b01", storey=2, unit="1-101")]),
        "device dev-1: unit 1-101 is on storey 1, not 2",
    ),
    (model(devices=[device(storey=1)]), "device dev-1: a storey or unit needs a building"),
    (model(devices=[device(), device()]), "device dev-1: duplicate id"),
    (model(devices=[device(kind="Smoke Detector")]), "device dev-1: kind 'Smoke Detector'"),
    (model(devices=[device(attributes={"_name": "x"})]), "attribute '_name' is reserved"),
    (model(devices=[device(position={"x": 1})]), "position y must be a finite number"),
    (model(grids=[LANTING["grids"][0], LANTING["grids"][0]]), "grid g1: duplicate id"),
    (
        model(buildings=[LANTING["buildings"][0], LANTING["buildings"][0]], devices=[]),
        "building b01: duplicate id (twice in model)",
    ),
    (model(heigth=3), "model: unknown field 'heigth'"),
]


@pytest.mark.parametrize(("data", "message"), BAD, ids=[m for _, m in BAD])
def test_bad_models_name_object_and_problem(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ModelError) as caught:
        community_from_json(data, base_dir=Path("/nonexistent"))
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"roof_z": -1}, "roof_z (-1.0) must be above ground_z (0.0)"),
        ({"storeys": [{"index": 0, "floor_z": 0}]}, "storey index 0 does not exist"),
        (
            {"storeys": [{"index": 1, "floor_z": 0, "height": 60}], "storey_count": None},
            "storey 1 reaches 60.0, above the roof at 54.0",
        ),
        ({"units": [{"id": "u", "storey": 40}]}, "unit u of building b01: storey 40 does not"),
        (
            {
                "footprint": {
                    "type": "Polygon",
                    "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]],
                }
            },
            "building b01: footprint is invalid: Self-intersection",
        ),
        ({"roof_z": "54"}, "building b01: roof_z must be a finite number"),
        (
            {"units": [{"id": "u", "storey": 1}, {"id": "u", "storey": 2}]},
            "unit u of building b01: duplicate id",
        ),
    ],
)
def test_bad_buildings(change: dict[str, Any], message: str) -> None:
    building = {**LANTING["buildings"][0], **change}
    building = {k: v for k, v in building.items() if v is not None}
    with pytest.raises(ModelError) as caught:
        community_from_json(model(buildings=[building], devices=[]))
    assert message in str(caught.value)


def test_duplicate_building_across_files(tmp_path: Path) -> None:
    feature = {
        "type": "Feature",
        "id": "b01",
        "properties": {},
        "geometry": {
            "type": "Polygon",
            "coordinates": [
                [[120.15, 30.27], [120.1501, 30.27], [120.1501, 30.2701], [120.15, 30.27]]
            ],
        },
    }
    (tmp_path / "osm.geojson").write_text(
        json.dumps({"type": "FeatureCollection", "features": [feature]})
    )
    (tmp_path / "m.json").write_text(json.dumps(model(geometry=["osm.geojson"])))
    with pytest.raises(ModelError, match=r"building b01: duplicate id \(in m.json and osm.geojson"):
        read_community_file(tmp_path / "m.json")


def test_unreadable_model_files(tmp_path: Path) -> None:
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(ModelError, match="is not valid JSON"):
        read_community_file(tmp_path / "broken.json")
    with pytest.raises(ModelError, match="file not found"):
        read_community_file(tmp_path / "absent.json")
