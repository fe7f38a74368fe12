"""The walking network: paths as a sparse graph, and points snapped onto it.

:class:`WalkPath` is a line (footway, path, residential street, …) in local
metres. :class:`WalkGraph` turns all paths into one undirected graph: every
vertex of every line is a node (vertices closer than 1 cm are one node, so
lines meet where OSM ways share a node), every consecutive pair of vertices an edge
weighted by its length. Duplicate edges keep the shortest length. Lines
that cross without a shared vertex are first split at the crossing
(``shapely.node``; ``node_crossings=False`` keeps OSM's strict rule), since
hand-drawn or GIS-exported networks rarely share vertices — the price is
that a footbridge crossing a street gets a junction there too.

A point (a building entrance, a facility) is *snapped* to its nearest edge:
:class:`Snap` keeps the edge's end nodes, the distance along the edge from
each end, and the straight-line gap from the point to the edge (walked too).
Everything is numpy/shapely-vectorised: no Python loop per point.

>>> g = WalkGraph.from_paths([WalkPath("p1", shapely.LineString([(0, 0), (100, 0)]))])
>>> s = g.snap(np.array([[30.0, 5.0]]))
>>> s.node_a.tolist(), s.along_a.tolist(), s.along_b.tolist(), s.gap.tolist()
([0], [30.0], [70.0], [5.0])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from scipy import sparse

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

WALKABLE_HIGHWAYS = frozenset(
    {
        "footway",
        "path",
        "pedestrian",
        "steps",
        "living_street",
        "residential",
        "service",
        "unclassified",
        "track",
        "cycleway",
        "corridor",
        "tertiary",
        "secondary",
        "primary",
        "road",
    }
)
"""OSM ``highway`` values walked on. Motorways and trunk roads are not; a way
tagged ``foot=no`` or ``access=private``/``no`` (without ``foot=yes``) is not."""

NODE_TOLERANCE_M = 0.01
"""Vertices closer than this are one network node."""


@dataclass(frozen=True, slots=True)
class WalkPath:
    """One walkable line: a shapely LineString/MultiLineString in local metres."""

    id: str
    geometry: Any
    kind: str | None = None


@dataclass(frozen=True, slots=True)
class Entrance:
    """An explicit building entrance (local metres); replaces the footprint's nearest point."""

    building: str
    x: float
    y: float


def is_walkable(tags: Mapping[str, Any]) -> bool:
    """Whether OSM-style tags describe a line people walk on.

    >>> is_walkable({"highway": "footway"}), is_walkable({"highway": "motorway"})
    (True, False)
    >>> is_walkable({"highway": "service", "access": "private"})
    False
    >>> is_walkable({"highway": "trunk", "foot": "yes"})
    True
    """
    foot = tags.get("foot")
    if foot == "no":
        return False
    if foot in ("yes", "designated", "permissive"):
        return tags.get("highway") is not None
    if tags.get("access") in ("private", "no"):
        return False
    return tags.get("highway") in WALKABLE_HIGHWAYS


@dataclass(frozen=True, slots=True)
class Snap:
    """Points snapped onto a graph: arrays of one entry per point."""

    edge: IntArray
    """Index of the nearest edge, -1 when there is no network."""
    node_a: IntArray
    node_b: IntArray
    along_a: FloatArray
    """Metres along the edge from ``node_a`` to the snapped point."""
    along_b: FloatArray
    gap: FloatArray
    """Straight-line metres from the point to the edge."""

    def take(self, index: IntArray) -> Snap:
        return Snap(
            self.edge[index],
            self.node_a[index],
            self.node_b[index],
            self.along_a[index],
            self.along_b[index],
            self.gap[index],
        )


