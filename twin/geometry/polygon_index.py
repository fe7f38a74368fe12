"""Which polygons cover each of many points: an STRtree backed by a cell raster.

Locating a million points one shapely Point at a time is slow: making the
points alone costs about 1 µs each, and ``STRtree.query(points,
predicate=...)`` another ~0.8 µs. So the index classifies a regular raster of
cells once, when it is built:

* *empty*: no polygon touches the cell;
* *pure*: exactly one polygon covers the whole cell (no polygon boundary
  within it), so every point in it is covered by that polygon and nothing else;
* *mixed*: anything else; such a cell keeps its candidate polygons (from the
  STRtree), and its points are tested exactly with prepared polygons
  (``shapely.intersects_xy``, which needs no Point objects).

A query is then numpy arithmetic for most points. Results are exact:
boundary cells are found by sampling every edge at a quarter cell and marking
every cell within an eighth of a cell of a sample, so no pure cell touches a
boundary. A point on a polygon's
boundary is covered by it (``intersects``, like ``covers``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
_EMPTY = -1
_MIXED = -2  # codes <= -2 are mixed cells: slot = -2 - code


class PolygonIndex:
    """Find, for arrays of x/y, the polygons that cover each point.

    >>> index = PolygonIndex([shapely.box(0, 0, 10, 10), shapely.box(10, 0, 20, 10)])
    >>> index.first(np.array([5.0, 10.0, 15.0, 30.0]), np.array([5.0, 5.0, 5.0, 5.0])).tolist()
    [0, 0, 1, -1]
    """

    def __init__(
        self,
        polygons: Sequence[Any],
        *,
        cell_size: float | None = None,
        max_cells: int = 4_000_000,
    ) -> None:
        self.polygons = np.asarray(list(polygons), dtype=object).reshape(-1)
        shapely.prepare(self.polygons)
        self.tree = shapely.STRtree(self.polygons)
        self.origin = (0.0, 0.0)
        self.shape = (0, 0)
        self.cell_size = 1.0
        self.codes = np.zeros(0, dtype=np.int32)
        self.slot_start = np.zeros(1, dtype=np.int64)
        self.slot_polygons = np.zeros(0, dtype=np.int64)
        if len(self.polygons):
            self._build(cell_size, max_cells)

    # -- queries ---------------------------------------------------------------

    def covering(self, x: FloatArray, y: FloatArray) -> tuple[IntArray, IntArray]:
        """Every (point index, polygon index) pair where the polygon covers the point."""
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        code = self._codes_at(x, y)
        pure = np.flatnonzero(code >= 0)
        mixed = np.flatnonzero(code <= _MIXED)
        if len(mixed) == 0:
            return pure, code[pure].astype(np.int64)
        slots = _MIXED - code[mixed].astype(np.int64)
        starts = self.slot_start[slots]
        lengths = self.slot_start[slots + 1] - starts
        points = np.repeat(mixed, lengths)
        within = np.arange(len(points)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
        candidates = self.slot_polygons[np.repeat(starts, lengths) + within]
        hit = shapely.intersects_xy(self.polygons[candidates], x[points], y[points])
        return (
            np.concatenate([pure, points[hit]]),
            np.concatenate([code[pure].astype(np.int64), candidates[hit]]),
        )

    def first(self, x: FloatArray, y: FloatArray) -> IntArray:
        """The lowest-numbered covering polygon per point, ``-1`` where none."""
        points, polygons = self.covering(x, y)
        return lowest_per_point(len(np.asarray(x)), points, polygons)

    def first_by_tree(self, x: FloatArray, y: FloatArray) -> IntArray:
        """Same answer as :meth:`first` straight from the STRtree (reference, slow)."""
        points = shapely.points(np.asarray(x, np.float64), np.asarray(y, np.float64))
        pairs = self.tree.query(points, predicate="intersects")
        return lowest_per_point(len(points), pairs[0], pairs[1])

    def _codes_at(self, x: FloatArray, y: FloatArray) -> npt.NDArray[np.int32]:
        if not len(self.codes):
            return np.full(x.shape, _EMPTY, dtype=np.int32)
        inverse = 1.0 / self.cell_size
        ny, nx = self.shape
        # nan and far-away points cast to junk integers; they are masked out below.
        with np.errstate(invalid="ignore"):
            fx = (x - self.origin[0]) * inverse
            fy = (y - self.origin[1]) * inverse
            inside = (fx >= 0) & (fx < nx) & (fy >= 0) & (fy < ny)
            # Truncation is floor here: only non-negative values are kept.
            cells = fy.astype(np.int64) * nx + fx.astype(np.int64)
        cells[~inside] = 0
        code = self.codes[cells]
        code[~inside] = _EMPTY
        return code

    # -- construction ----------------------------------------------------------

    def _build(self, cell_size: float | None, max_cells: int) -> None:
        bounds = shapely.bounds(self.polygons)
        lo = bounds[:, :2].min(axis=0)
        hi = bounds[:, 2:].max(axis=0)
        size = cell_size or _cell_size(bounds)
        span = np.maximum(hi - lo, size)
        while math.ceil(span[0] / size + 2) * math.ceil(span[1] / size + 2) > max_cells:
            size *= 1.25
        self.cell_size = float(size)
        self.origin = (float(lo[0] - size), float(lo[1] - size))
        nx = math.ceil(span[0] / size) + 3
        ny = math.ceil(span[1] / size) + 3
        self.shape = (ny, nx)
        boundary = self._boundary_cells()
        cells, owners = self._bbox_cells(bounds)
        centre_x = self.origin[0] + (cells % nx + 0.5) * size
        centre_y = self.origin[1] + (cells // nx + 0.5) * size
        interior = ~boundary[cells]
        inside = np.zeros(len(cells), dtype=bool)
        inside[interior] = shapely.contains_xy(
            self.polygons[owners[interior]], centre_x[interior], centre_y[interior]
        )
        count = np.bincount(cells[inside], minlength=nx * ny)
        codes = np.full(nx * ny, _EMPTY, dtype=np.int64)
        pure = count == 1
        codes[cells[inside]] = np.where(pure[cells[inside]], owners[inside], _MIXED)
        # A mixed cell: on some boundary, or covered by overlapping polygons.
        is_mixed = boundary | (count > 1)
        keep = is_mixed[cells]
        mixed_cells, candidates = cells[keep], owners[keep]
        order = np.lexsort((candidates, mixed_cells))
        mixed_cells, candidates = mixed_cells[order], candidates[order]
        unique_cells, starts = np.unique(mixed_cells, return_index=True)
        codes[is_mixed] = _EMPTY  # mixed cells without any candidate are empty
        codes[unique_cells] = _MIXED - np.arange(len(unique_cells))
        self.codes = codes.astype(np.int32)
        self.slot_start = np.append(starts, len(mixed_cells)).astype(np.int64)
        self.slot_polygons = candidates.astype(np.int64)

    def _boundary_cells(self) -> npt.NDArray[np.bool_]:
        ny, nx = self.shape
        parts = shapely.get_parts(self.polygons)
        rings = shapely.get_rings(parts)
        coords, ring_of = shapely.get_coordinates(rings, return_index=True)
        same = ring_of[1:] == ring_of[:-1]
        start, end = coords[:-1][same], coords[1:][same]
        # Sample each edge every quarter cell; the edge between two samples stays
        # within ``half`` (L∞) of one of them, so marking the cells under the
        # corners of each sample's ±half square marks every cell the edge meets.
        half = self.cell_size / 8
        lengths = np.hypot(*(end - start).T)
        n = np.ceil(lengths / (2 * half)).astype(np.int64) + 1
        seg = np.repeat(np.arange(len(start)), n)
        t = (np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)) / np.repeat(n - 1, n)
        samples = start[seg] + (end[seg] - start[seg]) * t[:, None]
        marked = np.zeros(ny * nx, dtype=bool)
        for dx in (-half, half):
            for dy in (-half, half):
                ix = np.floor((samples[:, 0] + dx - self.origin[0]) / self.cell_size)
                iy = np.floor((samples[:, 1] + dy - self.origin[1]) / self.cell_size)
                ix = np.clip(ix.astype(np.int64), 0, nx - 1)
                iy = np.clip(iy.astype(np.int64), 0, ny - 1)
                marked[iy * nx + ix] = True
        return marked

    def _bbox_cells(self, bounds: FloatArray) -> tuple[IntArray, IntArray]:
        """Every (cell, polygon) pair where the cell meets the polygon's bounding box."""
        nx = self.shape[1]
        size = self.cell_size
        x0 = np.floor((bounds[:, 0] - self.origin[0]) / size).astype(np.int64)
        y0 = np.floor((bounds[:, 1] - self.origin[1]) / size).astype(np.int64)
        x1 = np.floor((bounds[:, 2] - self.origin[0]) / size).astype(np.int64)
        y1 = np.floor((bounds[:, 3] - self.origin[1]) / size).astype(np.int64)
        width, height = x1 - x0 + 1, y1 - y0 + 1
        counts = width * height
        owners = np.repeat(np.arange(len(bounds)), counts)
        k = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        w = width[owners]
        cells = (y0[owners] + k // w) * nx + (x0[owners] + k % w)
        return cells, owners


def lowest_per_point(n: int, points: IntArray, polygons: IntArray) -> IntArray:
    """Per point, the smallest polygon index among its pairs; ``-1`` where none."""
    big = np.iinfo(np.int64).max
    result = np.full(n, big, dtype=np.int64)
    np.minimum.at(result, points, polygons)
    result[result == big] = -1
    return result


def _cell_size(bounds: FloatArray, target_cells: int = 1_000_000) -> float:
    """Cells well below the typical polygon size keep most points in pure cells;
    a few large polygons (grids) get a finer raster, up to ``target_cells``."""
    sides = np.minimum(bounds[:, 2] - bounds[:, 0], bounds[:, 3] - bounds[:, 1])
    width, height = np.ptp(bounds[:, [0, 2]]), np.ptp(bounds[:, [1, 3]])
    fill = math.sqrt(max(float(width * height), 1.0) / target_cells)
    return max(min(float(np.median(sides)) / 16.0, fill), 0.25)
