"""Walking minutes from every building to the nearest facility of each type.

:class:`ServiceCircle` is built once per community model: it snaps every
building entrance and every facility onto the walking network
(``twin.model.walk_network``) and keeps the graph, so a coverage and a what-if
(``twin.services.scenario``) cost one multi-source Dijkstra per facility type
(``scipy.sparse.csgraph.dijkstra(min_only=True)``), then numpy over all
entrances at once.

Method (docs/twin.md "The 15-minute service circle"):

* A building's entrances are its explicit entrances (``Community.entrances``)
  if it has any, else the footprint boundary point nearest the network. A
  polygon facility (a park) is entered at its boundary point nearest the
  network; a path through it enters it where it crosses.
* Walking metres = gap from the entrance to the network + along the network
  + gap from the network to the facility; minutes = metres / speed.
* A point farther than ``max_snap_m`` from any path, every point when there
  is no network, and any building–facility pair whose network route does not
  exist (disconnected networks) fall back to straight-line distance ×
  ``detour_factor``, and that figure is flagged as an *estimate*.
* A type with no facility gives ``inf`` minutes (never covered).

>>> import shapely
>>> from twin.model.facilities import Facility
>>> from twin.model.community import Building, Community, Storey
>>> from twin.model.walk_network import WalkPath
>>> box = shapely.box(0, 10, 10, 20)
>>> c = Community("c", "c", "EPSG:3857", buildings=(
...     Building("b1", None, box, 0, 3, (Storey(1, 0, 3),)),),
...     facilities=(Facility("s1", "school", shapely.Point(540, 0)),),
...     paths=(WalkPath("p", shapely.LineString([(0, 0), (540, 0)])),))
>>> m = ServiceCircle(c).minutes("school")
>>> round(float(m.minutes[0]), 2), bool(m.estimate[0])
(10.0, False)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import shapely
from scipy import sparse
from scipy.sparse import csgraph

from twin.model.community import Community
from twin.model.facilities import FACILITY_TYPES, Facility
from twin.model.walk_network import Snap, WalkGraph

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]

ELDERLY_WALKING_SPEED_M_S = 0.9
"""Default walking speed: 0.9 m/s (54 m/min), the design speed for older
pedestrians (3 ft/s in the US MUTCD/FHWA guidance, against 3.5 ft/s for
everyone); 15 minutes are then ~810 m, the lower end of the 800-1,000 m
15-minute circle of China's GB 50180-2018."""
DEFAULT_DETOUR_FACTOR = 1.3
"""Straight line → walked metres without a network route (typical urban
pedestrian circuity is 1.2-1.4)."""
DEFAULT_MAX_SNAP_M = 300.0
THRESHOLDS_MIN: tuple[int, ...] = (5, 10, 15)


@dataclass(frozen=True, slots=True)
class CircleConfig:
    """How minutes are computed; every field is documented in docs/twin.md."""

    speed_m_s: float = ELDERLY_WALKING_SPEED_M_S
    detour_factor: float = DEFAULT_DETOUR_FACTOR
    max_snap_m: float = DEFAULT_MAX_SNAP_M
    thresholds_min: tuple[int, ...] = THRESHOLDS_MIN

    def __post_init__(self) -> None:
        if not (self.speed_m_s > 0 and self.detour_factor >= 1 and self.max_snap_m >= 0):
            raise ValueError("speed must be > 0, detour factor >= 1, max snap >= 0")

    @property
    def metres_per_minute(self) -> float:
        return self.speed_m_s * 60.0


@dataclass(frozen=True, slots=True)
class TypeMinutes:
    """Per building (in ``Community.buildings`` order): minutes to the nearest facility."""

    type: str
    minutes: FloatArray
    """``inf`` where no facility of the type is reachable."""
    estimate: BoolArray
    """The figure is straight line × detour factor, not a network route."""
    nearest: tuple[str | None, ...] = ()
    """Id of the nearest facility per building (None where none)."""


