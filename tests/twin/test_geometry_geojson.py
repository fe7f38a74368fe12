"""GeoJSON import: the shared OSM sample (Hefei) and the footprint checks.

Expected heights and areas are computed here from the raw properties and
with pyproj's geodesic area, independently of twin/geometry/geojson.py.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
import shapely
from pyproj import Geod

from tests.shared_data import HEFEI
from twin.errors import ModelError
from twin.geometry.geojson import (
    HEIGHT_DEFAULTED,
    footprint_from_geojson,
    footprint_to_geojson,
)
from twin.geometry.geojson_buildings import read_geojson_buildings
from twin.model.crs import Frame


@pytest.fixture(scope="module")
def hefei() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(HEFEI.read_text(encoding="utf-8"))
    return data


def test_every_hefei_building_imports_with_its_height(hefei: dict[str, Any]) -> None:
    result = read_geojson_buildings(hefei, HEFEI.name)
    features = hefei["features"]
    assert len(result.buildings) == len(features) == 101
    assert len({b.id for b in result.buildings}) == 101
    by_id = {b.id: b for b in result.buildings}
    with_height = 0
    for i, feature in enumerate(features):
        props = feature["properties"]
        bid = f"osm-{props['osm_id']}" if props.get("osm_id") else None
        bid = bid or (f"osm-way-{props['osm_way_id']}" if props.get("osm_way_id") else None)
        building = by_id[bid or f"osm-hfut-hefei-{i}"]
        assert building.name == props.get("name")
        height = props.get("height")
        if height is not None:
            with_height += 1
            assert building.roof_z - building.ground_z == pytest.approx(height)
            assert len(building.storeys) == max(1, math.floor(height / 3.0 + 0.5))
            assert building.flags == ()
        else:
            assert building.roof_z - building.ground_z == pytest.approx(9.0)
            assert len(building.storeys) == 3
            assert building.flags == (HEIGHT_DEFAULTED,)
    assert with_height == 53


def test_hefei_areas_match_geodesic_areas(hefei: dict[str, Any]) -> None:
    result = read_geojson_buildings(hefei, HEFEI.name)
    assert result.frame.crs.startswith("+proj=tmerc")
    assert result.frame.offset == (0.0, 0.0, 0.0)
    geod = Geod(ellps="WGS84")
    for feature, building in zip(
        hefei["features"], sorted(result.buildings, key=lambda b: _order(hefei, b.id)), strict=True
    ):
        geodesic = abs(geod.geometry_area_perimeter(shapely.geometry.shape(feature["geometry"]))[0])
        assert building.footprint.area == pytest.approx(geodesic, rel=2e-3)
    # The frame is centred on the data: local coordinates stay within a few km.
    bounds = shapely.total_bounds([b.footprint for b in result.buildings])
    assert max(abs(v) for v in bounds) < 2000


def _order(data: dict[str, Any], building_id: str) -> int:
    for i, f in enumerate(data["features"]):
        p = f["properties"]
        if building_id in (
            f"osm-{p.get('osm_id')}",
            f"osm-way-{p.get('osm_way_id')}",
            f"osm-hfut-hefei-{i}",
        ):
            return i
    raise AssertionError(building_id)


def square(properties: dict[str, Any], *, feature_id: Any = None) -> dict[str, Any]:
    ring = [
        [117.2, 31.77],
        [117.2002, 31.77],
        [117.2002, 31.7702],
        [117.2, 31.7702],
        [117.2, 31.77],
    ]
    feature: dict[str, Any] = {
        "type": "Feature",
        "properties": properties,
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    }
    if feature_id is not None:
        feature["id"] = feature_id
    return feature


def collection(*features: dict[str, Any]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": list(features)}


@pytest.mark.parametrize(
    ("properties", "height", "storeys", "flags"),
    [
        ({"height": "24 m"}, 24.0, 8, ()),
        ({"building:levels": "6"}, 18.0, 6, (HEIGHT_DEFAULTED,)),
        ({"height": 20, "building:levels": 5}, 20.0, 5, ()),
        (
            {"other_tags": '"building:levels"=>"4","roof:shape"=>"flat"'},
            12.0,
            4,
            (HEIGHT_DEFAULTED,),
        ),
        ({"height": "tall"}, 9.0, 3, (HEIGHT_DEFAULTED,)),
        ({"height": 12, "building:levels:underground": 2}, 12.0, 6, ()),
    ],
)
def test_heights_and_levels(
    properties: dict[str, Any], height: float, storeys: int, flags: tuple[str, ...]
) -> None:
    [b] = read_geojson_buildings(collection(square(properties)), "one.geojson").buildings
    assert b.roof_z - b.ground_z == pytest.approx(height)
    assert len(b.storeys) == storeys
    assert b.flags == flags
    assert b.storeys[0].index == (-2 if "building:levels:underground" in properties else 1)


def test_feature_ids_and_a_given_frame() -> None:
    frame = Frame("+proj=tmerc +lat_0=31.77 +lon_0=117.2 +datum=WGS84 +units=m", (10.0, 20.0, 5.0))
    result = read_geojson_buildings(
        collection(square({}, feature_id="way/1"), square({"id": 7})), "x.geojson", frame=frame
    )
    assert sorted(b.id for b in result.buildings) == ["7", "way/1"]
    b = result.buildings[0]
    assert b.ground_z == -5.0  # world z 0 in a frame whose offset z is 5
    assert b.footprint.bounds[0] == pytest.approx(-10.0, abs=0.01)
    assert b.footprint.bounds[1] == pytest.approx(-20.0, abs=0.01)


def test_projected_source_crs_gets_that_crs_and_a_rounded_offset() -> None:
    feature = {
        "type": "Feature",
        "properties": {"height": 6},
        "geometry": {
            "type": "Polygon",
            "coordinates": [
                [[155010, 463020], [155030, 463020], [155030, 463040], [155010, 463020]]
            ],
        },
    }
    data = collection(feature) | {"crs": {"type": "name", "properties": {"name": "EPSG:28992"}}}
    result = read_geojson_buildings(data, "rd.geojson")
    assert result.frame.crs == "EPSG:28992"
    assert result.frame.offset == (155000.0, 463000.0, 0.0)
    assert result.buildings[0].footprint.area == pytest.approx(200.0)


@pytest.mark.parametrize(
    ("geometry", "message"),
    [
        (
            {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]},
            "footprint is invalid: Self-intersection",
        ),
        (
            {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]},
            "footprint ring 0 is not closed",
        ),
        ({"type": "Polygon", "coordinates": []}, "footprint is empty"),
        ({"type": "MultiPolygon", "coordinates": [[]]}, "footprint is empty"),
        ({"type": "Point", "coordinates": [0, 0]}, "must be a GeoJSON Polygon or MultiPolygon"),
        ({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [0, 0]]]}, "ring 0 has 3 positions"),
        ({"type": "Polygon", "coordinates": [[[0, 0], [1, "a"], [1, 1], [0, 0]]]}, "not [x, y]"),
        (
            {"type": "Polygon", "coordinates": [[[0, 0], [2, 0], [1, 0], [0, 0]]]},
            "footprint is invalid",
        ),
    ],
)
def test_bad_footprints_are_named(geometry: dict[str, Any], message: str) -> None:
    with pytest.raises(ModelError) as caught:
        footprint_from_geojson(geometry, "building b7")
    assert str(caught.value).startswith("building b7: ")
    assert message in str(caught.value)


def test_bad_feature_in_a_file_names_the_building_and_file() -> None:
    bad = square({"name": "x"}, feature_id="w9")
    ring = bad["geometry"]["coordinates"][0]
    ring[1], ring[2] = ring[2], ring[1]  # a bow tie
    with pytest.raises(ModelError, match=r"building w9 \(f.geojson\): footprint is invalid"):
        read_geojson_buildings(collection(square({}), bad), "f.geojson")
    with pytest.raises(ModelError, match="duplicate building id"):
        read_geojson_buildings(
            collection(square({}, feature_id=1), square({}, feature_id=1)), "f.geojson"
        )
    with pytest.raises(ModelError, match="feature has no geometry"):
        read_geojson_buildings(collection({"type": "Feature", "properties": {}}), "f.geojson")
    data = collection(square({})) | {"crs": {"properties": {"name": "EPSG:1"}}}
    with pytest.raises(ModelError, match="unknown CRS"):
        read_geojson_buildings(data, "f.geojson")


def test_footprint_geojson_round_trip_keeps_holes_and_parts() -> None:
    shell = shapely.box(0, 0, 10, 10).difference(shapely.box(4, 4, 6, 6))
    multi = shapely.MultiPolygon([shell, shapely.box(20, 0, 22, 2)])
    back = footprint_from_geojson(footprint_to_geojson(multi), "b")
    assert back.equals_exact(multi, 0)
    assert len(back.geoms[0].interiors) == 1
