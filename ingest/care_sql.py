"""The few queries of elderly care (:mod:`ingest.care_stage`): thin, no logic.

The daily check restores, after a restart, its active alarms and each home's
newest sign of life; the baseline job reads the hourly rollups
(``readings_1h``: a table in plain mode, a continuous aggregate in
TimescaleDB mode, the same columns) of the care homes' meters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

import numpy as np
import psycopg

from schemas.rollup_window import SPLIT, split_of, window_params
from twin.rules.care import CARE_ANOMALY, CARE_CHECK

Conn = psycopg.Connection[Any]
# The communities an ingestor serves (``--communities``), as a list (psycopg
# sends lists as arrays, not tuples); None: all.
Scope = list[str] | None

# ``scope``: the communities an ingestor serves (``--communities``); NULL: all.
_COMMUNITIES: Final = """
SELECT id FROM communities WHERE (%(scope)s::text[] IS NULL OR id = ANY(%(scope)s)) ORDER BY id
"""
_METRIC_KEYS: Final = "SELECT name, key FROM metrics WHERE name = ANY(%s)"
_ACTIVE: Final = (
    "SELECT community_id, device_id FROM alarms WHERE rule_id = %(rule)s AND state <> 'cleared'"
    " AND (%(scope)s::text[] IS NULL OR community_id = ANY(%(scope)s))"
)
# Newest reading above a level per device/metric: an index probe each, newest first.
_NEWEST_ABOVE: Final = """
SELECT p.d, r.t
FROM unnest(%s::bigint[], %s::int[], %s::float8[]) AS p(d, m, above)
CROSS JOIN LATERAL (
    SELECT extract(epoch FROM ts)::float8 AS t FROM readings
    WHERE device_key = p.d AND metric_key = p.m AND ts >= %s AND value > p.above
    ORDER BY ts DESC LIMIT 1
) r
"""
# Meters in care homes: an elderly household or one with a care level
# (twin.model.households.Household.is_care_home).
_CARE_METERS: Final = """
SELECT d.key, d.community_id, d.id, d.kind
FROM devices d
JOIN units u ON u.community_id = d.community_id AND u.building_id = d.building_id
            AND u.id = d.unit_id
WHERE d.kind = ANY(%(kinds)s) AND (u.care_level > 0 OR u.age_band IN ('60-69', '70-79', '80+'))
  AND (%(scope)s::text[] IS NULL OR d.community_id = ANY(%(scope)s))
ORDER BY d.key
"""
# Only the buckets the scores need (an hour and the one before it, on each
# day compared), not every hour of the fortnight: 30 rows a meter, not 361.
_HOURLY_LAST: Final = """
SELECT device_key, (extract(epoch FROM bucket) / 3600)::bigint, last_value
FROM readings_1h_window(%(ts_from)s, %(ts_to)s, %(rolled_to)s, %(pending_from)s)
WHERE device_key = ANY(%(keys)s) AND metric_key = %(metric)s
  AND bucket = ANY(%(buckets)s::timestamptz[])
"""


def metric_keys(conn: Conn, names: Sequence[str]) -> dict[str, int]:
    return {str(n): int(k) for n, k in conn.execute(_METRIC_KEYS, (list(names),)).fetchall()}


def active_alarms(conn: Conn, rule_id: str, scope: Scope = None) -> list[tuple[str, str]]:
    """``(community, device)`` of the active alarms of a care rule."""
    assert rule_id in (CARE_CHECK, CARE_ANOMALY)
    found = conn.execute(_ACTIVE, {"rule": rule_id, "scope": scope}).fetchall()
    return [(str(c), str(d)) for c, d in found]


def communities(conn: Conn, scope: Scope = None) -> list[str]:
    return [str(c) for (c,) in conn.execute(_COMMUNITIES, {"scope": scope}).fetchall()]


def newest_above(
    conn: Conn, probes: Sequence[tuple[int, int, float]], since: datetime
) -> dict[int, float]:
    """Per device key, the newest reading time (epoch s) of ``(device, metric, above)``."""
    if not probes:
        return {}
    cols = ([p[0] for p in probes], [p[1] for p in probes], [p[2] for p in probes])
    out: dict[int, float] = {}
    for key, t in conn.execute(_NEWEST_ABOVE, (*cols, since)).fetchall():
        out[int(key)] = max(out.get(int(key), float("-inf")), float(t))
    return out


@dataclass(frozen=True)
class Meter:
    key: int
    community: str
    id: str
    kind: str


def care_meters(conn: Conn, kinds: Sequence[str], scope: Scope = None) -> list[Meter]:
    found = conn.execute(_CARE_METERS, {"kinds": list(kinds), "scope": scope})
    return [Meter(int(k), str(c), str(i), str(kind)) for k, c, i, kind in found.fetchall()]


def hourly_last(
    conn: Conn, keys: Sequence[int], metric_key: int, buckets: Sequence[datetime]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rollup rows of one metric in these hourly buckets: device keys, hour numbers
    (epoch hours), last values."""
    if not buckets:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0)
    # The split read first: only the raw partitions above the mark are planned.
    split = split_of(conn.execute(SPLIT, {"source": "readings_1h"}).fetchone())
    params = window_params("readings_1h", min(buckets), max(buckets) + timedelta(hours=1), split)
    params.update(keys=list(keys), metric=metric_key, buckets=list(buckets))
    found = conn.execute(_HOURLY_LAST, params).fetchall()
    if not found:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0)
    device, hour, last = zip(*found, strict=True)
    return (
        np.array(device, dtype=np.int64),
        np.array(hour, dtype=np.int64),
        np.array(last, dtype=np.float64),
    )
