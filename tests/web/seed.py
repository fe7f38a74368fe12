"""A small community for the browser tests, written with plain SQL inserts.

Six buildings around a courtyard in a transverse-Mercator frame with a
non-zero offset (so the page's WGS 84 → local fit is exercised), storeys,
units, two grids, devices of several kinds (one offline), two active alarms
(critical in b01 storey 3, minor in b02 storey 5), two open incidents (one
overdue) and a closed one (closed-loop rate 1/3), three hours of power
readings per building and a parking occupancy.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from api.keys import new_key
from tests.scene_seed import seed_scene
from twin.incidents.events import EventType, IncidentEvent, Location
from twin.incidents.replay import replay
from twin.incidents.rows import event_to_row, record_to_row

CRS = "+proj=tmerc +lat_0=30.27 +lon_0=120.15 +k=1 +x_0=0 +y_0=0 +ellps=WGS84 +units=m +no_defs"
OFFSET = (1500.0, -800.0, 0.0)


@dataclass(frozen=True)
class SeededBuilding:
    id: str
    name: str
    x: float
    y: float
    storeys: int


BUILDINGS = (
    SeededBuilding("b01", "1幢", 0, 0, 18),
    SeededBuilding("b02", "2幢", 45, 0, 11),
    SeededBuilding("b03", "3幢", 90, 0, 6),
    SeededBuilding("b04", "4幢", 0, 45, 6),
    SeededBuilding("b05", "5幢", 45, 45, 11),
    SeededBuilding("b06", "6幢", 90, 45, 18),
)
STOREY_M = 3.0


def grid_of(b: SeededBuilding) -> str:
    """The grid holding a building's centre (g1 west of x = 65, g2 east of it)."""
    return "g1" if b.x + 15 < 65 else "g2"


def _square(x0: float, y0: float, w: float, h: float) -> dict[str, object]:
    ring = [[x0, y0], [x0 + w, y0], [x0 + w, y0 + h], [x0, y0 + h], [x0, y0]]
    return {"type": "Polygon", "coordinates": [ring]}


def seed_community(conn: psycopg.Connection[tuple[object, ...]], cid: str, name: str) -> None:
    """Insert community ``cid`` (dropping an earlier one of that id first)."""
    now = datetime.now(UTC)
    conn.execute("DELETE FROM communities WHERE id = %s", (cid,))
    conn.execute(
        "INSERT INTO communities (id, name, crs, offset_x, offset_y, offset_z)"
        " VALUES (%s, %s, %s, %s, %s, %s)",
        (cid, name, CRS, *OFFSET),
    )
    for b in BUILDINGS:
        conn.execute(
            "INSERT INTO buildings (community_id, id, name, footprint, ground_z, roof_z)"
            " VALUES (%s, %s, %s, %s, 0, %s)",
            (cid, b.id, b.name, json.dumps(_square(b.x, b.y, 30, 12)), b.storeys * STOREY_M),
        )
        for i in range(1, b.storeys + 1):
            conn.execute(
                "INSERT INTO storeys (community_id, building_id, idx, name, floor_z, height)"
                " VALUES (%s, %s, %s, %s, %s, %s)",
                (cid, b.id, i, f"{i}F", (i - 1) * STOREY_M, STOREY_M),
            )
            conn.execute(
                "INSERT INTO units (community_id, building_id, id, storey_idx, name)"
                " VALUES (%s, %s, %s, %s, %s)",
                (cid, b.id, f"{b.id[1:]}-{i:02d}01", i, f"{i:02d}01"),
            )
    grids = (
        ("g1", "第一网格", _square(-10, -10, 75, 75)),
        ("g2", "第二网格", _square(70, -10, 60, 75)),
    )
    for gid, gname, polygon in grids:
        conn.execute(
            "INSERT INTO grids (community_id, id, name, polygon, worker, worker_name)"
            " VALUES (%s, %s, %s, %s, 'w-zhang', '张伟')",
            (cid, gid, gname, json.dumps(polygon)),
        )
    _seed_devices(conn, cid, now)
    _seed_alarms_and_incidents(conn, cid, now)
    # Scene trends (issue 13): meters, PV, a lot, chargers and a gate with a
    # day of readings through the ingest writer's rollups; a fall 3 h ago.
    seed_scene(conn, cid, now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=23),
               "b01", "b02")  # fmt: skip
    conn.execute(
        "INSERT INTO alarms (community_id, device_id, rule_id, metric, severity, state,"
        " raised_at, updated_at, cleared_at, message) VALUES (%s, 'wear-0001', 'fall', 'fall',"
        " 'critical', 'cleared', %s, %s, %s, 'fall detected')",
        (cid, now - timedelta(hours=3), now - timedelta(hours=3), now - timedelta(hours=2)),
    )


