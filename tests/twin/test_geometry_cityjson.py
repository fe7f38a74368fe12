"""CityJSON import: the shared 3D BAG tile and small files for each rule.

Expected values are computed here straight from the JSON (attributes,
vertices, transform), independently of twin/geometry/cityjson.py.
"""

from __future__ import annotations

import copy
import json
import math
import re
from typing import Any

import numpy as np
import pytest
import shapely
from pyproj import Transformer

from tests.shared_data import DELFT
from twin.errors import ModelError
from twin.geometry.cityjson import read_cityjson
from twin.geometry.geojson import HEIGHT_DEFAULTED
from twin.model.crs import Frame, local_tmerc


@pytest.fixture(scope="module")
def delft() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DELFT.read_text())
    return data


def world_vertices(data: dict[str, Any]) -> np.ndarray[Any, Any]:
    t = data["transform"]
    scaled = np.array(data["vertices"], float) * np.array(t["scale"], float)
    world: np.ndarray[Any, Any] = scaled + np.array(t["translate"], float)
    return world


def test_every_delft_building_imports_with_heights_from_attributes(delft: dict[str, Any]) -> None:
    result = read_cityjson(delft, DELFT.name)
    expected = {k: o for k, o in delft["CityObjects"].items() if o["type"] == "Building"}
    assert len(expected) == 443
    assert {b.id for b in result.buildings} == set(expected)
    assert result.source_crs == "EPSG:7415"
    assert result.skipped == {}
    dz = result.frame.offset[2]
    for b in result.buildings:
        attributes = expected[b.id]["attributes"]
        assert b.ground_z == pytest.approx(attributes["h_maaiveld"] - dz)
        assert b.roof_z == pytest.approx(attributes["h_dak_max"] - dz)
        height = attributes["h_dak_max"] - attributes["h_maaiveld"]
        assert len(b.storeys) == max(1, math.floor(height / 3.0 + 0.5))
        assert [s.index for s in b.storeys] == list(range(1, len(b.storeys) + 1))
        assert b.storeys[0].floor_z == pytest.approx(b.ground_z)
        assert b.storeys[-1].top_z == pytest.approx(b.roof_z)
        assert b.flags == ()


def test_delft_footprints_are_the_lod0_surfaces_moved_by_the_offset(delft: dict[str, Any]) -> None:
    result = read_cityjson(delft, DELFT.name)
    world = world_vertices(delft)
    ox, oy, _ = result.frame.offset
    for b in result.buildings:
        surfaces = delft["CityObjects"][b.id]["geometry"][0]["boundaries"]
        shell = world[surfaces[0][0]][:, :2]
        assert b.footprint.area == pytest.approx(shapely.Polygon(shell).area, rel=1e-9)
        minx, miny, _, _ = b.footprint.bounds
        assert minx + ox == pytest.approx(shell[:, 0].min(), abs=1e-5)
        assert miny + oy == pytest.approx(shell[:, 1].min(), abs=1e-5)


def test_bare_frame_is_the_file_crs_with_a_rounded_offset_near_the_data(
    delft: dict[str, Any],
) -> None:
    frame = read_cityjson(delft, DELFT.name).frame
    extent = delft["metadata"]["geographicalExtent"]
    assert frame.crs == "EPSG:7415"
    assert frame.offset[0] % 100 == 0
    assert frame.offset[1] % 100 == 0
    assert extent[0] - 100 <= frame.offset[0] <= extent[3] + 100
    assert extent[1] - 100 <= frame.offset[1] <= extent[4] + 100
    assert frame.offset[2] == 0.0


def test_footprints_derived_from_lod1_ground_surfaces(delft: dict[str, Any]) -> None:
    """Without LoD0 the footprint is the union of the parts' LoD1.2 GroundSurfaces."""
    stripped = copy.deepcopy(delft)
    objects = stripped["CityObjects"]
    for obj in objects.values():
        if obj["type"] == "Building":
            obj["geometry"] = []
    result = read_cityjson(stripped, "no-lod0")
    assert len(result.buildings) == 443
    world = world_vertices(delft)
    ox, oy, _ = result.frame.offset
    for b in result.buildings:
        grounds = []
        for child in objects[b.id]["children"]:
            solid = next(g for g in objects[child]["geometry"] if g["lod"] == "1.2")
            kinds = [s["type"] for s in solid["semantics"]["surfaces"]]
            for face, value in zip(
                solid["boundaries"][0], solid["semantics"]["values"][0], strict=True
            ):
                if kinds[value] == "GroundSurface":
                    rings = [world[ring][:, :2] - (ox, oy) for ring in face]
                    grounds.append(shapely.Polygon(rings[0], rings[1:]))
        assert b.footprint.area == pytest.approx(shapely.union_all(grounds).area, rel=1e-6)
    # The reconstructed ground is close to the BAG footprint (LoD0), not identical.
    lod0 = {b.id: b.footprint for b in read_cityjson(delft, "lod0").buildings}
    ratios = [b.footprint.area / lod0[b.id].area for b in result.buildings]
    assert float(np.median(ratios)) == pytest.approx(1.0, abs=0.01)


