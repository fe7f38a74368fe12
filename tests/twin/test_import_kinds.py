"""Footprints from every CityJSON geometry kind, and files with broken objects.

Small files are written out here (a 10 x 8 m box, a courtyard block); the
broken file is the shared 3D BAG tile with a few objects damaged the ways
real files are: a dangling vertex index, empty boundaries, a ring that
crosses itself.
"""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest
import shapely

from tests.shared_data import DELFT
from twin.errors import ModelError
from twin.geometry.cityjson import read_cityjson_report
from twin.geometry.import_report import (
    DANGLING_VERTEX,
    EMPTY_BOUNDARIES,
    MISSING_OBJECT,
    NO_FOOTPRINT,
    NOT_A_BUILDING,
    SELF_INTERSECTING,
)

BOX = [(0, 0), (10, 0), (10, 8), (0, 8)]
SHELL = [
    [[0, 3, 2, 1]],
    [[4, 5, 6, 7]],
    [[0, 1, 5, 4]],
    [[1, 2, 6, 5]],
    [[2, 3, 7, 6]],
    [[3, 0, 4, 7]],
]


def box_vertices(x0: float = 0, z0: float = 2, z1: float = 14) -> list[list[float]]:
    bottom = [[x + x0, y, z0] for x, y in BOX]
    return bottom + [[x + x0, y, z1] for x, y in BOX]


def document(objects: dict[str, Any], vertices: list[list[float]], **extra: Any) -> dict[str, Any]:
    return {
        "type": "CityJSON",
        "version": "2.0",
        "metadata": {"referenceSystem": "https://www.opengis.net/def/crs/EPSG/0/7415"},
        "CityObjects": objects,
        "vertices": vertices,
        **extra,
    }


def solid(boundaries: Any, kind: str = "Solid", lod: Any = "1.2") -> dict[str, Any]:
    return {"type": kind, "lod": lod, "boundaries": boundaries}


def shifted(shell: list[Any], by: int) -> list[Any]:
    return [[[i + by for i in ring] for ring in face] for face in shell]


@pytest.mark.parametrize(
    ("geometry", "area", "ground"),
    [
        (solid([SHELL]), 80.0, 2.0),
        (solid([SHELL], lod=2), 80.0, 2.0),  # lod as a number
        (solid([[SHELL], [shifted(SHELL, 8)]], "MultiSolid"), 160.0, 2.0),
        (solid([[SHELL], [shifted(SHELL, 8)]], "CompositeSolid", "2.2"), 160.0, 2.0),
        (solid(SHELL, "MultiSurface", "2"), 80.0, 2.0),
        (solid(SHELL[1:2], "CompositeSurface", "2.2"), 80.0, 14.0),  # a roof only
        (solid([list(reversed(SHELL))], lod="3"), 80.0, 2.0),
    ],
    ids=["solid", "lod-number", "multisolid", "compositesolid", "multisurface", "roof", "lod3"],
)
def test_footprint_from_each_geometry_kind(
    geometry: dict[str, Any], area: float, ground: float
) -> None:
    vertices = box_vertices() + box_vertices(x0=20)  # the second box touches nothing
    data = document({"b1": {"type": "Building", "geometry": [geometry]}}, vertices)
    [b] = read_cityjson_report(data, "kinds", strict=True).found.buildings
    assert b.footprint.area == pytest.approx(area)
    assert b.ground_z == ground
    assert b.roof_z > b.ground_z


def test_a_shell_with_reversed_orientation_still_gives_its_plan() -> None:
    reversed_shell = [[list(reversed(ring)) for ring in face] for face in SHELL]
    data = document(
        {"b1": {"type": "Building", "geometry": [solid([reversed_shell])]}}, box_vertices()
    )
    [b] = read_cityjson_report(data, "inside-out", strict=True).found.buildings
    assert b.footprint.area == pytest.approx(80.0)