def _device(
    conn: psycopg.Connection[tuple[object, ...]],
    cid: str,
    did: str,
    kind: str,
    *,
    metrics: list[str],
    place: tuple[str | None, int | None, float | None, float | None],
    grid: str | None = None,
    online: bool = True,
    mobile: bool = False,
) -> int:
    building, storey, x, y = place
    z = None if x is None else 0
    row = conn.execute(
        "INSERT INTO devices (community_id, id, kind, metrics, building_id, storey_idx, x, y, z,"
        " grid_id, mobile, online, status_at, last_seen, modelled)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, now(), now(), true)"
        " RETURNING key",
        (cid, did, kind, metrics, building, storey, x, y, z, grid, mobile, online),
    ).fetchone()
    assert row is not None
    return int(str(row[0]))


def _seed_devices(conn: psycopg.Connection[tuple[object, ...]], cid: str, now: datetime) -> None:
    conn.execute(
        "INSERT INTO metrics (name) VALUES ('power_kw'), ('smoke'), ('occupancy')"
        " ON CONFLICT (name) DO NOTHING"
    )
    power_key = conn.execute("SELECT key FROM metrics WHERE name = 'power_kw'").fetchone()
    assert power_key is not None
    for b in BUILDINGS:
        for i in (1, 3, 5):
            if i <= b.storeys:
                online = not (b.id == "b03" and i == 3)
                _device(
                    conn,
                    cid,
                    f"smoke-{b.id}-{i:02d}",
                    "smoke",
                    metrics=["smoke", "temperature"],
                    place=(b.id, i, None, None),
                    grid=grid_of(b),
                    online=online,
                )
        meter = _device(
            conn,
            cid,
            f"power-{b.id}",
            "power_meter",
            metrics=["power_kw", "energy_kwh"],
            place=(b.id, 1, None, None),
            grid=grid_of(b),
        )
        start = (now - timedelta(hours=3)).replace(minute=0, second=0, microsecond=0)
        for h in range(3):
            ts = start + timedelta(hours=h)
            value = 20.0 + 5 * h + b.storeys
            conn.execute(
                "INSERT INTO readings (ts, device_key, metric_key, value) VALUES (%s, %s, %s, %s)",
                (ts, meter, power_key[0], value),
            )
            conn.execute(
                "INSERT INTO readings_1h (bucket, device_key, metric_key, n, v_sum, v_min, v_max,"
                " last_ts, last_value) VALUES (%s, %s, %s, 1, %s, %s, %s, %s, %s)",
                (ts, meter, power_key[0], value, value, value, ts, value),
            )
            conn.execute(
                "INSERT INTO readings_1m (bucket, device_key, metric_key, n, v_sum, v_min, v_max,"
                " last_ts, last_value) VALUES (%s, %s, %s, 1, %s, %s, %s, %s, %s)",
                (ts, meter, power_key[0], value, value, value, ts, value),
            )
    parking = _device(
        conn, cid, "parking-north", "parking", metrics=["occupancy"], place=(None, None, 60.0, 75.0)
    )
    conn.execute(
        "INSERT INTO readings (ts, device_key, metric_key, value)"
        " SELECT %s, %s, key, 0.62 FROM metrics WHERE name = 'occupancy'",
        (now - timedelta(minutes=5), parking),
    )
    _device(
        conn,
        cid,
        "wear-0001",
        "wearable",
        metrics=["heart_rate", "fall", "sos"],
        place=(None, None, 30.0, 30.0),
        grid="g1",
        mobile=True,
    )


def _seed_alarms_and_incidents(
    conn: psycopg.Connection[tuple[object, ...]], cid: str, now: datetime
) -> None:
    alarms = (
        ("smoke-b01-03", "smoke", "critical", "b01", 3, "smoke detected"),
        ("smoke-b02-05", "temperature_high", "minor", "b02", 5, "temperature high"),
    )
    for device, rule, severity, building, storey, message in alarms:
        conn.execute(
            "INSERT INTO alarms (community_id, device_id, rule_id, metric, severity, state,"
            " message, value, raised_at, updated_at, building_id, storey_idx, grid_id)"
            " VALUES (%s, %s, %s, %s, %s, 'active_unack', %s, 1, %s, %s, %s, %s, 'g1')",
            (
                cid,
                device,
                rule,
                rule,
                severity,
                message,
                now - timedelta(minutes=7),
                now - timedelta(minutes=7),
                building,
                storey,
            ),
        )
    for history in _incident_histories(cid, now):
        _write_incident(conn, history)


