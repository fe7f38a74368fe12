"""Simple LoD2 roofs (flat, gable, hip) on rectangular footprints, as surfaces.

The generated demo community (simulators/community_gen.py) gives each
building ``attributes.roof_shape`` and ``attributes.roof_height`` (metres
from the eaves, ``roof_z``, to the ridge); :func:`roof_surfaces` turns them
into roof and wall triangles (x east, y north, z up, local metres), the same
kind of surfaces a CityJSON LoD2 model has (RoofSurface, WallSurface).

The ridge runs along the longer side. A hip roof's ridge is shortened by the
depth at both ends (45° hips in plan).

>>> s = roof_surfaces((0, 0, 20, 10), ground_z=0, eave_z=9, shape="gable", rise=3)
>>> len(s["roof"]), len(s["wall"]), float(max(p[2] for t in s["roof"] for p in t))
(4, 10, 12.0)
>>> h = roof_surfaces((0, 0, 20, 10), ground_z=0, eave_z=9, shape="hip", rise=3)
>>> len(h["roof"]), len(h["wall"])
(6, 8)
>>> len(roof_surfaces((0, 0, 20, 10), ground_z=0, eave_z=9, shape="flat", rise=0)["roof"])
2
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import numpy as np
import shapely

from twin.model.mesh import ROOF, WALL, BuildingMesh

Point = tuple[float, float, float]
Triangle = tuple[Point, Point, Point]
SHAPES: Final = ("flat", "gable", "hip")


def _quad(a: Point, b: Point, c: Point, d: Point) -> list[Triangle]:
    return [(a, b, c), (a, c, d)]


def roof_surfaces(
    rect: tuple[float, float, float, float],
    *,
    ground_z: float,
    eave_z: float,
    shape: str,
    rise: float,
) -> dict[str, list[Triangle]]:
    """Roof and wall triangles of a box ``rect`` (x0, y0, x1, y1) with its roof."""
    x0, y0, x1, y1 = rect
    along_x = (x1 - x0) >= (y1 - y0)
    # Work in a frame where the ridge runs along u; map back at the end.
    u0, u1, v0, v1 = (x0, x1, y0, y1) if along_x else (y0, y1, x0, x1)

    def p(u: float, v: float, z: float) -> Point:
        return (u, v, z) if along_x else (v, u, z)

    corners = [(u0, v0), (u1, v0), (u1, v1), (u0, v1)]
    walls: list[Triangle] = []
    for (ua, va), (ub, vb) in zip(corners, corners[1:] + corners[:1], strict=True):
        walls += _quad(
            p(ua, va, ground_z), p(ub, vb, ground_z), p(ub, vb, eave_z), p(ua, va, eave_z)
        )
    eaves = [p(u, v, eave_z) for u, v in corners]
    if shape == "flat" or rise <= 0:
        return _outward({"roof": _quad(*eaves), "wall": walls}, flip=not along_x)
    vm, top = (v0 + v1) / 2, eave_z + rise
    inset = min((v1 - v0) / 2, (u1 - u0) / 2) if shape == "hip" else 0.0
    ra, rb = p(u0 + inset, vm, top), p(u1 - inset, vm, top)
    a, b, c, d = eaves
    roof = [*_quad(a, b, rb, ra), *_quad(c, d, ra, rb)]
    if shape == "hip":
        roof += [(b, c, rb), (d, a, ra)]
    else:  # gable ends are walls
        walls += [(b, c, rb), (d, a, ra)]
    return _outward({"roof": roof, "wall": walls}, flip=not along_x)


def _outward(surfaces: dict[str, list[Triangle]], *, flip: bool) -> dict[str, list[Triangle]]:
    # Built counter-clockwise seen from outside in the (u, v) frame; swapping
    # x and y mirrors it, which reverses every triangle's winding.
    if not flip:
        return surfaces
    return {k: [(a, c, b) for a, b, c in tris] for k, tris in surfaces.items()}


def roof_mesh(
    footprint: shapely.Polygon | shapely.MultiPolygon,
    *,
    ground_z: float,
    roof_z: float,
    attributes: Mapping[str, object],
) -> BuildingMesh | None:
    """The LoD2 mesh of a building with ``roof_shape``/``roof_height`` attributes and
    a rectangular footprint (the generated community's); None for any other.

    >>> m = roof_mesh(shapely.box(0, 0, 20, 10), ground_z=0, roof_z=9,
    ...               attributes={"roof_shape": "hip", "roof_height": 3})
    >>> m.lod, m.triangle_count, int((m.surfaces == ROOF).sum())
    ('2', 14, 6)
    >>> roof_mesh(shapely.box(0, 0, 20, 10), ground_z=0, roof_z=9, attributes={}) is None
    True
    """
    shape, rise = attributes.get("roof_shape"), attributes.get("roof_height", 0.0)
    if shape not in SHAPES or not isinstance(rise, (int, float)) or isinstance(rise, bool):
        return None
    if not isinstance(footprint, shapely.Polygon) or footprint.interiors:
        return None
    x0, y0, x1, y1 = footprint.bounds
    if abs(footprint.area - (x1 - x0) * (y1 - y0)) > 1e-6 * max(footprint.area, 1.0):
        return None  # not an axis-aligned rectangle
    surfaces = roof_surfaces(
        (x0, y0, x1, y1), ground_z=ground_z, eave_z=roof_z, shape=str(shape), rise=float(rise)
    )
    tris = [*surfaces["roof"], *surfaces["wall"]]
    positions = np.array([pt for t in tris for pt in t], dtype=np.float32)
    indices = np.arange(len(positions), dtype=np.uint32).reshape(-1, 3)
    kinds = [ROOF] * len(surfaces["roof"]) + [WALL] * len(surfaces["wall"])
    return BuildingMesh("2", positions, indices, np.array(kinds, dtype=np.uint8))