def test_courtyard_hole_is_kept() -> None:
    outer = [(0, 0), (30, 0), (30, 20), (0, 20)]
    inner = [(10, 5), (20, 5), (20, 15), (10, 15)]
    vertices = [[x, y, 0] for x, y in outer + inner] + [[x, y, 9] for x, y in outer + inner]
    ground = [[0, 3, 2, 1], [4, 5, 6, 7]]  # facing down: exterior clockwise, hole the other way
    roof = [[8, 9, 10, 11], [15, 14, 13, 12]]
    data = document(
        {"b1": {"type": "Building", "geometry": [solid([ground, roof], "MultiSurface", "2.2")]}},
        vertices,
    )
    [b] = read_cityjson_report(data, "court", strict=True).found.buildings
    assert b.footprint.area == pytest.approx(600.0 - 100.0)
    assert len(b.footprint.interiors) == 1


def test_building_parts_only_and_parentless_part() -> None:
    vertices = box_vertices() + box_vertices(x0=10, z0=2, z1=20) + box_vertices(x0=40)
    data = document(
        {
            "b1": {"type": "Building", "children": ["b1-a", "b1-b"]},
            "b1-a": {"type": "BuildingPart", "parents": ["b1"], "geometry": [solid([SHELL])]},
            "b1-b": {
                "type": "BuildingPart",
                "parents": ["b1"],
                "geometry": [solid([shifted(SHELL, 8)], lod="2.2")],
            },
            "lonely": {"type": "BuildingPart", "geometry": [solid([shifted(SHELL, 16)])]},
        },
        vertices,
    )
    found = read_cityjson_report(data, "parts", strict=True).found
    by_id = {b.id: b for b in found.buildings}
    assert set(by_id) == {"b1", "lonely"}
    assert by_id["b1"].footprint.area == pytest.approx(160.0)  # two boxes side by side: one
    assert by_id["b1"].footprint.geom_type == "Polygon"
    assert by_id["b1"].roof_z == 20.0


def test_geometry_instance_places_its_template() -> None:
    templates = {
        "templates": [solid([SHELL])],
        "vertices-templates": [[x, y, z - 2] for x, y, z in box_vertices()],
    }
    turn = [0, -1, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]  # 90° about z
    data = document(
        {
            "b1": {
                "type": "Building",
                "geometry": [
                    {
                        "type": "GeometryInstance",
                        "template": 0,
                        "boundaries": [0],
                        "transformationMatrix": turn,
                    }
                ],
            },
            "tree": {
                "type": "SolitaryVegetationObject",
                "geometry": [{"type": "GeometryInstance", "template": 0, "boundaries": [0]}],
            },
        },
        [[100.0, 50.0, 3.0]],
        **{"geometry-templates": templates},
    )
    report = read_cityjson_report(data, "instances", strict=True)
    [b] = report.found.buildings
    assert b.footprint.area == pytest.approx(80.0)
    ox, oy, _ = report.found.frame.offset
    assert b.footprint.bounds == pytest.approx((92 - ox, 50 - oy, 100 - ox, 60 - oy))
    assert (b.ground_z, b.roof_z) == (3.0, 15.0)
    assert report.found.skipped == {"SolitaryVegetationObject": 1}


@pytest.mark.parametrize(
    ("attributes", "roof"),
    [
        ({"measuredHeight": 6}, 8.0),
        ({"measuredHeight": "6.5"}, 8.5),
        ({"h_dak_70p": 11.0}, 11.0),
        ({"height": 7}, 9.0),
        ({"building:levels": 4}, 14.0),  # 4 × 3 m over the ground at 2 m
        ({}, 14.0),  # the geometry's z range
    ],
)
def test_height_from_attributes_else_geometry(attributes: dict[str, Any], roof: float) -> None:
    data = document(
        {"b1": {"type": "Building", "attributes": attributes, "geometry": [solid([SHELL])]}},
        box_vertices(),
    )
    [b] = read_cityjson_report(data, "heights", strict=True).found.buildings
    assert (b.ground_z, b.roof_z) == (2.0, roof)


