"""Where things are, for ingest: community models and locators
(:mod:`ingest.community_places`), cached per community.

Alarms, positions and incident events carry building/storey/unit/grid. Ingest
gets them from the community model (``commtwin community import``): fixed
devices from their stored placement (resolved once, at import), moving
devices and incident coordinates by locating points with
:class:`twin.geometry.locate.Locator` (vectorised per batch).

:class:`Places` loads a community's model on first use (the SELECTs of
:mod:`twin.community.rows`, run on the caller's connection, inside its
transaction) and keeps it until it is marked stale: by a ``change_log`` row
of kind ``community`` (the ticker LISTENs for it): then it is loaded again at
its next use. After a reconnect of that listener (notifications may have been
missed) and after ``max_age_s`` a model is only in doubt: it goes on serving
while the ticker reloads it in the background (:meth:`Places.refresh_due`),
and is swapped only if its rows changed. (Reloading on use stalled the batch
path: a district's 200 models, loaded together, expired together, 0.15-0.25 s
each.) A model that does not load (bad stored geometry) is logged and retried
at the next expiry; meanwhile nothing of that community is located, nothing
fails.

Bounded: at most ``max_communities`` models are held, the least recently
used one dropped first (it is loaded again on its next use), and the latest
places of at most ``max_positions`` mobile devices. A model with its
locator rasters is several MiB (docs/ingest.md, "Memory"): keep the bound
above the number of communities one ingestor is fed, or reloads thrash.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any, Final, NamedTuple

import numpy as np
import psycopg

from ingest.community_places import (
    CommunityPlaces,
    DeviceInfo,
    load_community_places,
    load_device,
)
from twin.errors import ModelError
from twin.geometry.locate import Place

log = logging.getLogger(__name__)

Conn = psycopg.Connection[Any]


class PositionRows(NamedTuple):
    """A batch's positions (community-local), one entry per ``positions`` row."""

    keys: Sequence[int]
    ts_us: Sequence[int]
    communities: Sequence[str]
    x: Sequence[float]
    y: Sequence[float]
    z: Sequence[float]


class PlaceColumns(NamedTuple):
    """Located places of a batch's positions, one entry per position row."""

    building: list[str | None]
    storey: list[int | None]
    unit: list[str | None]
    grid: list[str | None]


MAX_COMMUNITIES: Final = 256
MAX_POSITIONS: Final = 1_000_000


