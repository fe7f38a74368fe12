"""Scene trends from the rollups: energy, traffic, alarms and reports per period.

Only aggregates leave this module (per community, building, storey, home,
lot), never a device's readings. Counters and means are read from
``readings_1h`` (a plain table or a continuous aggregate, same columns),
re-aggregated per local hour, day or month in SQL, and turned into figures by
the pure ``twin.scenes.counters``, ``twin.scenes.energy`` and ``twin.scenes.traffic``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from api.db import Conn, fetch_all
from api.errors import NotFoundError
from api.queries.rollup_split import read_split
from schemas.rollup_window import window_params
from twin.model.kinds import scene_of
from twin.scenes import energy, traffic
from twin.scenes.counters import FloatArray, counter_usage
from twin.scenes.periods import FineGrid, Grid

# Per device, metric and fine period: the counters' last/max/min and the sums
# behind means. A row per period in front of the grid gives the starting point.
# Hours are the rollup's own rows (no re-aggregation, in index order); local
# days are folded from them.
_HOUR_ROWS = """
SELECT device_key::float8, metric_key::float8,
       floor(extract(epoch FROM bucket - %(origin)s) / 3600)::float8 AS pos,
       last_value, v_max, v_min, v_sum, n::float8
FROM readings_1h_window(%(ts_from)s, %(ts_to)s, %(rolled_to)s, %(pending_from)s)
WHERE device_key = ANY(%(keys)s) AND metric_key = ANY(%(metrics)s)
  AND bucket >= %(start)s AND bucket < %(end)s
"""
_DAY_ROWS = """
SELECT device_key::float8, metric_key::float8,
       ((date_trunc('day', bucket, %(tz)s) AT TIME ZONE %(tz)s)::date - %(origin_day)s)::float8,
       (array_agg(last_value ORDER BY last_ts DESC))[1], max(v_max), min(v_min), sum(v_sum),
       sum(n)::float8
FROM readings_1h_window(%(ts_from)s, %(ts_to)s, %(rolled_to)s, %(pending_from)s)
WHERE device_key = ANY(%(keys)s) AND metric_key = ANY(%(metrics)s)
  AND bucket >= %(start)s AND bucket < %(end)s
GROUP BY 1, 2, 3
"""
_DEVICES = """
SELECT key, id, kind, building_id, storey_idx, unit_id, online, attributes
FROM devices WHERE community_id = %(c)s AND kind = ANY(%(kinds)s)
  AND (%(b)s::text IS NULL OR building_id = %(b)s) ORDER BY id
"""
_BUILDINGS = """
SELECT b.id, b.name, b.footprint,
       (SELECT count(*) FROM storeys s
        WHERE s.community_id = b.community_id AND s.building_id = b.id AND s.idx >= 1) AS above