class ServiceCircle:
    """Snapped entrances and facilities of one community, and the graph (see module)."""

    def __init__(self, community: Community, config: CircleConfig | None = None) -> None:
        self.config = config or CircleConfig()
        self.community = community
        self.graph = WalkGraph.from_paths(community.paths)
        self.building_ids = tuple(b.id for b in community.buildings)
        index = {bid: i for i, bid in enumerate(self.building_ids)}
        explicit: dict[str, list[tuple[float, float]]] = {}
        for e in community.entrances:
            explicit.setdefault(e.building, []).append((e.x, e.y))
        geoms: list[object] = []
        owners: list[int] = []
        for b in community.buildings:
            points = explicit.get(b.id)
            if points:
                geoms.extend(shapely.points(np.array(points)))
                owners.extend([index[b.id]] * len(points))
            else:
                geoms.append(b.footprint)
                owners.append(index[b.id])
        self.entrance_geoms = np.array(geoms, dtype=object)
        self.entrance_owner = np.array(owners, dtype=np.int64)
        self.entrance_snap = self._on_network(self.graph.snap_geometries(self.entrance_geoms))
        self.facilities = tuple(community.facilities)
        self._facility_snaps = self._snap_facilities(self.facilities)
        self.components = self.graph.components()[1] if self.graph.node_count else None

    @property
    def has_network(self) -> bool:
        return self.graph.edge_count > 0

    def _on_network(self, snap: Snap) -> Snap:
        """Points beyond ``max_snap_m`` are off the network: edge -1."""
        far = ~(snap.gap <= self.config.max_snap_m)
        edge = np.where(far, -1, snap.edge)
        return Snap(edge, snap.node_a, snap.node_b, snap.along_a, snap.along_b, snap.gap)

    def _snap_facilities(self, facilities: Sequence[Facility]) -> Snap:
        geoms = np.array([fac.geometry for fac in facilities], dtype=object)
        return self._on_network(self.graph.snap_geometries(geoms))

    def snap_facilities(self, facilities: Sequence[Facility]) -> Snap:
        """Snaps of other facilities (what-if candidates), same rules as the stored ones."""
        return self._snap_facilities(facilities)

    def minutes(self, kind: str) -> TypeMinutes:
        """Minutes per building to the nearest stored facility of ``kind``."""
        chosen = [i for i, fac in enumerate(self.facilities) if fac.type == kind]
        index = np.array(chosen, dtype=np.int64)
        return self.minutes_to(
            kind, [self.facilities[i] for i in chosen], self._facility_snaps.take(index)
        )

    def all_minutes(self, kinds: Sequence[str] = FACILITY_TYPES) -> dict[str, TypeMinutes]:
        return {kind: self.minutes(kind) for kind in kinds}

    def minutes_to(self, kind: str, facilities: Sequence[Facility], snaps: Snap) -> TypeMinutes:
        """Minutes per building to the nearest of ``facilities`` (snapped as ``snaps``)."""
        n_rows = len(self.entrance_geoms)
        best = np.full(n_rows, np.inf)
        best_src = np.full(n_rows, -1, np.int64)
        estimate = np.zeros(n_rows, dtype=bool)
        on = snaps.edge >= 0
        if on.any():
            metres, src = self._network_metres(snaps, np.flatnonzero(on))
            best, best_src = metres, src
        # Straight line × detour: facilities off the network, entrances off it,
        # and pairs the network does not connect (inf so far).
        off_fac = np.flatnonzero(~on)
        need_rows = np.flatnonzero((self.entrance_snap.edge < 0) | ~np.isfinite(best))
        if len(facilities):
            for rows, facs in (
                (np.arange(n_rows), off_fac),
                (need_rows, np.arange(len(facilities))),
            ):
                if len(rows) == 0 or len(facs) == 0:
                    continue
                geoms = np.array([facilities[int(i)].geometry for i in facs], dtype=object)
                d = shapely.distance(self.entrance_geoms[rows, None], geoms[None, :])
                d = d * self.config.detour_factor
                arg = np.argmin(d, axis=1)
                near = d[np.arange(len(rows)), arg]
                better = near < best[rows]
                best[rows[better]] = near[better]
                best_src[rows[better]] = facs[arg[better]]
                estimate[rows[better]] = True
        return self._per_building(kind, facilities, best, best_src, estimate)

    def _network_metres(self, snaps: Snap, sources: IntArray) -> tuple[FloatArray, IntArray]:
        """Entrance-row metres over the network from the nearest of ``sources``."""
        g = self.graph
        n = g.node_count
        k = len(sources)
        virtual = n + np.arange(k)
        s = snaps.take(sources)
        rows = np.concatenate([virtual, s.node_a, virtual, s.node_b])
        cols = np.concatenate([s.node_a, virtual, s.node_b, virtual])
        w_a = np.maximum(s.gap + s.along_a, 1e-9)
        w_b = np.maximum(s.gap + s.along_b, 1e-9)
        weights = np.concatenate([w_a, w_a, w_b, w_b])
        # Each virtual row is its own node, so no entry coincides with another
        # (a sparse matrix would sum coinciding entries).
        graph = sparse.csr_matrix(
            (
                np.concatenate([g.weights, weights]),
                (np.concatenate([g.rows, rows]), np.concatenate([g.cols, cols])),
            ),
            shape=(n + k, n + k),
        )
        dist, _, origin = csgraph.dijkstra(
            graph, directed=False, indices=virtual, min_only=True, return_predecessors=True
        )
        e = self.entrance_snap
        on = e.edge >= 0
        a, b = np.where(on, e.node_a, 0), np.where(on, e.node_b, 0)
        via_a = dist[a] + e.along_a
        via_b = dist[b] + e.along_b
        metres = np.where(via_a <= via_b, via_a, via_b) + e.gap
        src_node = np.where(via_a <= via_b, origin[a], origin[b])
        metres = np.where(on, metres, np.inf)
        src = np.where(on & (src_node >= n), sources[np.clip(src_node - n, 0, k - 1)], -1)
        # A facility on the same edge as the entrance: straight along the edge.
        for j, fac in enumerate(sources):
            same = np.flatnonzero(on & (e.edge == s.edge[j]))
            if len(same) == 0:
                continue
            direct = e.gap[same] + s.gap[j] + np.abs(e.along_a[same] - s.along_a[j])
            better = direct < metres[same]
            metres[same[better]] = direct[better]
            src[same[better]] = fac
        return metres, src

    def _per_building(
        self,
        kind: str,
        facilities: Sequence[Facility],
        metres: FloatArray,
        src: IntArray,
        estimate: BoolArray,
    ) -> TypeMinutes:
        n = len(self.building_ids)
        owner = self.entrance_owner
        best = np.full(n, np.inf)
        np.minimum.at(best, owner, metres)
        # The entrance row that gave each building's minimum (first one on ties).
        hit = metres == best[owner]
        order = np.flatnonzero(hit)
        first = np.full(n, -1, np.int64)
        first[owner[order[::-1]]] = order[::-1]
        est = np.zeros(n, dtype=bool)
        ok = first >= 0
        est[ok] = estimate[first[ok]]
        ids = np.array([fac.id for fac in facilities] + [None], dtype=object)
        j = np.where(ok, src[np.where(ok, first, 0)], -1)
        nearest = tuple(ids[np.where(np.isfinite(best), j, -1)])
        return TypeMinutes(kind, best / self.config.metres_per_minute, est, tuple(nearest))
