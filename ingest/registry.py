"""Keys of communities, devices and metrics, cached in memory across batches.

Readings store small surrogate keys; looking them up per message would cost a
query each, so the ingestor keeps them in memory. New devices are registered
"unplaced" (``modelled = false``) on their first message. Everything is
resolved inside the batch's transaction; what that transaction created enters
the cache only after it commits (:meth:`Registry.commit`), so a rolled-back
batch leaves no key behind that the database does not have.

Bounded: past ``max_devices`` keys the oldest tenth is forgotten at a commit
(never inside a batch, which keeps every key it resolved), and a forgotten
device is simply looked up again on its next message (one query per batch
for all such devices). At ~300 bytes per device, the default keeps a
district of 400,000 devices whole (docs/ingest.md, "Memory").
"""

from __future__ import annotations

import itertools
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import psycopg

Conn = psycopg.Connection[Any]
NEGATIVE_TTL_US = 10_000_000  # re-ask about an unknown community after 10 s
MAX_DEVICES = 1_000_000
# Made-up community ids in topics must not grow memory: forget them all past this.
MAX_UNKNOWN = 10_000


@dataclass(frozen=True, slots=True)
class CommunityFrame:
    """What ingest needs of a community: its CRS and offset for WGS 84 → local."""

    id: str
    crs: str
    offset: tuple[float, float, float]


class Registry:
    """
    >>> r = Registry(max_devices=10)
    >>> r._pending_devices = {("c", f"d{i}"): i for i in range(12)}
    >>> r._pending_device_community = dict.fromkeys(range(12), "c")
    >>> r.commit(); len(r.devices), ("c", "d0") in r.devices, r.evicted
    (9, False, 3)
    """

    def __init__(self, *, max_devices: int = MAX_DEVICES) -> None:
        self.max_devices = max(1, max_devices)
        self.evicted = 0  # devices forgotten so far (a metric of a too-small bound)
        self.communities: dict[str, CommunityFrame] = {}
        self.devices: dict[tuple[str, str], int] = {}
        self.device_community: dict[int, str] = {}
        self.metrics: dict[str, int] = {}
        self._unknown: dict[str, int] = {}  # community id → when we last missed it
        self._pending_devices: dict[tuple[str, str], int] = {}
        self._pending_device_community: dict[int, str] = {}
        self._pending_metrics: dict[str, int] = {}
        self._pending_communities: dict[str, CommunityFrame] = {}

    def commit(self) -> None:
        """The batch committed: what it resolved is now safe to cache."""
        self.communities.update(self._pending_communities)
        self.devices.update(self._pending_devices)
        self.device_community.update(self._pending_device_community)
        self.metrics.update(self._pending_metrics)
        self.rollback()
        if len(self.devices) > self.max_devices:
            self._forget_oldest()

    def _forget_oldest(self) -> None:
        # Oldest registered first (dict order), a tenth more than needed, so
        # that a registry at its bound does not evict on every commit.
        excess = len(self.devices) - self.max_devices
        drop = min(len(self.devices), excess + self.max_devices // 10)
        for pair in list(itertools.islice(self.devices, drop)):
            key = self.devices.pop(pair)
            self.device_community.pop(key, None)
        self.evicted += drop

    def rollback(self) -> None:
        self._pending_devices = {}
        self._pending_device_community = {}
        self._pending_metrics = {}
        self._pending_communities = {}

    def community(self, cid: str) -> CommunityFrame | None:
        return self.communities.get(cid) or self._pending_communities.get(cid)

    def device_key(self, community: str, device: str) -> int:
        pair = (community, device)
        key = self.devices.get(pair)
        return key if key is not None else self._pending_devices[pair]

    def metric_key(self, name: str) -> int:
        key = self.metrics.get(name)
        return key if key is not None else self._pending_metrics[name]

    def resolve_communities(self, conn: Conn, ids: Iterable[str], now_us: int) -> set[str]:
        """Load the communities not yet cached; return the ids that do not exist."""
        wanted = {
            c
            for c in ids
            if c not in self.communities
            and now_us - self._unknown.get(c, -NEGATIVE_TTL_US) >= NEGATIVE_TTL_US
        }
        if wanted:
            rows = conn.execute(
                "SELECT id, crs, offset_x, offset_y, offset_z FROM communities WHERE id = ANY(%s)",
                (sorted(wanted),),
            ).fetchall()
            for cid, crs, ox, oy, oz in rows:
                self._pending_communities[cid] = CommunityFrame(cid, crs, (ox, oy, oz))
                self._unknown.pop(cid, None)
            if len(self._unknown) > MAX_UNKNOWN:
                self._unknown.clear()
            for cid in wanted - {r[0] for r in rows}:
                self._unknown[cid] = now_us
        return {c for c in ids if self.community(c) is None}

    def resolve_devices(self, conn: Conn, pairs: Iterable[tuple[str, str]]) -> list[int]:
        """Make sure every (community, device) has a key; return the keys registered now."""
        missing = sorted(
            {p for p in pairs if p not in self.devices and p not in self._pending_devices}
        )
        if not missing:
            return []
        communities = [p[0] for p in missing]
        ids = [p[1] for p in missing]
        # Sorted inserts: two ingestors registering the same new devices take
        # their row locks in the same order and cannot deadlock.
        created = conn.execute(
            "INSERT INTO devices (community_id, id) "
            "SELECT * FROM unnest(%s::text[], %s::text[]) "
            "ON CONFLICT DO NOTHING RETURNING community_id, id, key",
            (communities, ids),
        ).fetchall()
        known = conn.execute(
            "SELECT d.community_id, d.id, d.key FROM devices d "
            "JOIN unnest(%s::text[], %s::text[]) AS m(c, i) ON d.community_id = m.c AND d.id = m.i",
            (communities, ids),
        ).fetchall()
        for cid, did, key in known:
            # One string per community, not one per device (~50 bytes a device).
            community = sys.intern(cid)
            self._pending_devices[(community, did)] = key
            self._pending_device_community[key] = community
        return [row[2] for row in created]

    def resolve_metrics(self, conn: Conn, names: Iterable[str]) -> None:
        missing = sorted({n for n in names if n not in self.metrics})
        if not missing:
            return
        conn.execute(
            "INSERT INTO metrics (name) SELECT unnest(%s::text[]) ON CONFLICT DO NOTHING",
            (missing,),
        )
        for name, key in conn.execute(
            "SELECT name, key FROM metrics WHERE name = ANY(%s)", (missing,)
        ).fetchall():
            self._pending_metrics[name] = key

    def community_of_key(self, key: int) -> str | None:
        found = self.device_community.get(key)
        return found if found is not None else self._pending_device_community.get(key)
