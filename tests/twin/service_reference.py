"""An independent reference for walking minutes: networkx on the same lines.

Built straight from the path coordinates (not from twin.model.walk_network): lines
split where they cross by a GEOS union, nodes are vertices rounded to 1 cm,
every point (entrance, facility) splits its nearest segment (found by brute
force over all segments) into two edges plus the gap to the point, then
networkx's multi-source Dijkstra gives metres.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import networkx as nx
import numpy as np
import shapely


def _key(x: float, y: float) -> tuple[int, int]:
    return (round(x / 0.01), round(y / 0.01))


def reference_graph(lines: Sequence[Any]) -> nx.Graph:
    g = nx.Graph()
    # Lines split where they cross (as commtwin does), here by a GEOS union.
    lines = list(shapely.get_parts(shapely.union_all(list(lines))))
    for line in lines:
        for part in shapely.get_parts(line):
            coords = np.asarray(part.coords)[:, :2]
            for (x0, y0), (x1, y1) in itertools.pairwise(coords):
                a, b = _key(x0, y0), _key(x1, y1)
                if a == b:
                    continue
                g.add_node(a, xy=(x0, y0)) if a not in g else None
                g.add_node(b, xy=(x1, y1)) if b not in g else None
                w = float(np.hypot(x1 - x0, y1 - y0))
                if not g.has_edge(a, b) or g[a][b]["weight"] > w:
                    g.add_edge(a, b, weight=w, street=True)
    return g


def attach(g: nx.Graph, name: str, geometry: Any, max_gap: float) -> bool:
    """Split the edge nearest ``geometry`` and hang node ``name`` on it; False if too far."""
    edges = [(a, b) for a, b, street in g.edges(data="street") if street]
    segs = shapely.linestrings([[g.nodes[a]["xy"], g.nodes[b]["xy"]] for a, b in edges])
    d = shapely.distance(geometry, segs)
    i = int(np.argmin(d))
    if d[i] > max_gap:
        return False
    a, b = edges[i]
    line = shapely.shortest_line(geometry, segs[i])
    px, py = np.asarray(line.coords)[1]
    ax, ay = g.nodes[a]["xy"]
    _bx, _by = g.nodes[b]["xy"]
    length = g[a][b]["weight"]
    along = min(float(np.hypot(px - ax, py - ay)), length)
    mid = ("mid", name)
    g.add_node(mid, xy=(px, py))
    g.add_edge(a, mid, weight=max(along, 1e-9), street=True)
    g.add_edge(mid, b, weight=max(length - along, 1e-9), street=True)
    g.remove_edge(a, b)
    g.add_edge(name, mid, weight=float(d[i]))
    return True


def reference_metres(
    lines: Sequence[Any],
    entrances: dict[str, list[Any]],
    facilities: dict[str, Any],
    max_gap: float = 1e9,
) -> dict[str, float]:
    """Network metres from each building (its entrance geometries) to the nearest facility."""
    g = reference_graph(lines)
    sources = [fid for fid, geom in facilities.items() if attach(g, ("f", fid), geom, max_gap)]
    for bid, geoms in entrances.items():
        for k, geom in enumerate(geoms):
            attach(g, ("e", bid, k), geom, max_gap)
    dist = nx.multi_source_dijkstra_path_length(g, [("f", s) for s in sources]) if sources else {}
    return {
        bid: min((dist.get(("e", bid, k), np.inf) for k in range(len(geoms))), default=np.inf)
        for bid, geoms in entrances.items()
    }