def cube(lod: str = "1.2", semantics: bool = True) -> dict[str, Any]:
    """A 10 x 8 m box from z 2 to 14 as a Solid, vertex indices 0-7."""
    solid: dict[str, Any] = {
        "type": "Solid",
        "lod": lod,
        "boundaries": [
            [
                [[0, 3, 2, 1]],
                [[4, 5, 6, 7]],
                [[0, 1, 5, 4]],
                [[1, 2, 6, 5]],
                [[2, 3, 7, 6]],
                [[3, 0, 4, 7]],
            ]
        ],
    }
    if semantics:
        solid["semantics"] = {
            "surfaces": [
                {"type": "GroundSurface"},
                {"type": "RoofSurface"},
                {"type": "WallSurface"},
            ],
            "values": [[0, 1, 2, 2, 2, 2]],
        }
    return solid


def small_file(version: str = "1.1", **building: Any) -> dict[str, Any]:
    corners = [(0, 0), (10, 0), (10, 8), (0, 8)]
    vertices = [[x * 1000, y * 1000, 2000] for x, y in corners]
    vertices += [[x * 1000, y * 1000, 14000] for x, y in corners]
    obj = {"type": "Building", "geometry": [cube()], **building}
    return {
        "type": "CityJSON",
        "version": version,
        "transform": {"scale": [0.001, 0.001, 0.001], "translate": [155000.0, 463000.0, 0.0]},
        "metadata": {"referenceSystem": "https://www.opengis.net/def/crs/EPSG/0/7415"},
        "CityObjects": {"b1": obj},
        "vertices": vertices,
    }


def test_heights_from_geometry_when_no_attributes() -> None:
    [b] = read_cityjson(small_file(), "cube").buildings
    assert (b.ground_z, b.roof_z) == (2.0, 14.0)
    assert len(b.storeys) == 4
    assert b.footprint.area == pytest.approx(80.0)


def test_measured_height_wins_over_geometry() -> None:
    [b] = read_cityjson(small_file(attributes={"measuredHeight": 6.0}), "cube").buildings
    assert (b.ground_z, b.roof_z, len(b.storeys)) == (2.0, 8.0, 2)


def test_footprint_from_lowest_faces_without_semantics() -> None:
    data = small_file()
    data["CityObjects"]["b1"]["geometry"] = [cube("2.2", semantics=False)]
    [b] = read_cityjson(data, "cube").buildings
    assert b.footprint.area == pytest.approx(80.0)


@pytest.mark.parametrize(
    ("reference", "version"),
    [("urn:ogc:def:crs:EPSG::7415", "1.0"), ("http://www.opengis.net/def/crs/EPSG/0/7415", "2.0")],
)
def test_crs_forms_and_versions(reference: str, version: str) -> None:
    data = small_file(version)
    data["metadata"]["referenceSystem"] = reference
    result = read_cityjson(data, "v")
    assert result.source_crs == "EPSG:7415"
    assert result.frame.offset == (155000.0, 463000.0, 0.0)


def test_reprojection_into_a_community_frame() -> None:
    """RD New → a tmerc frame: compare with pyproj directly (via WGS 84)."""
    to_wgs = Transformer.from_crs("EPSG:28992", "EPSG:4326", always_xy=True)
    lon, lat = to_wgs.transform(155005.0, 463004.0)  # the box's centre
    frame = Frame(local_tmerc(lon, lat), (0.0, 0.0, 0.0))
    [b] = read_cityjson(small_file(), "cube", frame=frame).buildings
    centre = b.footprint.centroid
    expected = Transformer.from_crs("EPSG:4326", frame.crs, always_xy=True).transform(lon, lat)
    assert (centre.x, centre.y) == pytest.approx(expected, abs=0.01)
    assert b.footprint.area == pytest.approx(80.0, rel=1e-3)


def test_cityjson_1_0_without_transform_and_numeric_lod() -> None:
    data = small_file("1.0")
    t = data.pop("transform")
    data["vertices"] = [
        [v[i] * t["scale"][i] + t["translate"][i] for i in range(3)] for v in data["vertices"]
    ]
    data["metadata"] = {"referenceSystem": "urn:ogc:def:crs:EPSG::7415"}
    data["CityObjects"]["b1"]["geometry"][0]["lod"] = 1
    [b] = read_cityjson(data, "v10").buildings
    assert (b.ground_z, b.roof_z) == (2.0, 14.0)
    assert b.footprint.area == pytest.approx(80.0)
    assert b.footprint.bounds[:2] == pytest.approx((0.0, 0.0))