FROM buildings b WHERE b.community_id = %(c)s AND (%(b)s::text IS NULL OR b.id = %(b)s)
ORDER BY b.id
"""
ROUND: Final = 3


@dataclass(frozen=True, slots=True)
class Device:
    key: int
    id: str
    kind: str
    building: str | None
    storey: int | None
    unit: str | None
    online: bool | None
    capacity: int | None


@dataclass(slots=True)
class PeriodRows:
    """Rollup rows per (device key, metric name) on the trend's fine grid.

    ``series`` holds, per key, the columns (fine index, last, max, min,
    v_sum, n) as one array of rows in time order.
    """

    fine: FineGrid
    count: int
    series: dict[tuple[int, str], FloatArray]

    def _slots(self, positions: FloatArray) -> npt.NDArray[np.int64]:
        return np.asarray(self.fine.to_slot, dtype=np.int64)[positions.astype(np.int64)]

    def usage(self, device_key: int, metric: str) -> FloatArray:
        """Counter usage per trend slot: per fine period, then summed."""
        rows = self.series.get((device_key, metric))
        if rows is None:
            return np.zeros(self.count, dtype=np.float64)
        fine = counter_usage(
            rows[:, 0].astype(np.int64), rows[:, 1], rows[:, 2], rows[:, 3], len(self.fine.starts)
        )
        slots = np.asarray(self.fine.to_slot, dtype=np.int64)
        keep = slots >= 0
        summed = np.bincount(slots[keep], weights=fine[keep], minlength=self.count)
        return summed.astype(np.float64)

    def mean(self, device_key: int, metric: str) -> list[float | None]:
        """Mean of the readings per trend slot (Σ v_sum ÷ Σ n); None where none."""
        rows = self.series.get((device_key, metric))
        if rows is None:
            return [None] * self.count
        slots = self._slots(rows[:, 0])
        keep = slots >= 0
        sums = np.bincount(slots[keep], weights=rows[keep, 4], minlength=self.count)
        counts = np.bincount(slots[keep], weights=rows[keep, 5], minlength=self.count)
        return [float(a / n) if n > 0 else None for a, n in zip(sums, counts, strict=True)]

    def latest(self, device_key: int, metric: str) -> float | None:
        rows = self.series.get((device_key, metric))
        return None if rows is None else float(rows[-1, 1])


def rounded(values: FloatArray | Sequence[float | None] | None) -> list[float | None] | None:
    if values is None:
        return None
    return [None if v is None else round(float(v), ROUND) for v in values]


def _num(v: float | None) -> float | None:
    return None if v is None else round(float(v), ROUND)


async def devices(conn: Conn, cid: str, kinds: Sequence[str], building: str | None) -> list[Device]:
    rows = await fetch_all(conn, _DEVICES, {"c": cid, "kinds": list(kinds), "b": building})
    out = []
    for r in rows:
        cap = (r["attributes"] or {}).get("capacity")
        out.append(
            Device(
                int(r["key"]),
                r["id"],
                r["kind"],
                r["building_id"],
                r["storey_idx"],
                r["unit_id"],
                r["online"],
                int(cap) if isinstance(cap, int | float) else None,
            )
        )
    return out


async def period_rows(
    conn: Conn, devs: Sequence[Device], metrics: Sequence[str], g: Grid, timezone: str
) -> PeriodRows:
    """The grid's rollup rows of these devices' metrics (unknown metrics: none)."""
    fine = g.fine()
    count = len(g.starts)
    out = PeriodRows(fine, count, {})
    if not devs:
        return out
    found = await fetch_all(
        conn, "SELECT key, name FROM metrics WHERE name = ANY(%(n)s)", {"n": list(metrics)}
    )
    names = {int(r["key"]): r["name"] for r in found}
    if not names:
        return out
    origin = fine.starts[0]
    # Whole hours and the split read first: only the raw partitions needed are planned.
    split = await read_split(conn, "readings_1h")
    params = {
        **window_params("readings_1h", g.before, g.end, split),
        "tz": timezone,
        "keys": [d.key for d in devs],
        "metrics": list(names),
        "start": g.before,
        "end": g.end,
        "origin": origin,
        "origin_day": origin.date(),
    }
    async with conn.cursor() as cur:
        await cur.execute(_HOUR_ROWS if fine.unit == "hour" else _DAY_ROWS, params)
        rows = await cur.fetchall()
    if not rows:
        return out
    # One array for all rows, sorted by series and time, then cut per series.
    # (A zone off UTC by a half hour shifts hour rows by 30 min, never drops them.)
    arr = np.asarray(rows, dtype=np.float64)
    arr = arr[np.lexsort((arr[:, 2], arr[:, 1], arr[:, 0]))]
    arr = arr[(arr[:, 2] >= 0) & (arr[:, 2] < len(fine.starts))]
    if arr.size == 0:
        return out
    cuts = np.flatnonzero((np.diff(arr[:, 0]) != 0) | (np.diff(arr[:, 1]) != 0)) + 1
    for part in np.split(arr, cuts):
        out.series[(int(part[0, 0]), names[int(part[0, 1])])] = part[:, 2:]
    return out


def usage(rows: PeriodRows, device: Device, metric: str, count: int) -> FloatArray:
    return rows.usage(device.key, metric)


async def _buildings(conn: Conn, cid: str, building: str | None) -> list[dict[str, Any]]:
    found = await fetch_all(conn, _BUILDINGS, {"c": cid, "b": building})
    if building is not None and not found:
        raise NotFoundError("building", building)
    return [dict(r) for r in found]


def _meters(devs: Sequence[Device], rows: PeriodRows, count: int) -> list[energy.Meter]:
    out = []
    for d in devs:
        export = None
        if d.kind == energy.PV_KIND and (d.key, energy.EXPORT_METRIC) in rows.series:
            export = usage(rows, d, energy.EXPORT_METRIC, count)
        used = usage(rows, d, energy.ENERGY_METRIC, count)
        out.append(energy.Meter(d.id, d.kind, d.building, d.storey, d.unit, used, export))
    return out


def _series_doc(s: energy.EnergySeries) -> dict[str, Any]:
    return {
        "grid_kwh": rounded(s.grid_kwh),
        "pv_kwh": rounded(s.pv_kwh),
        "self_consumed_kwh": rounded(s.self_consumed_kwh),
        "carbon_kg": rounded(s.carbon_kg),
        "avoided_kg": rounded(s.avoided_kg),
    }


def _totals_doc(s: energy.EnergySeries) -> dict[str, float | None]:
    return {k: _num(v) for k, v in s.totals().items()}


async def energy_trend(
    conn: Conn, cid: str, g: Grid, timezone: str, *, factor: float, building: str | None = None
) -> dict[str, Any]:
    """The low-carbon figures of the community, or of one building with its storeys and homes."""
    count = len(g.starts)
    houses = await _buildings(conn, cid, building)
    kinds = (*energy.SUPPLY_KINDS, energy.PV_KIND)
    devs = await devices(conn, cid, kinds, building)
    if building is None:
        # A building with a main meter does not need its homes' meters read.
        metered = {d.building for d in devs if d.kind == "power_meter"}
        devs = [d for d in devs if d.kind != "home_meter" or d.building not in metered]
    rows = await period_rows(conn, devs, (energy.ENERGY_METRIC, energy.EXPORT_METRIC), g, timezone)
    meters = _meters(devs, rows, count)
    per_building = []
    intensities: dict[str, float | None] = {}
    for b in houses:
        s = energy.building_series(meters, b["id"], count, factor)
        t = s.totals()
        area = energy.floor_area(b["footprint"], int(b["above"]))
        grid_kwh, carbon = t["grid_kwh"] or 0.0, t["carbon_kg"] or 0.0
        per_m2 = energy.intensity(grid_kwh + (t["self_consumed_kwh"] or 0.0), area)
        intensities[b["id"]] = per_m2 if grid_kwh > 0 or (t["pv_kwh"] or 0) > 0 else None
        entry = {
            "id": b["id"],
            "name": b["name"],
            "floor_area_m2": _num(area),
            **_totals_doc(s),
            "kwh_per_m2": _num(per_m2),
            "kg_co2e_per_m2": _num(energy.intensity(carbon, area)),
        }
        if building is not None:
            entry["series"] = _series_doc(s)
        per_building.append(entry)
    ranks = energy.ranking(intensities)
    for entry in per_building:
        entry["rank"] = ranks.get(entry["id"])
    whole = (
        energy.community_series(meters, count, factor)
        if building is None
        else energy.building_series(meters, building, count, factor)
    )
    doc: dict[str, Any] = {
        "community": cid,
        "building": building,
        **_grid_doc(g),
        "emission_factor": {"kg_co2e_per_kwh": factor, "source": energy.EMISSION_FACTOR_SOURCE},
        "meters": len(meters),
        "series": _series_doc(whole),
        "totals": _totals_doc(whole),
        "buildings": per_building,
    }
    if building is not None:
        doc["storeys"] = [
            {"index": k, "grid_kwh": _num(float(v.sum())), "series": rounded(v)}
            for k, v in energy.by_storey(meters, count).items()
        ]
        doc["homes"] = [
            {"unit": m.unit, "storey": m.storey, "grid_kwh": _num(float(m.usage.sum()))}
            for m in meters
            if m.kind == "home_meter"
        ]
    return doc


def _grid_doc(g: Grid) -> dict[str, Any]:
    return {"unit": g.unit, "from": g.starts[0], "to": g.end, "periods": list(g.starts)}


async def traffic_trend(conn: Conn, cid: str, g: Grid, timezone: str) -> dict[str, Any]:
    """Parking occupancy per lot, EV chargers, gate entries and exits per period."""
    count = len(g.starts)
    devs = await devices(conn, cid, ("parking", "ev_charger", "gate"), None)
    metrics = ("occupancy", "charging", "sessions", "energy_kwh", "entries", "exits")
    rows = await period_rows(conn, devs, metrics, g, timezone)

    def mean(d: Device, metric: str) -> list[float | None]:
        return rows.mean(d.key, metric)

    lots = [
        {"id": d.id, "capacity": d.capacity, "occupancy": rounded(mean(d, "occupancy"))}
        for d in devs
        if d.kind == "parking"
    ]
    chargers = [d for d in devs if d.kind == "ev_charger"]
    gates = [d for d in devs if d.kind == "gate"]
    now = traffic.chargers_now(
        traffic.ChargerNow(d.online, rows.latest(d.key, "charging")) for d in chargers
    )

    def summed(ds: Sequence[Device], metric: str) -> FloatArray:
        return traffic.sum_series({d.id: usage(rows, d, metric, count) for d in ds}, count)

    return {
        "community": cid,
        **_grid_doc(g),
        "lots": lots,
        "chargers": {
            **now,
            "availability": rounded(
                traffic.availability((mean(d, "charging") for d in chargers), count)
            ),
            "sessions": rounded(summed(chargers, "sessions")),
            "energy_kwh": rounded(summed(chargers, "energy_kwh")),
        },
        "gates": {
            "count": len(gates),
            "entries": rounded(summed(gates, "entries")),
            "exits": rounded(summed(gates, "exits")),
        },
    }


_ALARMS = """
SELECT date_trunc(%(unit)s, a.raised_at, %(tz)s) AS p, d.kind, a.severity, count(*) AS n
FROM alarms a LEFT JOIN devices d ON d.community_id = a.community_id AND d.id = a.device_id
WHERE a.community_id = %(c)s AND a.raised_at >= %(start)s AND a.raised_at < %(end)s
  AND (%(b)s::text IS NULL OR a.building_id = %(b)s)
