"""Low-carbon and traffic devices with a day of hand-computable readings.

Readings go through the ingest writer's own statement (``ingest.sql``), so
the rollups are exactly what an ingestor makes of them. Slot i is the hour
``first_hour + i`` (0 .. 23; slot -1 only gives the counters a start), two
readings an hour at :10 and :40. What the scene figures must come out as is
in :data:`EXPECTED` (worked out by hand in the comments).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import psycopg

from ingest.sql import COPY_STAGE, CREATE_STAGE, MOVE_READINGS_PLAIN

Conn = psycopg.Connection[tuple[object, ...]]
SLOTS = 24

# Main meter of building MAIN: 5 kWh per half hour (10 per hour). Slot 12: read
# 1130 at :10, swapped, read 3.0 at :40 -> (1130 - 1125) + 3 = 8. Offline in
# slots 15-16: slot 17 reads 30 more than slot 14 -> 10, 10, 10. All the others 10.
MAIN_HOURLY = [10.0] * 12 + [8.0] + [10.0] * 11
# Homes of building HOMES (no main meter): 1 and 2 kWh per hour, storeys 1, 2.
# PV on MAIN: 4 kWh per hour in slots 8-15, 1 of it exported.
PV_HOURLY = [4.0 if 8 <= i <= 15 else 0.0 for i in range(SLOTS)]
EXPORT_HOURLY = [1.0 if 8 <= i <= 15 else 0.0 for i in range(SLOTS)]
EXPECTED: dict[str, Any] = {
    "main_grid": MAIN_HOURLY,
    "homes_grid": [3.0] * SLOTS,
    "community_grid": [m + 3.0 for m in MAIN_HOURLY],  # 238 + 72 = 310
    "pv": PV_HOURLY,
    "self_consumed": [p - e for p, e in zip(PV_HOURLY, EXPORT_HOURLY, strict=True)],
    # Lot: both readings of slot i are 0.3 + 0.02 i.
    "occupancy": [round(0.3 + 0.02 * i, 3) for i in range(SLOTS)],
    # ev-1 charges in slots 18-23 (one session from slot 18, 7 kWh an hour); ev-2 never.
    "availability": [1.0] * 18 + [0.5] * 6,
    "sessions": [0.0] * 18 + [1.0] + [0.0] * 5,
    "charged_kwh": [0.0] * 18 + [7.0] * 6,
    # Gate: 6 entries and 4 exits an hour; its counter restarts in slot 20
    # (3 before, 3 after): still 6.
    "entries": [6.0] * SLOTS,
    "exits": [4.0] * SLOTS,
}


def _square(x0: float, y0: float, w: float, h: float) -> dict[str, Any]:
    ring = [[x0, y0], [x0 + w, y0], [x0 + w, y0 + h], [x0, y0 + h], [x0, y0]]
    return {"type": "Polygon", "coordinates": [ring]}


def add_device(conn: Conn, cid: str, did: str, kind: str, **place: Any) -> int:
    row = conn.execute(
        "INSERT INTO devices (community_id, id, kind, metrics, building_id, storey_idx, unit_id,"
        " x, y, z, attributes, online, status_at, last_seen, modelled)"
        " VALUES (%s, %s, %s, '{}', %s, %s, %s, %s, %s, 0, %s, true, now(), now(), true)"
        " RETURNING key",
        (cid, did, kind, place.get("building"), place.get("storey"), place.get("unit"),
         place.get("x"), place.get("y"), json.dumps(place.get("attributes", {}))),
    ).fetchone()  # fmt: skip
    assert row is not None
    return int(str(row[0]))


def write_readings(conn: Conn, rows: list[tuple[datetime, int, str, float]]) -> None:
    """Store readings as the ingest writer does, then run its rollup job (plain mode)."""
    names = sorted({r[2] for r in rows})
    conn.execute(
        "INSERT INTO metrics (name) SELECT unnest(%s::text[]) ON CONFLICT (name) DO NOTHING",
        (names,),
    )
    keys = dict(conn.execute("SELECT name, key FROM metrics WHERE name = ANY(%s)", (names,)))
    with conn.transaction():
        conn.execute(CREATE_STAGE)
        with conn.cursor().copy(COPY_STAGE) as copy:
            copy.set_types(["timestamptz", "bigint", "integer", "float8"])
            for ts, dev, name, value in rows:
                copy.write_row((ts, dev, keys[name], value))
        conn.execute(MOVE_READINGS_PLAIN)
        # The rollup job the ingestor runs after its batches (ingest/rollups.py).
        conn.execute("SELECT count(*) FROM commtwin_refresh_rollups(true)")


def seed_scene(conn: Conn, cid: str, first_hour: datetime, main: str, homes: str) -> None:
    """Meters in buildings ``main`` and ``homes``; a lot, two chargers and a gate outdoors."""
    pm = add_device(conn, cid, "sc-pm", "power_meter", building=main, storey=1)
    h1 = add_device(conn, cid, "sc-home-1", "home_meter", building=homes, storey=1, unit="h-101")
    h2 = add_device(conn, cid, "sc-home-2", "home_meter", building=homes, storey=2, unit="h-201")
    pv = add_device(conn, cid, "sc-pv", "pv_inverter", building=main, storey=1)
    lot = add_device(conn, cid, "sc-lot", "parking", x=58.0, y=80.0, attributes={"capacity": 100})
    ev1 = add_device(conn, cid, "sc-ev-1", "ev_charger", x=61.0, y=80.0)
    ev2 = add_device(conn, cid, "sc-ev-2", "ev_charger", x=63.0, y=80.0)
    gate = add_device(conn, cid, "sc-gate", "gate", x=66.0, y=80.0)
    rows: list[tuple[datetime, int, str, float]] = []
    meter, home1, home2, gen, exp, sessions, charged, entries, exits = (
        1000.0, 50.0, 80.0, 500.0, 100.0, 10.0, 300.0, 40.0, 30.0,
    )  # fmt: skip
    for slot in range(-1, SLOTS):
        hour = first_hour + timedelta(hours=slot)
        for half, minute in enumerate((10, 40)):
            ts = hour + timedelta(minutes=minute)
            meter += 5.0
            if slot == 12 and half == 1:
                meter = 3.0  # swapped after the :10 reading
            if slot not in (15, 16):
                rows.append((ts, pm, "energy_kwh", meter))
            home1, home2 = home1 + 0.5, home2 + 1.0
            rows += [(ts, h1, "energy_kwh", home1), (ts, h2, "energy_kwh", home2)]
            if 8 <= slot <= 15:
                gen, exp = gen + 2.0, exp + 0.5
            rows += [(ts, pv, "energy_kwh", gen), (ts, pv, "export_kwh", exp)]
            rows.append((ts, lot, "occupancy", round(0.3 + 0.02 * max(slot, 0), 3)))
            busy = slot >= 18
            if slot == 18 and half == 0:
                sessions += 1
            if busy:
                charged += 3.5
            rows += [(ts, ev1, "charging", float(busy)), (ts, ev1, "sessions", sessions),
                     (ts, ev1, "energy_kwh", charged), (ts, ev2, "charging", 0.0),
                     (ts, ev2, "sessions", 4.0), (ts, ev2, "energy_kwh", 90.0)]  # fmt: skip
            entries, exits = entries + 3.0, exits + 2.0
            if slot == 20 and half == 1:
                entries = 3.0  # the gate's counter restarted after the :10 reading
            rows += [(ts, gate, "entries", entries), (ts, gate, "exits", exits)]
    write_readings(conn, rows)


def seed_scene_community(conn: Conn, cid: str, first_hour: datetime) -> None:
    """A community of its own: MAIN (30 × 12 m, 10 storeys), HOMES (20 × 10 m, 4)."""
    conn.execute("DELETE FROM communities WHERE id = %s", (cid,))
    conn.execute(
        "INSERT INTO communities (id, name, crs) VALUES (%s, %s, 'EPSG:3857')", (cid, "Scenes")
    )
    for bid, square, storeys in (("main", _square(0, 0, 30, 12), 10),
                                 ("homes", _square(50, 0, 20, 10), 4)):  # fmt: skip
        conn.execute(
            "INSERT INTO buildings (community_id, id, name, footprint, ground_z, roof_z)"
            " VALUES (%s, %s, %s, %s, 0, %s)",
            (cid, bid, bid.upper(), json.dumps(square), storeys * 3.0),
        )
        for i in [-1, *range(1, storeys + 1)]:
            conn.execute(
                "INSERT INTO storeys (community_id, building_id, idx, name, floor_z, height)"
                " VALUES (%s, %s, %s, %s, %s, 3)",
                (cid, bid, i, f"{i}F", (i - 1) * 3.0),
            )
    seed_scene(conn, cid, first_hour, "main", "homes")