def _incident_histories(cid: str, now: datetime) -> list[list[IncidentEvent]]:
    """r-1 dispatched, respond due in 10 min (and a 'closed' the loop skips: it was
    never accepted); r-2 accepted, its 2 h resolve deadline (a critical category)
    4 h past; r-3 through the whole loop in the last 50 min."""

    def history(
        iid: str, reported_ago: timedelta, steps: tuple[str, ...], **fields: Any
    ) -> list[IncidentEvent]:
        at = now - reported_ago
        events = [IncidentEvent(cid, iid, "e1", EventType.REPORTED, at, source="api", **fields)]
        for n, step in enumerate(steps, start=2):
            at += timedelta(minutes=1 if step == "dispatched" else 5)
            extra: dict[str, Any] = {"assignee": fields["assignee"]} if step == "dispatched" else {}
            if step == "closed":
                extra["satisfaction"] = 5
            events.append(
                IncidentEvent(cid, iid, f"e{n}", EventType(step), at, source="api", **extra)
            )
        return events

    def place(building: str, storey: int, grid: str) -> Location:
        return Location(building=building, storey=storey, grid=grid)

    return [
        history("r-1", timedelta(minutes=20), ("dispatched", "closed"), category="noise",
                title="楼道噪音", assignee="w-zhang", location=place("b04", 2, "g1")),
        history("r-2", timedelta(hours=6), ("dispatched", "accepted"), category="water_leak",
                title="水管漏水", assignee="w-zhang", location=place("b05", 7, "g1")),
        history("r-3", timedelta(minutes=50), ("dispatched", "accepted", "resolved", "closed"),
                category="repair", title="电梯按钮失灵", assignee="w-li",
                location=place("b06", 1, "g2")),
    ]  # fmt: skip


def _insert(conn: psycopg.Connection[tuple[object, ...]], table: str, row: dict[str, Any]) -> None:
    values = [Jsonb(v) if isinstance(v, dict) else v for v in row.values()]
    query = sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
        sql.Identifier(table),
        sql.SQL(", ").join(map(sql.Identifier, row)),
        sql.SQL(", ").join(sql.Placeholder() * len(row)),
    )
    conn.execute(query, values)


def _write_incident(
    conn: psycopg.Connection[tuple[object, ...]], events: list[IncidentEvent]
) -> None:
    """Store an incident as the ingestor does: its events and their replay, so
    an ingestor replaying the stored events later finds the same incident."""
    for event in events:
        _insert(conn, "incident_events", event_to_row(event))
    _insert(conn, "incidents", record_to_row(replay(events)))


def create_key(
    conn: psycopg.Connection[tuple[object, ...]], scopes: list[str], communities: list[str]
) -> str:
    """A new API key's text, stored hashed like ``commtwin keys create`` does."""
    secret = new_key()
    conn.execute(
        "INSERT INTO api_keys (prefix, secret_sha256, name, scopes, communities)"
        " VALUES (%s, %s, 'browser-test', %s, %s)",
        (secret.prefix, secret.digest, scopes, communities),
    )
    return secret.text


def add_building(
    conn: psycopg.Connection[tuple[object, ...]], cid: str, bid: str, x: float, y: float
) -> None:
    """A 4-storey building added to a seeded community, announced like an import does."""
    conn.execute(
        "INSERT INTO buildings (community_id, id, name, footprint, ground_z, roof_z)"
        " VALUES (%s, %s, %s, %s, 0, 12)",
        (cid, bid, bid, json.dumps(_square(x, y, 20, 20))),
    )
    for i in range(1, 5):
        conn.execute(
            "INSERT INTO storeys (community_id, building_id, idx, floor_z, height)"
            " VALUES (%s, %s, %s, %s, 3)",
            (cid, bid, i, (i - 1) * STOREY_M),
        )
    conn.execute(
        "INSERT INTO change_log (community_id, kind, ref) VALUES (%s, 'community', %s)",
        (cid, cid),
    )
