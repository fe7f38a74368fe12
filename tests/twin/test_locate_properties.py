"""Properties: the raster-backed index and the storey table agree with brute force."""

from __future__ import annotations

import numpy as np
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from twin.geometry.locate import Locator
from twin.geometry.polygon_index import PolygonIndex
from twin.model.community import Building, Community
from twin.model.crs import local_tmerc
from twin.model.storeys import derive_storeys


@st.composite
def polygons(draw: st.DrawFn) -> list[object]:
    out = []
    for _ in range(draw(st.integers(1, 12))):
        x, y = draw(st.floats(-50, 50)), draw(st.floats(-50, 50))
        w, h = draw(st.floats(0.5, 30)), draw(st.floats(0.5, 30))
        shape = shapely.box(x, y, x + w, y + h)
        kind = draw(st.sampled_from(["box", "rotated", "holed", "multi", "triangle"]))
        if kind == "rotated":
            shape = shapely.affinity.rotate(shape, draw(st.floats(-80, 80)))
        elif kind == "holed":
            shape = shape.difference(shapely.box(x + w / 4, y + h / 4, x + w / 2, y + h / 2))
        elif kind == "multi":
            shape = shapely.MultiPolygon([shape, shapely.box(x + w + 1, y, x + w + 3, y + 2)])
        elif kind == "triangle":
            shape = shapely.Polygon([(x, y), (x + w, y), (x, y + h)])
        out.append(shape)
    return out


@settings(max_examples=60, deadline=None)
@given(polygons(), st.integers(0, 2**31), st.sampled_from([None, 0.3, 2.0, 7.0]))
def test_index_equals_strtree(shapes: list[object], seed: int, cell: float | None) -> None:
    index = PolygonIndex(shapes, cell_size=cell)
    rng = np.random.default_rng(seed)
    x = rng.uniform(-60, 100, 3000)
    y = rng.uniform(-60, 100, 3000)
    # Points exactly on vertices and on edges (midpoints) of every polygon.
    coords = shapely.get_coordinates(shapely.get_rings(shapely.get_parts(shapes)))
    mids = (coords[:-1] + coords[1:]) / 2
    x = np.concatenate([x, coords[:, 0], mids[:, 0]])
    y = np.concatenate([y, coords[:, 1], mids[:, 1]])
    points, found = index.covering(x, y)
    pairs = index.tree.query(shapely.points(x, y), predicate="intersects")
    assert set(zip(points.tolist(), found.tolist(), strict=True)) == set(
        zip(*pairs.tolist(), strict=False)
    )
    assert np.array_equal(index.first(x, y), index.first_by_tree(x, y))


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.integers(1, 30), st.integers(0, 3)), min_size=1, max_size=8),
    st.integers(0, 2**31),
)
def test_storeys_equal_brute_force(specs: list[tuple[int, int]], seed: int) -> None:
    buildings = []
    for i, (floors, basements) in enumerate(specs):
        roof = floors * 2.7
        storeys = derive_storeys(
            f"b{i}", 0.0, roof, count=floors, basement_heights=[3.2] * basements
        )
        buildings.append(
            Building(f"b{i:02d}", None, shapely.box(i * 10, 0, i * 10 + 8, 8), 0.0, roof, storeys)
        )
    community = Community("p", "p", local_tmerc(0.0, 0.0), buildings=tuple(buildings))
    locator = Locator(community)
    rng = np.random.default_rng(seed)
    n = 2000
    b = rng.integers(0, len(buildings), n)
    x, y = b * 10 + 4.0, np.full(n, 4.0)
    floors_z = np.array([s.floor_z for bd in buildings for s in bd.storeys])
    z = np.where(rng.random(n) < 0.3, rng.choice(floors_z, n), rng.uniform(-15, 90, n))
    located = locator.locate(x, y, z)
    for i in range(n):
        bd = community.buildings[b[i]]
        inside = bd.bottom_z <= z[i] <= bd.roof_z
        assert located.building[i] == (b[i] if inside else -1)
        expected = 0
        if inside:
            for s in bd.storeys:
                top_ok = z[i] < s.top_z or (s is bd.storeys[-1] and z[i] == s.top_z)
                if s.floor_z <= z[i] and top_ok:
                    expected = s.index
        assert located.storey[i] == expected