GROUP BY 1, 2, 3
"""
_REPORTS = """
SELECT 'reported' AS what, date_trunc(%(unit)s, reported_at, %(tz)s) AS p, count(*) AS n
FROM incidents WHERE community_id = %(c)s AND reported_at >= %(start)s AND reported_at < %(end)s
  AND (%(b)s::text IS NULL OR building_id = %(b)s) GROUP BY 1, 2
UNION ALL
SELECT 'closed', date_trunc(%(unit)s, closed_at, %(tz)s), count(*)
FROM incidents WHERE community_id = %(c)s AND closed_at >= %(start)s AND closed_at < %(end)s
  AND (%(b)s::text IS NULL OR building_id = %(b)s) GROUP BY 1, 2
"""
SEVERITIES: Final = ("critical", "major", "minor", "warning")


async def alarm_trend(
    conn: Conn, cid: str, scene: str, g: Grid, timezone: str, *, building: str | None
) -> dict[str, Any]:
    """Alarms raised per period in a scene (by the device's kind), by severity."""
    if building is not None:
        await _buildings(conn, cid, building)
    slots = {t: i for i, t in enumerate(g.starts)}
    params = {"unit": g.unit, "tz": timezone, "c": cid, "b": building}
    rows = await fetch_all(conn, _ALARMS, params | {"start": g.starts[0], "end": g.end})
    counts: dict[str, list[int]] = defaultdict(lambda: [0] * len(g.starts))
    for r in rows:
        slot = slots.get(r["p"])
        if slot is not None and scene_of(r["kind"]) == scene:
            counts[r["severity"]][slot] += int(r["n"])
    by_severity = {s: counts[s] for s in SEVERITIES}
    total = [sum(v[i] for v in by_severity.values()) for i in range(len(g.starts))]
    return {"community": cid, "building": building, "scene": scene, **_grid_doc(g),
            "by_severity": by_severity, "total": total}  # fmt: skip


async def governance_trend(
    conn: Conn, cid: str, g: Grid, timezone: str, building: str | None
) -> dict[str, Any]:
    """Residents' reports and incidents reported and closed per period."""
    if building is not None:
        await _buildings(conn, cid, building)
    slots = {t: i for i, t in enumerate(g.starts)}
    params = {"unit": g.unit, "tz": timezone, "c": cid, "b": building}
    rows = await fetch_all(conn, _REPORTS, params | {"start": g.starts[0], "end": g.end})
    series = {"reported": [0] * len(g.starts), "closed": [0] * len(g.starts)}
    for r in rows:
        slot = slots.get(r["p"])
        if slot is not None:
            series[r["what"]][slot] += int(r["n"])
    return {"community": cid, "building": building, **_grid_doc(g), **series}
