"""The service circle of a stored community: built once per model version, then reused.

:class:`CircleCache` keeps, per community, model version and walking speed,
the :class:`~twin.services.circle.ServiceCircle` (graph, snapped entrances),
the minutes of every type and the home counts, so the GeoJSON, summary, CSV
and what-ifs after the first request cost only their own arithmetic.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely

from api.community_store import load_community_async
from api.db import Conn
from api.errors import NotFoundError
from twin.model.community import Community
from twin.model.facilities import FACILITY_TYPES
from twin.services.circle import CircleConfig, ServiceCircle, TypeMinutes
from twin.services.coverage import Homes, count_homes, gaps, minutes_json, summary_rows

_VERSION = (
    "SELECT coalesce(max(seq), 0) FROM change_log WHERE community_id = %s AND kind = 'community'"
)


@dataclass(frozen=True, slots=True)
class Computed:
    community: Community
    circle: ServiceCircle
    minutes: dict[str, TypeMinutes]
    homes: Homes
    version: int


class CircleCache:
    """A few computed communities, newest first (keyed by id, version and config)."""

    def __init__(self, size: int = 8) -> None:
        self._items: OrderedDict[tuple[str, int, CircleConfig], Computed] = OrderedDict()
        self._size = size
        self._lock = asyncio.Lock()

    async def get(self, conn: Conn, cid: str, config: CircleConfig) -> Computed:
        cur = await conn.execute(_VERSION, (cid,))
        row = await cur.fetchone()
        version = int(row[0]) if row else 0
        key = (cid, version, config)
        async with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
                return found
            community = await load_community_async(conn, cid)
            if community is None:
                raise NotFoundError("community", cid)
            # Snapping and Dijkstra are CPU work: keep the event loop serving.
            computed = await asyncio.to_thread(compute, community, config, version)
            self._items[key] = computed
            while len(self._items) > self._size:
                self._items.popitem(last=False)
            return computed


def compute(community: Community, config: CircleConfig, version: int = 0) -> Computed:
    circle = ServiceCircle(community, config)
    return Computed(community, circle, circle.all_minutes(), count_homes(community), version)


def _config_json(c: Computed) -> dict[str, Any]:
    cfg = c.circle.config
    return {
        "speed_m_s": cfg.speed_m_s,
        "detour_factor": cfg.detour_factor,
        "max_snap_m": cfg.max_snap_m,
        "thresholds_min": list(cfg.thresholds_min),
        "network": c.circle.has_network,
        "network_edges": c.circle.graph.edge_count,
        "model_version": c.version,
    }


def _wgs84(c: Computed, geometries: Any) -> list[Any]:
    frame = c.community.frame

    def convert(xy: Any) -> Any:
        lon, lat, _ = frame.to_wgs84(xy[:, 0], xy[:, 1])
        return np.round(np.column_stack([lon, lat]), 8)

    out = shapely.transform(np.asarray(geometries, dtype=object), convert)
    return [shapely.geometry.mapping(g) for g in out]


def buildings_geojson(c: Computed) -> dict[str, Any]:
    """Buildings in WGS 84 with walking minutes per type (null: unreachable or no facility)."""
    geoms = _wgs84(c, [b.footprint for b in c.community.buildings])
    features = []
    for i, b in enumerate(c.community.buildings):
        features.append(
            {
                "type": "Feature",
                "id": b.id,
                "geometry": geoms[i],
                "properties": {
                    "id": b.id,
                    "name": b.name,
                    "homes": int(c.homes.homes[i]),
                    "elderly_homes": int(c.homes.elderly[i]),
                    "minutes": {k: minutes_json(float(m.minutes[i])) for k, m in c.minutes.items()},
                    "estimate": {k: bool(m.estimate[i]) for k, m in c.minutes.items()},
                    "nearest": {k: m.nearest[i] for k, m in c.minutes.items()},
                },
            }
        )
    return {"type": "FeatureCollection", "config": _config_json(c), "features": features}


def facilities_geojson(c: Computed) -> dict[str, Any]:
    facs = c.circle.facilities
    geoms = _wgs84(c, [f.geometry for f in facs])
    local = shapely.get_coordinates(shapely.point_on_surface([f.geometry for f in facs]))
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": f.id,
                "geometry": geoms[i],
                "properties": {
                    "id": f.id,
                    "type": f.type,
                    "name": f.name,
                    "x": round(float(local[i, 0]), 3),
                    "y": round(float(local[i, 1]), 3),
                },
            }
            for i, f in enumerate(facs)
        ],
    }


def summary(c: Computed) -> dict[str, Any]:
    limit = c.circle.config.thresholds_min[-1]
    return {
        "community": c.community.id,
        "config": _config_json(c),
        "types": list(FACILITY_TYPES),
        "facilities": {k: sum(1 for f in c.circle.facilities if f.type == k) for k in c.minutes},
        "rows": summary_rows(c.minutes, c.homes, c.circle.config.thresholds_min),
        "gaps": gaps(c.minutes, c.homes, c.circle.building_ids, limit),
    }


def homes_csv(c: Computed) -> str:
    """One row per home (unit; a building without units is one home), minutes per type."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    kinds = list(c.minutes)
    writer.writerow(
        ["building", "unit", "grid", "elderly", *kinds, *(f"{k}_estimate" for k in kinds)]
    )
    grid_ids = c.homes.grid_ids
    for i, b in enumerate(c.community.buildings):
        g = int(c.homes.grid[i])
        grid = grid_ids[g] if g >= 0 else ""
        minutes = [minutes_json(float(c.minutes[k].minutes[i])) for k in kinds]
        cells = ["" if m is None else m for m in minutes]
        flags = [int(c.minutes[k].estimate[i]) for k in kinds]
        units = b.units or ()
        if not units:
            writer.writerow([b.id, "", grid, 0, *cells, *flags])
        for u in units:
            elderly = int(u.household is not None and u.household.is_elderly)
            writer.writerow([b.id, u.id, grid, elderly, *cells, *flags])
    return out.getvalue()
