"""Walking minutes on REAL OpenStreetMap data against networkx.

The data: ``test.osm.pbf``, the small OpenStreetMap extract (© OpenStreetMap
contributors, ODbL) that the pyrosm package ships as its test data
(``pyrosm.get_data("test_pbf")``, a part of Kouvola, Finland: ~240 walkable
ways, ~2,200 buildings, shops, schools and kindergartens). pyrosm (a dev
dependency) only reads the PBF into GeoJSON-like features with their OSM tags;
commtwin's own reader (``twin.services.geojson``) maps the tags, and
``tests/twin/service_reference.py`` recomputes the minutes with networkx.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
import shapely

from tests.twin.service_reference import reference_metres
from twin.community.file import read_geometry
from twin.model.community import Community
from twin.model.crs import Frame, local_tmerc
from twin.services.circle import CircleConfig, ServiceCircle
from twin.services.geojson import read_service_geojson


def _geojson(frame: Any) -> dict[str, Any]:
    # GeoDataFrame → GeoJSON with OSM tags as properties (NaN where a tag is absent).
    return json.loads(frame.to_json(na="null", drop_id=True))


@pytest.fixture(scope="module")
def osm() -> Community:
    pyrosm = pytest.importorskip("pyrosm")  # a dev dependency: installed by scripts/test
    data = pyrosm.OSM(pyrosm.get_data("test_pbf"))
    ways = _geojson(data.get_network(network_type="walking"))
    pois = _geojson(
        data.get_pois(
            custom_filter={"amenity": True, "shop": True, "leisure": True, "highway": ["bus_stop"]}
        )
    )
    footprints = data.get_buildings()[["id", "geometry"]]
    # A few OSM outlines self-intersect; commtwin's import refuses those, so leave them out.
    houses = _geojson(footprints[footprints.is_valid])
    lon, lat = np.mean(shapely.get_coordinates(shapely.from_geojson(json.dumps(ways))), axis=0)
    frame = Frame(local_tmerc(float(lon), float(lat)))
    network = read_service_geojson(ways, "kouvola-ways.geojson", frame)
    services = read_service_geojson(pois, "kouvola-pois.geojson", frame)
    buildings = read_geometry(houses, "kouvola-buildings.geojson", frame=frame).buildings
    return Community(
        "kouvola",
        "Kouvola (OSM)",
        frame.crs,
        buildings=buildings,
        facilities=services.facilities,
        paths=network.paths,
    )


def test_tags_map_to_facilities_and_walkable_paths(osm: Community) -> None:
    kinds = {f.type for f in osm.facilities}
    assert {"supermarket", "kindergarten", "school"} <= kinds
    assert len(osm.paths) > 200
    assert {p.kind for p in osm.paths} >= {"footway", "residential"}


def test_osm_minutes_equal_networkx(osm: Community) -> None:
    circle = ServiceCircle(osm, CircleConfig(max_snap_m=1e9))
    speed = circle.config.metres_per_minute
    network = shapely.union_all([p.geometry for p in osm.paths])
    # A footprint crossing a path may enter it anywhere along the crossing,
    # which two methods need not choose alike: compare the others (most).
    clear = [b for b in osm.buildings if not b.footprint.intersects(network)]
    assert len(clear) > 1000
    sample = clear[:: max(1, len(clear) // 150)]
    entrances = {b.id: [b.footprint] for b in sample}
    lines = [p.geometry for p in osm.paths]
    index = {bid: i for i, bid in enumerate(circle.building_ids)}
    compared = 0
    for kind in ("supermarket", "kindergarten", "school", "park", "bus_stop"):
        # The same holds for a facility polygon crossing a path (docs/twin.md, limits).
        facs = {
            f.id: f.geometry
            for f in osm.facilities
            if f.type == kind and not f.geometry.intersects(network)
        }
        if not facs:
            continue
        compared += 1
        expected = reference_metres(lines, entrances, facs)
        got = circle.minutes_to(
            kind,
            [f for f in osm.facilities if f.id in facs],
            circle.snap_facilities([f for f in osm.facilities if f.id in facs]),
        )
        finite = 0
        for bid, metres in expected.items():
            minutes = got.minutes[index[bid]]
            if np.isfinite(metres):
                finite += 1
                assert minutes == pytest.approx(metres / speed, abs=0.005), (kind, bid)
            else:
                # Off the facility's component: an estimate, never a network figure.
                assert got.estimate[index[bid]], (kind, bid)
        assert finite > len(expected) // 2
    assert compared >= 2
