"""OSM GeoJSON: the shared Hefei export with the features real OSM files also hold.

Added here to the real file: a ``building:part`` inside one of its buildings,
a courtyard hole, a building on stilts (``min_height``), a road and a car
park (not buildings), a ``building=no`` shed and a bow-tie building (broken).
Expected areas come from pyproj's geodesic area, not from twin code.
"""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest
import shapely
from pyproj import Geod
from shapely import affinity

from tests.shared_data import HEFEI
from twin.errors import ModelError
from twin.geometry.geojson_buildings import read_geojson_report
from twin.geometry.import_report import NOT_A_BUILDING, SELF_INTERSECTING

GEOD = Geod(ellps="WGS84")


def geodesic_area(geometry: Any) -> float:
    return abs(GEOD.geometry_area_perimeter(geometry)[0])


@pytest.fixture(scope="module")
def hefei() -> dict[str, Any]:
    data: dict[str, Any] = orjson.loads(HEFEI.read_bytes())
    return data


def as_json(geometry: Any) -> Any:
    """A shapely geometry as decoded GeoJSON (lists, as a file gives them, not tuples)."""
    return orjson.loads(shapely.to_geojson(geometry))


def feature(geometry: Any, **properties: Any) -> dict[str, Any]:
    return {"type": "Feature", "properties": properties, "geometry": as_json(geometry)}


def first_polygon(f: dict[str, Any]) -> Any:
    return shapely.geometry.shape(f["geometry"]).geoms[0]


@pytest.fixture(scope="module")
def enriched(hefei: dict[str, Any]) -> dict[str, Any]:
    data = copy.deepcopy(hefei)
    features = data["features"]
    host = first_polygon(features[1])  # a dormitory, osm-4603845, 18 m
    inner = host.representative_point()
    tower = host.intersection(
        shapely.box(inner.x - 1e-4, inner.y - 1e-4, inner.x + 1e-4, inner.y + 1e-4)
    )
    court = first_polygon(features[2])
    hole = affinity.scale(court, 0.3, 0.3)
    features[2]["geometry"] = as_json(
        shapely.MultiPolygon([shapely.Polygon(court.exterior, [hole.exterior])])
    )
    road = shapely.LineString([(117.195, 31.770), (117.199, 31.772)])
    park = affinity.translate(host, 0.01, 0.0)
    shed = affinity.translate(host, 0.02, 0.0)
    stilts = affinity.translate(host, 0.03, 0.0)
    bow = shapely.Polygon([(117.23, 31.77), (117.231, 31.771), (117.231, 31.77), (117.23, 31.771)])
    features += [
        feature(tower, osm_way_id="9001", **{"building:part": "yes", "height": 45}),
        feature(road, osm_way_id="9002", highway="footway", name="path"),
        feature(park, osm_way_id="9003", amenity="parking"),
        feature(shed, osm_way_id="9004", building="no", amenity="shelter"),
        feature(stilts, osm_way_id="9005", building="yes", height=12, min_height=4),
        feature(bow, osm_way_id="9006", building="yes"),
    ]
    return data


def test_every_building_imports_and_the_rest_is_reported(enriched: dict[str, Any]) -> None:
    report = read_geojson_report(enriched, HEFEI.name)
    ids = {b.id for b in report.found.buildings}
    assert len(ids) == 101 + 1  # the originals and the building on stilts; the part is merged
    assert "osm-way-9001" not in ids
    skips = {s.object_id: s.reason for s in report.skips}
    assert skips == {
        "osm-way-9002": NOT_A_BUILDING,
        "osm-way-9003": NOT_A_BUILDING,
        "osm-way-9004": NOT_A_BUILDING,
        "osm-way-9006": SELF_INTERSECTING,
    }
    with pytest.raises(ModelError, match=r"building osm-way-9006 \(.*\): footprint is invalid"):
        read_geojson_report(enriched, HEFEI.name, strict=True)


def test_part_raises_its_building_and_the_footprint_stays(
    hefei: dict[str, Any], enriched: dict[str, Any]
) -> None:
    before = {b.id: b for b in read_geojson_report(hefei, HEFEI.name).found.buildings}
    after = {b.id: b for b in read_geojson_report(enriched, HEFEI.name).found.buildings}
    host = after["osm-4603845"]
    assert host.roof_z - host.ground_z == pytest.approx(45.0)
    assert len(host.storeys) == 15
    assert host.attributes["building:parts"] == ["osm-way-9001"]
    assert host.footprint.area == pytest.approx(before["osm-4603845"].footprint.area)
    for bid, b in before.items():
        if bid not in ("osm-4603845", "osm-4603851"):
            assert after[bid].footprint.area == pytest.approx(b.footprint.area)
            assert after[bid].roof_z == b.roof_z


def test_holes_are_kept(enriched: dict[str, Any]) -> None:
    court = next(f for f in enriched["features"] if f["properties"].get("osm_id") == "4603851")
    [polygon] = shapely.geometry.shape(court["geometry"]).geoms
    expected = geodesic_area(shapely.Polygon(polygon.exterior)) - geodesic_area(
        shapely.Polygon(polygon.interiors[0])
    )
    found = {b.id: b for b in read_geojson_report(enriched, HEFEI.name).found.buildings}
    footprint = found["osm-4603851"].footprint
    assert len(shapely.get_parts(footprint)[0].interiors) == 1
    assert footprint.area == pytest.approx(expected, rel=2e-3)


def test_min_height_lifts_the_base(enriched: dict[str, Any]) -> None:
    found = {b.id: b for b in read_geojson_report(enriched, HEFEI.name).found.buildings}
    stilts = found["osm-way-9005"]
    assert (stilts.ground_z, stilts.roof_z) == (4.0, 12.0)
    assert stilts.storeys[0].floor_z == 4.0


def test_a_part_inside_no_building_is_a_building() -> None:
    lonely = shapely.box(117.2, 31.77, 117.2002, 31.7702)
    data = {
        "type": "FeatureCollection",
        "features": [feature(lonely, id="p1", **{"building:part": "yes", "height": 6})],
    }
    [b] = read_geojson_report(data, "parts.geojson").found.buildings
    assert (b.id, b.roof_z - b.ground_z) == ("p1", 6.0)
