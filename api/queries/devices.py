"""Devices: filtered listing, one device, and latest values per metric.

``online=false`` matches devices not known to be online, never-seen ones included.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from psycopg import sql

from api.buckets import TimeWindow
from api.db import Conn, fetch_all, fetch_one
from api.errors import NotFoundError
from api.models.devices import DeviceDetailPublic, DevicePublic, LatestValue
from api.queries.rollup_split import read_split
from schemas.rollup_window import (
    NEWEST,
    NEWEST_FOUND,
    NEWEST_TS,
    NEWEST_VALUE,
    newest_bounds,
)

_COLUMNS = sql.SQL("""
    d.id, d.kind, d.metrics, d.building_id, d.storey_idx, d.unit_id, d.x, d.y, d.z,
    d.grid_id, d.mobile, d.modelled, d.online, d.battery, d.rssi, d.status_at, d.last_seen""")
_FILTERS = sql.SQL("""
WHERE d.community_id = %(c)s
  AND (%(kind)s::text IS NULL OR d.kind = %(kind)s)
  AND (%(building)s::text IS NULL OR d.building_id = %(building)s)
  AND (%(storey)s::integer IS NULL OR d.storey_idx = %(storey)s)
  AND (%(online)s::boolean IS NULL OR coalesce(d.online, false) = %(online)s)
  AND (%(unplaced)s::boolean IS NULL
       OR (d.building_id IS NULL AND d.x IS NULL) = %(unplaced)s)""")
_LIST = sql.SQL(
    "SELECT {columns}, count(*) OVER () AS total FROM devices d {filters}"
    " ORDER BY d.id LIMIT %(limit)s OFFSET %(offset)s"
).format(columns=_COLUMNS, filters=_FILTERS)
_COUNT = sql.SQL("SELECT count(*) AS n FROM devices d {filters}").format(filters=_FILTERS)
_ONE = sql.SQL(
    "SELECT {columns} FROM devices d WHERE d.community_id = %(c)s AND d.id = %(d)s"
).format(columns=_COLUMNS)
_OF_BUILDING = sql.SQL(
    "SELECT {columns} FROM devices d WHERE d.community_id = %(c)s AND d.building_id = %(b)s"
    " ORDER BY d.storey_idx, d.id"
).format(columns=_COLUMNS)

# Latest value of each metric a device declares or has reported lately
# (schemas.rollup_window.NEWEST: raw readings from the hourly rollup's split
# on, the rollup's newest bucket below it). The metrics reported lately come
# from the hourly rollup table itself, not readings_1h_live: a join cannot
# reach into that view's raw aggregate, which would then fold the whole
# district's open hour; an undeclared metric first seen in the open hour
# shows once the hour is closed (schemas/sql/0090).
_LATEST = f"""
WITH dev AS (
    SELECT key, id, metrics FROM devices
    WHERE community_id = %(c)s
      AND (%(building)s::text IS NULL OR building_id = %(building)s)
      AND (%(device)s::text IS NULL OR id = %(device)s)),
pairs AS (
    SELECT dev.key, dev.id, m.key AS metric_key, m.name
    FROM dev JOIN metrics m ON m.name = ANY(dev.metrics)
    UNION
    SELECT dev.key, dev.id, h.metric_key, m.name
    FROM dev JOIN readings_1h h ON h.device_key = dev.key AND h.bucket >= %(since)s
    JOIN metrics m ON m.key = h.metric_key)
SELECT p.id, p.name AS metric, {NEWEST_TS} AS ts, {NEWEST_VALUE} AS value
FROM pairs p {NEWEST}
WHERE {NEWEST_FOUND}
"""  # noqa: S608 (only the constants of schemas.rollup_window go in)


@dataclass(frozen=True, slots=True)
class DeviceFilter:
    kind: str | None = None
    building: str | None = None
    storey: int | None = None
    online: bool | None = None
    unplaced: bool | None = None


def _public(r: dict[str, Any]) -> DevicePublic:
    return DevicePublic(
        id=r["id"],
        kind=r["kind"],
        metrics=list(r["metrics"]),
        building=r["building_id"],
        storey=r["storey_idx"],
        unit=r["unit_id"],
        x=r["x"],
        y=r["y"],
        z=r["z"],
        grid=r["grid_id"],
        mobile=r["mobile"],
        modelled=r["modelled"],
        online=r["online"],
        battery=r["battery"],
        rssi=r["rssi"],
        status_at=r["status_at"],
        last_seen=r["last_seen"],
    )


async def list_devices(
    conn: Conn, community: str, f: DeviceFilter, limit: int, offset: int
) -> tuple[int, list[DevicePublic]]:
    """``(total matching, one page)``, ordered by id."""
    params = {
        "c": community,
        "kind": f.kind,
        "building": f.building,
        "storey": f.storey,
        "online": f.online,
        "unplaced": f.unplaced,
        "limit": limit,
        "offset": offset,
    }
    rows = await fetch_all(conn, _LIST, params)
    if rows:
        return int(rows[0]["total"]), [_public(r) for r in rows]
    # An empty page (offset past the end) still reports the total.
    count = await fetch_one(conn, _COUNT, params)
    return (int(count["n"]) if count else 0), []


def lookback(now: datetime, days: int) -> TimeWindow:
    """Where the latest values are looked for: ``days`` back, an hour ahead.

    Two times, not ``now() - interval``: the planner then keeps only the raw
    partitions between them, and with the default partition out of the way
    scans them newest first and stops at the first reading (an ordered
    Append; otherwise every partition's index is opened per device). Ingest
    takes no reading more than 5 minutes ahead (ingest.timestamps), so an
    hour ahead loses none.

    >>> w = lookback(datetime.fromisoformat("2026-01-08T00:00:00+00:00"), 7)
    >>> w.start.isoformat(), w.end.isoformat()
    ('2026-01-01T00:00:00+00:00', '2026-01-08T01:00:00+00:00')
    """
    return TimeWindow(now - timedelta(days=days), now + timedelta(hours=1))


async def latest_values(
    conn: Conn,
    community: str,
    within: TimeWindow,
    *,
    building: str | None = None,
    device: str | None = None,
) -> dict[str, dict[str, LatestValue]]:
    """``{device id: {metric: latest}}`` for a building's devices or one device."""
    split = await read_split(conn, "readings_1h")
    bounds = newest_bounds(within.start, within.end, split)
    rows = await fetch_all(
        conn, _LATEST, {"c": community, "building": building, "device": device, **bounds}
    )
    latest: dict[str, dict[str, LatestValue]] = defaultdict(dict)
    for r in rows:
        latest[r["id"]][r["metric"]] = LatestValue(value=r["value"], ts=r["ts"])
    return latest


def with_latest(device: DevicePublic, latest: dict[str, LatestValue]) -> DeviceDetailPublic:
    return DeviceDetailPublic(**device.model_dump(), latest=latest)


async def get_device(
    conn: Conn, community: str, device: str, within: TimeWindow
) -> DeviceDetailPublic:
    row = await fetch_one(conn, _ONE, {"c": community, "d": device})
    if row is None:
        raise NotFoundError("device", device)
    latest = await latest_values(conn, community, within, device=device)
    return with_latest(_public(row), latest.get(device, {}))


async def building_devices(
    conn: Conn, community: str, building: str, within: TimeWindow
) -> list[DeviceDetailPublic]:
    rows = await fetch_all(
        conn,
        _OF_BUILDING,
        {"c": community, "b": building},
    )
    latest = await latest_values(conn, community, within, building=building)
    return [with_latest(_public(r), latest.get(r["id"], {})) for r in rows]
