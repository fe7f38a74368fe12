"""Locating points at known positions, and devices resolved once."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely

from twin.geometry.locate import Locator, Place, resolve_devices
from twin.model.community import (
    Building,
    Community,
    Device,
    Grid,
    Placement,
    Position,
    Storey,
    Unit,
)
from twin.model.crs import local_tmerc
from twin.model.storeys import derive_storeys

# Two buildings sharing the wall x = 20; "a" has a basement and 4 storeys of
# 3 m (roof 12); "b" has storeys 1 and 3 only (a gap from 3 to 6 m), roof 9.
# Unit a-201 covers the west half of storey 2 of "a". Grids: west (x < 25)
# and east (x >= 25) overlap nowhere; "g0-all" covers everything but is
# listed after them only by id order if its id sorts last.


def community() -> Community:
    a = Building(
        "a",
        "A",
        shapely.box(0, 0, 20, 10),
        0.0,
        12.0,
        derive_storeys("a", 0.0, 12.0, explicit=[Storey(-1, -3.0, 3.0, "B1")], count=4),
        units=(Unit("a-201", 2, footprint=shapely.box(0, 0, 10, 10)), Unit("a-101", 1)),
    )
    b = Building(
        "b",
        "B",
        shapely.box(20, 0, 30, 10),
        0.0,
        9.0,
        (Storey(1, 0.0, 3.0), Storey(3, 6.0, 3.0)),
    )
    grids = (
        Grid("east", None, shapely.box(25, -50, 100, 50), "w2"),
        Grid("west", None, shapely.box(-50, -50, 25, 50), "w1"),
    )
    devices = (
        Device("smoke-a2", "smoke", ("smoke",), Placement("a", 2, "a-201")),
        Device("cam-b", "camera", (), Placement(position=Position(28.0, 5.0, 7.0))),
        Device("park", "parking", (), Placement(position=Position(60.0, 0.0))),
        Device("meter-a", "power_meter", (), Placement("a")),
        Device("gateway", "gateway", ()),
    )
    return Community(
        "t", "t", local_tmerc(120.15, 30.27), buildings=(a, b), grids=grids, devices=devices
    )


@pytest.fixture(scope="module")
def locator() -> Locator:
    return Locator(community())


@pytest.mark.parametrize(
    ("point", "expected"),
    [
        # inside at a height
        ((5, 5, 1.0), Place("a", 1, None, "west")),
        ((5, 5, 4.5), Place("a", 2, "a-201", "west")),
        ((15, 5, 4.5), Place("a", 2, None, "west")),
        ((5, 5, 11.9), Place("a", 4, None, "west")),
        # floor slab belongs to the storey above; the roof to the top storey
        ((5, 5, 3.0), Place("a", 2, "a-201", "west")),
        ((5, 5, 12.0), Place("a", 4, None, "west")),
        # above the roof: outside the building, grid only
        ((5, 5, 12.01), Place(None, None, None, "west")),
        # underground: the basement, and below it nothing but the grid
        ((5, 5, -0.5), Place("a", -1, None, "west")),
        ((5, 5, -3.0), Place("a", -1, None, "west")),
        ((5, 5, -3.01), Place(None, None, None, "west")),
        ((25, 5, -0.5), Place(None, None, None, "east")),  # b has no basement
        # boundary: an outer edge and a corner are inside
        ((0, 5, 1.0), Place("a", 1, None, "west")),
        ((0, 0, 1.0), Place("a", 1, None, "west")),
        ((30, 10, 1.0), Place("b", 1, None, "east")),
        # the shared wall goes to the smallest id at a height both share...
        ((20, 5, 1.0), Place("a", 1, None, "west")),
        # ...and to the only building that reaches that height
        ((20, 5, 10.0), Place("a", 4, None, "west")),
        # between storeys of b: the building, no storey
        ((25, 5, 4.0), Place("b", None, None, "east")),
        ((25, 5, 6.0), Place("b", 3, None, "east")),
        # between buildings and outside every grid
        ((40, 5, 0.0), Place(None, None, None, "east")),
        ((500, 500, 0.0), Place(None, None, None, None)),
        # grid boundary: both grids cover x = 25; the smallest id wins
        ((25, 40, 0.0), Place(None, None, None, "east")),
    ],
)
def test_known_positions(
    locator: Locator, point: tuple[float, float, float], expected: Place
) -> None:
    assert locator.locate_one(*point) == expected


def test_unknown_height_finds_the_building_but_no_storey(locator: Locator) -> None:
    assert locator.locate_one(5, 5) == Place("a", None, None, "west")
    located = locator.locate([5.0, 25.0], [5.0, 5.0], [math.nan, 1.0])
    assert located.places() == [Place("a", None, None, "west"), Place("b", 1, None, "east")]


def test_arrays_in_arrays_out(locator: Locator) -> None:
    x = np.array([5.0, 25.0, 40.0, np.nan])
    located = locator.locate(x, np.full(4, 5.0), np.full(4, 1.0))
    assert located.building.tolist() == [0, 1, -1, -1]
    assert located.storey.tolist() == [1, 1, 0, 0]
    assert located.grid.tolist() == [1, 0, 0, -1]
    assert located.building_ids == ("a", "b")
    assert len(located) == 4


def test_lonlat_points_go_through_the_frame(locator: Locator) -> None:
    frame = community().frame
    lon, lat, alt = frame.to_wgs84([5.0, 25.0], [5.0, 5.0], [4.5, 1.0])
    located = locator.locate_lonlat(lon, lat, alt)
    assert located.places() == [Place("a", 2, "a-201", "west"), Place("b", 1, None, "east")]
    # Without altitude: building only
    assert locator.locate_lonlat(lon, lat).place(0) == Place("a", None, None, "west")


def test_devices_resolve_once_with_grid_and_a_point() -> None:
    places = resolve_devices(community())
    smoke = places["smoke-a2"]
    assert (smoke.building, smoke.storey, smoke.unit, smoke.grid) == ("a", 2, "a-201", "west")
    assert shapely.box(0, 0, 10, 10).covers(shapely.Point(smoke.x, smoke.y))
    assert smoke.z == pytest.approx(4.5)  # mid-height of storey 2
    cam = places["cam-b"]
    assert (cam.building, cam.storey, cam.unit, cam.grid) == ("b", 3, None, "east")
    assert (cam.x, cam.y, cam.z) == (28.0, 5.0, 7.0)
    park = places["park"]
    assert (park.building, park.storey, park.grid, park.z) == (None, None, "east", None)
    meter = places["meter-a"]
    assert (meter.building, meter.storey, meter.grid, meter.z) == ("a", None, "west", 0.0)
    gateway = places["gateway"]
    assert (gateway.building, gateway.grid, gateway.x) == (None, None, None)


def test_empty_community_locates_nothing() -> None:
    empty = Locator(Community("e", "e", local_tmerc(0.0, 0.0)))
    located = empty.locate([1.0], [2.0], [3.0])
    assert located.places() == [Place(None, None, None, None)]


def test_many_points_match_the_reference_strtree(locator: Locator) -> None:
    """The raster fast path gives what a plain STRtree query gives."""
    rng = np.random.default_rng(3)
    x = np.concatenate([rng.uniform(-5, 35, 20_000), np.repeat([0.0, 10.0, 20.0, 30.0], 50)])
    y = np.concatenate([rng.uniform(-5, 15, 20_000), rng.uniform(-1, 11, 200)])
    index = locator._buildings
    assert np.array_equal(index.first(x, y), index.first_by_tree(x, y))