class Places:
    """Per-community models, loaded lazily and reloaded when stale. Thread-safe.

    >>> loads = []
    >>> p = Places(max_communities=2, loader=lambda conn, c: loads.append(c))
    >>> for c in ["a", "b", "a", "c", "a", "b"]:
    ...     _ = p.get(None, c)
    >>> loads  # "b" was the least recently used when "c" came
    ['a', 'b', 'c', 'b']
    """

    def __init__(
        self,
        *,
        max_age_s: float = 600.0,
        clock: Callable[[], float] = time.monotonic,
        loader: Callable[[Conn, str], CommunityPlaces | None] = load_community_places,
        max_communities: int = MAX_COMMUNITIES,
        max_positions: int = MAX_POSITIONS,
    ) -> None:
        self.max_age_s = max_age_s
        self.max_communities = max(1, max_communities)
        self.max_positions = max(1, max_positions)
        self.evicted = 0  # models dropped for the bound (a metric of a too-small bound)
        self._clock = clock
        self._loader = loader
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, tuple[CommunityPlaces | None, float]] = OrderedDict()
        self._stale: set[str] = set()  # changed: reload before the next use
        self._doubtful: set[str] = set()  # maybe changed: reload in the background
        self.version = 0  # counts loads that may differ: users re-read device kinds when it moves
        # Latest located place of each device that sent a position (mobile
        # devices' alarms carry it): committed, and of the open batch.
        self.latest: dict[int, tuple[int, Place]] = {}
        self._pending: dict[int, tuple[int, Place]] = {}

    def mark_stale(self, community: str | None = None) -> None:
        """``community`` changed: reload it at its next use. None: any may have
        changed (missed notifications): reload every model in the background."""
        with self._lock:
            if community is None:
                self._doubtful.update(self._cache)
            else:
                self._stale.add(community)

    def get(self, conn: Conn, community: str) -> CommunityPlaces | None:
        now = self._clock()
        with self._lock:
            cached = self._cache.get(community)
            if cached is not None and community not in self._stale:
                self._cache.move_to_end(community)
                return cached[0]
            self._stale.discard(community)
            self._doubtful.discard(community)  # loaded now: no doubt left
            try:
                loaded = self._loader(conn, community)
            except (ModelError, ValueError) as exc:
                log.error("community %s: model not loaded, nothing located: %s", community, exc)
                loaded = None
            self._cache[community] = (loaded, now)
            self._cache.move_to_end(community)
            while len(self._cache) > self.max_communities:
                dropped, _ = self._cache.popitem(last=False)
                self._stale.discard(dropped)
                self._doubtful.discard(dropped)
                self.evicted += 1
            self.version += 1
            return loaded

    def refresh_due(self, conn: Conn, limit: int = 1) -> int:
        """Reload up to ``limit`` models older than ``max_age_s`` or in doubt, outside
        the lock (the batch path goes on with the old ones); how many were due.

        >>> clock, loads = [0.0], []
        >>> p = Places(max_age_s=10, clock=lambda: clock[0],
        ...            loader=lambda conn, c: loads.append(c))
        >>> _ = p.get(None, "a"); clock[0] = 11.0; _ = p.get(None, "a")
        >>> len(loads), p.refresh_due(None), len(loads), p.refresh_due(None)
        (1, 1, 2, 0)
        """
        now = self._clock()
        with self._lock:
            due = [
                (c, entry[0])
                for c, entry in self._cache.items()
                if c in self._doubtful or now - entry[1] >= self.max_age_s
            ][:limit]
        for community, old in due:
            try:
                loaded = self._loader(conn, community)
            except (ModelError, ValueError) as exc:
                log.error("community %s: model not reloaded: %s", community, exc)
                loaded = old
            with self._lock:
                self._doubtful.discard(community)
                entry = self._cache.get(community)
                if entry is None or entry[0] is not old:
                    continue  # evicted, or reloaded for a change meanwhile
                same = loaded is old or (
                    loaded is not None and old is not None and loaded.fingerprint == old.fingerprint
                )
                self._cache[community] = (old if same else loaded, self._clock())
                if not same:
                    self.version += 1
        return len(due)

    def device(
        self, conn: Conn, community: str, device: str, min_age_s: float = 0.25
    ) -> DeviceInfo | None:
        """``device`` as its community's model holds it. A device the model does
        not hold (a registration without a ``community`` change) reloads the
        model once it is older than ``min_age_s``, which keeps an unknown device
        from reloading it on every alarm; within that bound the device's own
        row is read, so a device added just after a load keeps its place too."""
        places = self.get(conn, community)
        if places is None:
            return None
        found = places.by_id.get(device)
        if found is not None:
            return found
        with self._lock:
            cached = self._cache.get(community)
            young = cached is None or self._clock() - cached[1] < min_age_s
            if not young:
                self._stale.add(community)
        if young:
            return load_device(conn, community, device)
        places = self.get(conn, community)
        return places.by_id.get(device) if places is not None else None

    def cached(self) -> list[CommunityPlaces]:
        """The models loaded so far (for re-reading device kinds)."""
        with self._lock:
            return [p for p, _ in self._cache.values() if p is not None]

    def locate_positions(self, conn: Conn, batch: PositionRows) -> PlaceColumns:
        """Locate a batch's positions, one vectorised call per community."""
        keys, ts_us, communities, x, y, z = batch
        n = len(keys)
        building, storey = np.full(n, None, dtype=object), np.full(n, None, dtype=object)
        unit, grid = np.full(n, None, dtype=object), np.full(n, None, dtype=object)
        xa, ya, za = (np.asarray(v, dtype=np.float64) for v in (x, y, z))
        groups: dict[str, list[int]] = {}  # one pass (a district batch has 200 communities)
        for i, community in enumerate(communities):
            groups.setdefault(community, []).append(i)
        for community in sorted(groups):
            places = self.get(conn, community)
            if places is None:
                continue
            rows = np.asarray(groups[community], dtype=np.intp)
            found = places.locator.locate(xa[rows], ya[rows], za[rows])
            # Index -1 (none) picks the trailing None of each id table.
            building[rows] = np.array([*found.building_ids, None], dtype=object)[found.building]
            unit[rows] = np.array([*found.unit_ids, None], dtype=object)[found.unit]
            grid[rows] = np.array([*found.grid_ids, None], dtype=object)[found.grid]
            storeys = found.storey.astype(object)
            storeys[found.storey == 0] = None
            storey[rows] = storeys
        out = PlaceColumns(building.tolist(), storey.tolist(), unit.tolist(), grid.tolist())
        for i in range(n):
            newest = self._pending.get(keys[i])
            if newest is None or ts_us[i] >= newest[0]:
                place = Place(out.building[i], out.storey[i], out.unit[i], out.grid[i])
                self._pending[keys[i]] = (ts_us[i], place)
        return out

    def last_place(self, key: int) -> Place | None:
        """Where device ``key`` was last located (this batch's positions included)."""
        found = self._pending.get(key) or self.latest.get(key)
        return found[1] if found is not None else None

    def commit(self) -> None:
        """The batch committed: its located positions are the devices' latest."""
        for key, (ts, place) in self._pending.items():
            known = self.latest.get(key)
            if known is None or ts >= known[0]:
                self.latest[key] = (ts, place)
        self._pending = {}
        if len(self.latest) > self.max_positions:
            # Oldest first; a device forgotten here gets its place from its next position.
            drop = len(self.latest) - self.max_positions + self.max_positions // 10
            for key in list(itertools.islice(self.latest, drop)):
                del self.latest[key]

    def rollback(self) -> None:
        self._pending = {}