class WalkGraph:
    """The network of :class:`WalkPath` lines as a symmetric CSR matrix of metres."""

    def __init__(self, nodes: FloatArray, edge_a: IntArray, edge_b: IntArray) -> None:
        self.nodes = nodes
        self.edge_a = edge_a
        self.edge_b = edge_b
        self.edge_length = np.hypot(*(nodes[edge_b] - nodes[edge_a]).T)
        n = len(nodes)
        # Zero-length edges would vanish from a sparse matrix (0 = no edge).
        weight = np.maximum(self.edge_length, 1e-9)
        self.weights = np.concatenate([weight, weight])
        self.rows = np.concatenate([edge_a, edge_b])
        self.cols = np.concatenate([edge_b, edge_a])
        self.matrix = sparse.csr_matrix((self.weights, (self.rows, self.cols)), shape=(n, n))
        segments = (
            shapely.linestrings(np.stack([nodes[edge_a], nodes[edge_b]], axis=1))
            if len(edge_a)
            else np.array([], dtype=object)
        )
        self._segments = segments
        self._tree = shapely.STRtree(segments)

    @property
    def edge_count(self) -> int:
        return len(self.edge_a)

    @property
    def node_count(self) -> int:
        return len(self.nodes)

    @classmethod
    def from_paths(cls, paths: Sequence[WalkPath], *, node_crossings: bool = True) -> WalkGraph:
        """One graph of every path's vertices and segments (see the module doc)."""
        parts = shapely.get_parts(np.array([p.geometry for p in paths], dtype=object))
        if node_crossings and len(parts) > 1:
            parts = _noded(parts)
        if len(parts) == 0:
            return cls(np.zeros((0, 2)), np.zeros(0, np.int64), np.zeros(0, np.int64))
        coords, owner = shapely.get_coordinates(parts, return_index=True)
        keys = np.round(coords / NODE_TOLERANCE_M).astype(np.int64)
        unique, inverse = np.unique(keys, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        # Node coordinates: the first vertex of each rounded group, not the grid point.
        nodes = np.zeros((len(unique), 2))
        nodes[inverse[::-1]] = coords[::-1]
        same_line = owner[1:] == owner[:-1]
        a, b = inverse[:-1][same_line], inverse[1:][same_line]
        keep = a != b
        a, b = a[keep], b[keep]
        lo, hi = np.minimum(a, b), np.maximum(a, b)
        pairs = np.unique(np.column_stack([lo, hi]), axis=0)
        return cls(nodes, pairs[:, 0].astype(np.int64), pairs[:, 1].astype(np.int64))

    def snap(self, points: FloatArray) -> Snap:
        """Each point (rows of x, y) snapped to its nearest edge."""
        geoms = shapely.points(points) if len(points) else np.array([], dtype=object)
        return self.snap_geometries(geoms)

    def snap_geometries(self, geometries: Any) -> Snap:
        """Each geometry snapped at its point nearest the network (a footprint's entrance)."""
        geoms = np.asarray(geometries, dtype=object)
        n = len(geoms)
        if n == 0 or self.edge_count == 0:
            nan = np.full(n, np.nan)
            none = np.full(n, -1, np.int64)
            return Snap(none, none, none, nan, nan, nan)
        pairs = self._tree.query_nearest(geoms, all_matches=False)
        edge = np.full(n, -1, np.int64)
        edge[pairs[0]] = pairs[1]
        line = shapely.shortest_line(geoms, self._segments[edge])
        on_edge = shapely.get_coordinates(shapely.get_point(line, 1))
        gap = shapely.length(line)
        a, b = self.edge_a[edge], self.edge_b[edge]
        along_a = np.hypot(*(on_edge - self.nodes[a]).T)
        along_a = np.minimum(along_a, self.edge_length[edge])
        return Snap(edge, a, b, along_a, self.edge_length[edge] - along_a, gap)

    def components(self) -> tuple[int, IntArray]:
        """Connected components: their count and the label of each node."""
        count, labels = sparse.csgraph.connected_components(self.matrix, directed=False)
        return int(count), labels.astype(np.int64)


def _noded(parts: Any) -> Any:
    """The lines split wherever they cross or touch (GEOS noding)."""
    try:
        noded = shapely.node(shapely.multilinestrings(parts))
    except shapely.errors.GEOSException:
        # Robustness failure on degenerate input: keep the shared-vertex rule.
        return parts
    return shapely.get_parts(noded)