def test_storeys_and_units_from_cityjson_2() -> None:
    data = small_file("2.0", children=["s1", "s2", "u1"])
    top, floor = 8000, 2000
    base = len(data["vertices"])
    data["vertices"] += [
        [0, 0, floor],
        [10000, 8000, top],
        [0, 0, top],
        [10000, 8000, 14000],
        [10000, 0, top],
    ]
    data["CityObjects"].update(
        {
            "s1": {
                "type": "BuildingStorey",
                "parents": ["b1"],
                "attributes": {"name": "G"},
                "geometry": [
                    {
                        "type": "MultiSurface",
                        "lod": "1",
                        "boundaries": [[[base, base + 1, base + 2]]],
                    }
                ],
            },
            "s2": {
                "type": "BuildingStorey",
                "parents": ["b1"],
                "geometry": [
                    {
                        "type": "MultiSurface",
                        "lod": "1",
                        "boundaries": [[[base + 2, base + 3, base + 4]]],
                    }
                ],
            },
            "u1": {"type": "BuildingUnit", "parents": ["s2"], "attributes": {"name": "201"}},
        }
    )
    [b] = read_cityjson(data, "v2").buildings
    assert [(s.index, s.floor_z, s.top_z, s.name) for s in b.storeys] == [
        (1, 2.0, 8.0, "G"),
        (2, 8.0, 14.0, "s2"),
    ]
    assert [(u.id, u.storey, u.name) for u in b.units] == [("u1", 2, "201")]


def test_storey_attributes_give_counts_and_basements() -> None:
    attributes = {"storeysAboveGround": 3, "storeysBelowGround": 1, "storeyHeightsBelowGround": 4}
    [b] = read_cityjson(small_file("2.0", attributes=attributes), "v2").buildings
    assert [(s.index, s.floor_z, s.height) for s in b.storeys] == [
        (-1, -2.0, 4.0),
        (1, 2.0, 4.0),
        (2, 6.0, 4.0),
        (3, 10.0, 4.0),
    ]


def test_flat_building_gets_default_height_and_flag() -> None:
    data = small_file()
    data["vertices"] = [[x, y, 2000] for x, y, _ in data["vertices"]]
    [b] = read_cityjson(data, "flat").buildings
    assert b.flags == (HEIGHT_DEFAULTED,)
    assert (b.roof_z - b.ground_z, len(b.storeys)) == (9.0, 3)


def test_other_objects_are_skipped_and_counted() -> None:
    data = small_file()
    data["CityObjects"]["road"] = {"type": "Road"}
    data["CityObjects"]["tree"] = {"type": "SolitaryVegetationObject"}
    result = read_cityjson(data, "mixed")
    assert [b.id for b in result.buildings] == ["b1"]
    assert result.skipped == {"Road": 1, "SolitaryVegetationObject": 1}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(version="0.9"), "CityJSON version '0.9' is not supported"),
        (lambda d: d.update(version="3.0"), "CityJSON version '3.0' is not supported"),
        (lambda d: d.update(type="FeatureCollection"), "not a CityJSON file"),
        (lambda d: d["metadata"].pop("referenceSystem"), "has no metadata.referenceSystem"),
        (lambda d: d["metadata"].update(referenceSystem="EPSG:999999"), "unknown CRS"),
        (lambda d: d["CityObjects"]["b1"].update(geometry=[]), "no footprint geometry: has no"),
        (lambda d: d["CityObjects"]["b1"].update(children=["ghost"]), "'ghost' is not in"),
        (lambda d: d.update(vertices=[[0, 0]]), "vertices must be [x, y, z] numbers"),
    ],
)
def test_bad_files_name_the_problem(change: Any, message: str) -> None:
    data = small_file()
    change(data)
    with pytest.raises(ModelError, match=re_escape(message)):
        read_cityjson(data, "bad.city.json")


def test_self_intersecting_lod0_footprint_is_rejected() -> None:
    data = small_file()
    data["CityObjects"]["b1"]["geometry"] = [
        {"type": "MultiSurface", "lod": "0", "boundaries": [[[0, 2, 1, 3]]]}
    ]
    with pytest.raises(ModelError, match=r"building b1 \(bow\): self-intersecting ring: Self-int"):
        read_cityjson(data, "bow")


def re_escape(text: str) -> str:
    return re.escape(text)