def test_missing_crs_can_be_given_and_extensions_are_not_buildings() -> None:
    data = document(
        {
            "b1": {"type": "Building", "geometry": [solid([SHELL])]},
            "n1": {"type": "+NoiseBarrier", "geometry": [solid([SHELL])]},
        },
        box_vertices(),
        extensions={"Noise": {"url": "https://example.org/noise.ext.json", "version": "1.0"}},
    )
    del data["metadata"]["referenceSystem"]
    with pytest.raises(ModelError, match=r"has no metadata\.referenceSystem; import it with --crs"):
        read_cityjson_report(data, "no-crs")
    report = read_cityjson_report(data, "no-crs", crs="EPSG:7415")
    assert [b.id for b in report.found.buildings] == ["b1"]
    assert [(s.object_id, s.reason) for s in report.skips] == [("n1", NOT_A_BUILDING)]


@pytest.fixture(scope="module")
def broken() -> dict[str, Any]:
    """The 3D BAG tile with four objects damaged."""
    data: dict[str, Any] = orjson.loads(DELFT.read_bytes())
    ids = [k for k, o in data["CityObjects"].items() if o["type"] == "Building"]
    objects = data["CityObjects"]
    objects[ids[0]]["geometry"][0]["boundaries"][0][0][1] = len(data["vertices"]) + 5
    objects[ids[1]]["geometry"][0]["boundaries"] = []
    ring = objects[ids[2]]["geometry"][0]["boundaries"][0][0]
    ring[0], ring[2] = ring[2], ring[0]  # a bow tie
    objects[ids[3]]["children"] = ["not-there"]
    # A part's LoD2.2 solid (not used for the footprint) pointing past the vertices.
    child = objects[ids[4]]["children"][0]
    objects[child]["geometry"][-1]["boundaries"][0][0][0][0] = -1
    return data


def test_broken_objects_are_skipped_with_their_reasons(broken: dict[str, Any]) -> None:
    report = read_cityjson_report(broken, "broken.city.json")
    ids = [k for k, o in broken["CityObjects"].items() if o["type"] == "Building"]
    assert len(report.found.buildings) == 443 - 5
    reasons = {s.object_id: s.reason for s in report.skips}
    assert reasons == {
        ids[0]: DANGLING_VERTEX,
        ids[1]: EMPTY_BOUNDARIES,
        ids[2]: SELF_INTERSECTING,
        ids[3]: MISSING_OBJECT,
        ids[4]: DANGLING_VERTEX,
    }
    assert all(s.detail for s in report.skips)
    assert {b.id for b in report.found.buildings} == set(ids[5:])
    # The bow tie really crosses itself (a check independent of the reader).
    vertices = broken["vertices"]
    ring = broken["CityObjects"][ids[2]]["geometry"][0]["boundaries"][0][0]
    assert not shapely.Polygon([vertices[i][:2] for i in ring]).is_valid


def test_strict_refuses_the_broken_file(broken: dict[str, Any]) -> None:
    with pytest.raises(ModelError) as caught:
        read_cityjson_report(broken, "broken.city.json", strict=True)
    assert "(broken.city.json): " in str(caught.value)
    assert any(reason in str(caught.value) for reason in (DANGLING_VERTEX, MISSING_OBJECT))


def test_a_file_of_broken_buildings_yields_none_and_says_why() -> None:
    data = document(
        {
            "b1": {"type": "Building", "geometry": []},
            "b2": {"type": "Building", "geometry": [solid([[[[0, 1, 2, 99]]]])]},
            "b3": {"type": "Building", "geometry": [solid([[]])]},
        },
        box_vertices(),
    )
    report = read_cityjson_report(data, "bad")
    assert report.found.buildings == ()
    assert [s.reason for s in report.skips] == [NO_FOOTPRINT, DANGLING_VERTEX, EMPTY_BOUNDARIES]
    bad = copy.deepcopy(data)
    bad["CityObjects"]["b4"] = "not an object"
    assert [s.object_id for s in read_cityjson_report(bad, "bad").skips][-1] == "b4"
