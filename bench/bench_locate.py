#!/usr/bin/env python3
"""Locate throughput: points/s against 10,000 generated buildings, one core.

The community: a 100 x 100 block of buildings (rotated rectangles and L shapes,
10-25 m sides, 1-30 storeys, some with a basement) in 30 m plots, 25 grids,
and stacked unit footprints in every 10th building. Points are uniform over
the area, z from -6 to 95 m: about a quarter land inside a building. The figure
is for ``Locator.locate`` on local x/y/z (building, storey, unit, grid);
lon/lat input and the index build time are reported separately.
"""

from __future__ import annotations

import json
import time

import numpy as np
import shapely

from twin.geometry.locate import Locator
from twin.model.community import Building, Community, Grid, Storey, Unit
from twin.model.crs import local_tmerc
from twin.model.storeys import derive_storeys

SIDE = 100
PLOT = 30.0


def community(seed: int = 7) -> Community:
    rng = np.random.default_rng(seed)
    buildings = []
    for i in range(SIDE * SIDE):
        x0, y0 = (i % SIDE) * PLOT, (i // SIDE) * PLOT
        w, h = rng.uniform(10, 25, 2)
        shape = shapely.box(0, 0, w, h)
        if i % 3 == 0:  # an L shape
            shape = shape.difference(shapely.box(w / 2, h / 2, w, h))
        shape = shapely.affinity.rotate(shape, float(rng.uniform(-20, 20)), origin=(w / 2, h / 2))
        footprint = shapely.affinity.translate(shape, x0 + 2.5, y0 + 2.5)
        floors = int(rng.integers(1, 31))
        basement = [Storey(-1, -3.5, 3.5, "B1")] if i % 4 == 0 else []
        storeys = derive_storeys(f"b{i}", 0.0, floors * 3.0, explicit=basement, count=floors)
        units: tuple[Unit, ...] = ()
        if i % 10 == 0:
            half = shapely.affinity.scale(footprint, 0.5, 1.0)
            units = tuple(Unit(f"{s.index}-01", s.index, footprint=half) for s in storeys)
        buildings.append(Building(f"b{i}", None, footprint, 0.0, floors * 3.0, storeys, units))
    size = SIDE * PLOT
    grids = [
        Grid(
            f"g{gx}-{gy}",
            None,
            shapely.box(gx * size / 5, gy * size / 5, (gx + 1) * size / 5, (gy + 1) * size / 5),
        )
        for gx in range(5)
        for gy in range(5)
    ]
    crs = local_tmerc(120.15, 30.27)
    return Community("bench", "bench", crs, buildings=tuple(buildings), grids=tuple(grids))


def main() -> None:
    model = community()
    start = time.perf_counter()
    locator = Locator(model)
    build_s = time.perf_counter() - start
    rng = np.random.default_rng(1)
    n = 1_000_000
    x = rng.uniform(0, SIDE * PLOT, n)
    y = rng.uniform(0, SIDE * PLOT, n)
    z = rng.uniform(-6, 95, n)
    locator.locate(x[:1000], y[:1000], z[:1000])  # warm up
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        located = locator.locate(x, y, z)
        best = min(best, time.perf_counter() - start)
    inside = float((located.building >= 0).mean())
    # A harder workload: every point within a building's bounding box (wearables indoors).
    bounds = shapely.bounds([b.footprint for b in model.buildings])
    pick = rng.integers(0, len(bounds), n)
    bx = rng.uniform(bounds[pick, 0], bounds[pick, 2])
    by = rng.uniform(bounds[pick, 1], bounds[pick, 3])
    start = time.perf_counter()
    indoor = locator.locate(bx, by, rng.uniform(0, 30, n))
    indoor_s = time.perf_counter() - start
    indoor_share = float((indoor.building >= 0).mean())
    lon, lat, alt = model.frame.to_wgs84(x, y, z)
    start = time.perf_counter()
    locator.locate_lonlat(lon, lat, alt)
    lonlat_s = time.perf_counter() - start
    rows = [
        ("points_per_s", n / best, "points/s", ">= 2000000"),
        ("points_per_s_indoor", n / indoor_s, "points/s", "(points in building bboxes)"),
        ("share_inside_building_indoor", indoor_share, "ratio", "(workload)"),
        ("points_per_s_lonlat", n / lonlat_s, "points/s", "(includes pyproj)"),
        ("index_build_s", build_s, "s", "10,000 buildings"),
        ("share_inside_building", inside, "ratio", "(workload)"),
    ]
    for metric, value, unit, ref in rows:
        print(
            json.dumps(
                {
                    "bench": "locate",
                    "metric": metric,
                    "value": round(value, 3),
                    "unit": unit,
                    "ref": ref,
                }
            )
        )


if __name__ == "__main__":
    main()
