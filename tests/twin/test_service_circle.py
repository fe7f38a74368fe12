"""Walking minutes of the service circle against networkx on the same lines (generated grid)."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from tests.twin.service_reference import reference_metres
from twin.model.community import Building, Community, Storey
from twin.model.facilities import Facility
from twin.model.walk_network import Entrance, WalkGraph, WalkPath
from twin.services.circle import CircleConfig, ServiceCircle

SPEED = CircleConfig().metres_per_minute


def grid_paths(n: int, step: float, rng: np.random.Generator) -> list[WalkPath]:
    """An n × n street grid with jittered vertices and some missing blocks' edges."""
    xs = np.arange(n) * step
    jitter = rng.normal(0, step * 0.08, (n, n, 2))
    pts = np.stack(np.meshgrid(xs, xs, indexing="ij"), axis=-1) + jitter
    paths = []
    for i in range(n):
        for j in range(n):
            for di, dj in ((1, 0), (0, 1)):
                if i + di < n and j + dj < n and rng.random() > 0.12:
                    line = shapely.LineString([pts[i, j], pts[i + di, j + dj]])
                    paths.append(WalkPath(f"p{i}-{j}-{di}", line))
    return paths


def box_building(bid: str, x: float, y: float, w: float = 12.0) -> Building:
    return Building(bid, None, shapely.box(x, y, x + w, y + w * 0.6), 0, 3, (Storey(1, 0, 3),))


def grid_community(seed: int) -> Community:
    rng = np.random.default_rng(seed)
    paths = grid_paths(14, 80.0, rng)
    network = shapely.union_all([p.geometry for p in paths])
    buildings: list[Building] = []
    while len(buildings) < 60:
        # Footprints clear of the paths: one crossing a path could enter it
        # anywhere along the crossing, which no two methods choose alike.
        b = box_building(f"b{len(buildings):03d}", *rng.uniform(0, 1000, 2), rng.uniform(8, 30))
        if not b.footprint.intersects(network):
            buildings.append(b)
    facilities = [
        Facility(f"s{k}", "school", shapely.Point(*rng.uniform(0, 1040, 2))) for k in range(3)
    ] + [
        # Parks inside blocks: a polygon is entered at its point nearest the network.
        Facility("park1", "park", shapely.box(410, 410, 460, 450)),
        Facility("park2", "park", shapely.Point(40, 1000).buffer(20)),
    ]
    entrances = [Entrance("b000", 5.0, 5.0), Entrance("b000", 700.0, 700.0)]
    return Community(
        "g",
        "g",
        "EPSG:3857",
        buildings=tuple(buildings),
        facilities=tuple(facilities),
        paths=tuple(paths),
        entrances=tuple(entrances),
    )


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_grid_minutes_equal_networkx(seed: int) -> None:
    c = grid_community(seed)
    circle = ServiceCircle(c, CircleConfig(max_snap_m=1e9))
    explicit = {e.building: [] for e in c.entrances}
    for e in c.entrances:
        explicit[e.building].append(shapely.Point(e.x, e.y))
    entrances = {b.id: explicit.get(b.id, [b.footprint]) for b in c.buildings}
    lines = [p.geometry for p in c.paths]
    for kind in ("school", "park"):
        facs = {f.id: f.geometry for f in c.facilities if f.type == kind}
        expected = reference_metres(lines, entrances, facs)
        got = circle.minutes(kind)
        assert not got.estimate.any()
        for i, bid in enumerate(circle.building_ids):
            assert got.minutes[i] == pytest.approx(expected[bid] / SPEED, abs=0.005), bid


def test_disconnected_network_falls_back_to_an_estimate() -> None:
    west = WalkPath("w", shapely.LineString([(0, 0), (100, 0)]))
    east = WalkPath("e", shapely.LineString([(1000, 0), (1100, 0)]))
    c = Community(
        "d",
        "d",
        "EPSG:3857",
        buildings=(box_building("b1", 10, 5), box_building("b2", 1010, 5)),
        facilities=(Facility("s", "school", shapely.Point(90, 0)),),
        paths=(west, east),
    )
    got = ServiceCircle(c).minutes("school")
    # b1 on the school's component: a network route, 5 m gap + along the path.
    assert not got.estimate[0]
    assert got.minutes[0] == pytest.approx((5 + (90 - 22)) / SPEED, abs=0.01)
    # b2's component has no school: straight line × 1.3, flagged.
    assert got.estimate[1]
    gap = shapely.distance(c.buildings[1].footprint, shapely.Point(90, 0))
    assert got.minutes[1] == pytest.approx(gap * 1.3 / SPEED)
    assert got.nearest == ("s", "s")


def test_no_network_no_facility_and_far_points() -> None:
    b = box_building("b1", 0, 0)
    plain = Community(
        "n",
        "n",
        "EPSG:3857",
        buildings=(b,),
        facilities=(Facility("c", "clinic", shapely.Point(100, 0)),),
    )
    circle = ServiceCircle(plain)
    assert not circle.has_network
    clinic = circle.minutes("clinic")
    assert clinic.estimate[0]
    assert clinic.minutes[0] == pytest.approx(88 * 1.3 / SPEED)
    missing = circle.minutes("school")
    assert np.isinf(missing.minutes[0])
    assert missing.nearest == (None,)
    # A facility 2 km from the only path is off the network: estimated directly.
    far = Community(
        "f",
        "f",
        "EPSG:3857",
        buildings=(b,),
        facilities=(Facility("c", "clinic", shapely.Point(0, 2000)),),
        paths=(WalkPath("p", shapely.LineString([(0, -5), (50, -5)])),),
    )
    got = ServiceCircle(far).minutes("clinic")
    assert got.estimate[0]
    assert got.minutes[0] == pytest.approx((2000 - 7.2) * 1.3 / SPEED)


def test_graph_joins_lines_at_crossings_unless_told_not_to() -> None:
    crossing = [
        WalkPath("a", shapely.LineString([(0, 0), (10, 0), (20, 0)])),
        WalkPath("b", shapely.LineString([(10, -10), (10, 0.001), (10, 10)])),  # within 1 cm
        WalkPath("bridge", shapely.LineString([(15, -10), (15, 10)])),  # no shared vertex
    ]
    strict = WalkGraph.from_paths(crossing, node_crossings=False)
    assert strict.node_count == 7
    assert strict.edge_count == 5
    assert strict.components()[0] == 2
    noded = WalkGraph.from_paths(crossing)
    assert noded.components()[0] == 1
    # The crossing at x=15 became a node splitting both lines.
    assert any(np.allclose(n, (15, 0)) for n in noded.nodes)
