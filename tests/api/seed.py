"""Seed data for the API tests, written with plain SQL.

Two communities (``apitest-a`` with two buildings, ``apitest-b``), devices in
every placement state, readings over three days in the raw table with the
rollups filled from them exactly as the ingest writer keeps them, alarms in
every state, dead letters, and one API key per role.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg
from psycopg import sql

from api.db import run_once
from api.queries.keys import create_key

A = "apitest-a"
B = "apitest-b"
CRS = "+proj=tmerc +lat_0=30.27 +lon_0=120.15 +k=1 +x_0=0 +y_0=0 +ellps=WGS84 +units=m +no_defs"
OFFSET = (100.0, 200.0, 0.0)
DAYS = 3
ENV_STEP_S = 20  # env-a2 temperature: one reading every 20 s (3 per 1-minute rollup)


def env_value(i: int) -> float:
    """The i-th env-a2 temperature (whole numbers keep sums exact in any order)."""
    return float((i * 7) % 50)


def smoke_value(i: int) -> float:
    """The i-th smoke-a1 temperature, one a minute."""
    return float(20 + i % 5)


@dataclass(frozen=True)
class Seed:
    start: datetime  # first reading (an hour boundary)
    end: datetime  # after the last reading
    keys: dict[str, str]  # role -> key text
    alarm_active: int  # active_unack critical on smoke-a1 (b1 storey 1)
    alarm_acked: int
    alarm_cleared: int
    alarm_b: int


ROLES: dict[str, tuple[list[str], list[str]]] = {
    "admin": (["admin"], []),
    "admin_a": (["admin"], [A]),
    "reader_a": (["cockpit:read"], [A]),
    "reader_all": (["cockpit:read"], []),
    "maintainer_a": (["maintainer"], [A]),
    "incidents_a": (["incidents:write"], [A]),
    "maintainer_b": (["maintainer"], [B]),
}


# A 50 m footprint (GeoJSON), for a building or a grid.
SQUARE = json.dumps({"type": "Polygon", "coordinates": [[[0, 0], [50, 0], [50, 50], [0, 0]]]})


def square_building(conn: psycopg.Connection[tuple[object, ...]], community: str) -> None:
    """A community (its name is its id) with one building ``b1`` on :data:`SQUARE`, 30 m tall."""
    conn.execute(
        "INSERT INTO communities (id, name, crs) VALUES (%s, %s, 'EPSG:7415')",
        (community, community),
    )
    conn.execute(
        "INSERT INTO buildings (community_id, id, name, footprint, ground_z, roof_z)"
        " VALUES (%s, 'b1', 'b1', %s, 0, 30)",
        (community, SQUARE),
    )


def seed(url: str) -> Seed:
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=DAYS)
    with psycopg.connect(url, autocommit=True) as conn, conn.transaction():
        _model(conn)
        keys = _device_keys(conn)
        _readings(conn, keys, start)
        alarms = _alarms(conn, start)
        _dead_letters(conn)
    api_keys = {
        role: run_once(url, lambda c, s=scopes, cs=comms, r=role: create_key(c, s, cs, r)).key
        for role, (scopes, comms) in ROLES.items()
    }
    return Seed(start, start + timedelta(days=DAYS), api_keys, *alarms)


def _model(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    for cid, name in ((A, "Alpha 社区"), (B, "Beta")):
        conn.execute(
            "INSERT INTO communities (id, name, crs, offset_x, offset_y, offset_z)"
            " VALUES (%s, %s, %s, %s, %s, %s)",
            (cid, name, CRS, *OFFSET),
        )
    square = {"type": "Polygon", "coordinates": [[[0, 0], [30, 0], [30, 12], [0, 12], [0, 0]]]}
    twin = {
        "type": "MultiPolygon",
        "coordinates": [
            [[[50, 0], [60, 0], [60, 10], [50, 10], [50, 0]]],
            [[[70, 0], [80, 0], [80, 10], [70, 10], [70, 0]]],
        ],
    }
    for cid, bid, fp, roof in (
        (A, "b1", square, 9.0),
        (A, "b2", twin, 6.0),
        (B, "b1", square, 3.0),
    ):
        conn.execute(
            "INSERT INTO buildings (community_id, id, name, footprint, ground_z, roof_z)"
            " VALUES (%s, %s, %s, %s, 0, %s)",
            (cid, bid, f"{bid} 幢", json.dumps(fp), roof),
        )
    storeys = [(A, "b1", -1, -3.0), (A, "b1", 1, 0.0), (A, "b1", 2, 3.0), (A, "b1", 3, 6.0)]
    storeys += [(A, "b2", 1, 0.0), (A, "b2", 2, 3.0), (B, "b1", 1, 0.0)]
    for cid, bid, idx, floor in storeys:
        conn.execute(
            "INSERT INTO storeys (community_id, building_id, idx, name, floor_z, height)"
            " VALUES (%s, %s, %s, %s, %s, 3)",
            (cid, bid, idx, f"F{idx}", floor),
        )
    for uid, idx in (("1-101", 1), ("1-102", 1), ("1-201", 2)):
        conn.execute(
            "INSERT INTO units (community_id, building_id, id, storey_idx, name)"
            " VALUES (%s, 'b1', %s, %s, %s)",
            (A, uid, idx, uid[-3:]),
        )
    devices = [
        # community, id, kind, metrics, building, storey, x, online
        (A, "smoke-a1", "smoke", ["smoke", "temperature"], "b1", 1, None, True),
        (A, "env-a2", "env", ["temperature", "humidity"], "b1", 2, None, False),
        (A, "env-a2b", "env", ["temperature"], "b1", 2, None, True),
        (A, "meter-a1", "power_meter", ["power_kw"], "b1", None, None, True),
        (A, "parking-1", "parking", ["occupancy"], None, None, 10.0, True),
        (A, "mystery-1", None, [], None, None, None, None),
        (A, "env-b2", "env", ["temperature"], "b2", 1, None, True),
        (B, "env-b1", "env", ["temperature"], "b1", 1, None, True),
    ]
    for cid, did, kind, metrics, bid, idx, x, online in devices:
        conn.execute(
            "INSERT INTO devices (community_id, id, kind, metrics, building_id, storey_idx,"
            " x, y, z, online, modelled) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, true)",
            (
                cid,
                did,
                kind,
                metrics,
                bid,
                idx,
                x,
                None if x is None else -5.0,
                None if x is None else 0.0,
                online,
            ),
        )
    conn.execute(
        "INSERT INTO grids (community_id, id, name, polygon, worker, worker_name)"
        " VALUES (%s, 'g1', '第一网格', %s, 'w-zhang', '张伟')",
        (A, json.dumps(square)),
    )
    conn.execute(
        "UPDATE devices SET grid_id = 'g1'"
        " WHERE community_id = %s AND id IN ('smoke-a1', 'env-a2')",
        (A,),
    )
    conn.execute(
        "INSERT INTO metrics (name) VALUES ('temperature'), ('humidity'), ('power_kw'),"
        " ('smoke'), ('occupancy') ON CONFLICT (name) DO NOTHING"
    )


def _device_keys(conn: psycopg.Connection[tuple[object, ...]]) -> dict[str, int]:
    rows = conn.execute(
        "SELECT community_id || '/' || id, key FROM devices WHERE community_id IN (%s, %s)",
        (A, B),
    ).fetchall()
    return {str(r[0]): int(str(r[1])) for r in rows}


def _readings(
    conn: psycopg.Connection[tuple[object, ...]], keys: dict[str, int], start: datetime
) -> None:
    def series(device: str, metric: str, step_s: int, value: str) -> None:
        count = DAYS * 86400 // step_s
        conn.execute(
            sql.SQL(
                "INSERT INTO readings (ts, device_key, metric_key, value)"
                " SELECT %(start)s + make_interval(secs => i * %(step)s), %(dev)s,"
                " (SELECT key FROM metrics WHERE name = %(metric)s), {value}"
                " FROM generate_series(0, %(n)s - 1) AS i"
            ).format(value=sql.SQL(value)),  # type: ignore[arg-type]  # fixed test text
            {"start": start, "step": step_s, "dev": keys[device], "metric": metric, "n": count},
        )

    series(f"{A}/env-a2", "temperature", ENV_STEP_S, "((i * 7) %% 50)::float8")
    series(f"{A}/env-a2b", "temperature", 60, "(i %% 3)::float8")
    series(f"{A}/smoke-a1", "temperature", 60, "(20 + i %% 5)::float8")
    series(f"{A}/meter-a1", "power_kw", 60, "(i %% 10)::float8")
    series(f"{B}/env-b1", "temperature", 60, "99::float8")
    for table, width in (("readings_1m", "1 minute"), ("readings_1h", "1 hour")):
        conn.execute(
            sql.SQL(
                "INSERT INTO {table}"
                " SELECT date_bin(%(w)s::interval, ts, '1970-01-01 00:00:00+00'), device_key,"
                " metric_key, count(*), sum(value), min(value), max(value), max(ts),"
                " (array_agg(value ORDER BY ts DESC))[1]"
                " FROM readings WHERE device_key = ANY(%(keys)s) GROUP BY 1, 2, 3"
            ).format(table=sql.Identifier(table)),
            {"w": width, "keys": list(keys.values())},
        )


def _alarms(conn: psycopg.Connection[tuple[object, ...]], start: datetime) -> tuple[int, ...]:
    rows = [
        (A, "smoke-a1", "smoke", "critical", "active_unack", "b1", 1),
        (A, "meter-a1", "power_high", "warning", "active_ack", "b1", None),
        (A, "env-a2", "temp_high", "major", "cleared", "b1", 2),
        (B, "env-b1", "temp_high", "minor", "active_unack", "b1", 1),
    ]
    ids = []
    for i, (cid, dev, rule, sev, state, bid, idx) in enumerate(rows):
        row = conn.execute(
            "INSERT INTO alarms (community_id, device_id, rule_id, severity, state, message,"
            " value, raised_at, updated_at, building_id, storey_idx)"
            " VALUES (%s, %s, %s, %s, %s, %s, 1.0, %s, %s, %s, %s) RETURNING id",
            (
                cid,
                dev,
                rule,
                sev,
                state,
                f"{rule} on {dev}",
                start + timedelta(hours=i),
                start + timedelta(hours=i),
                bid,
                idx,
            ),
        ).fetchone()
        assert row is not None
        ids.append(int(str(row[0])))
    return tuple(ids)


def _dead_letters(conn: psycopg.Connection[tuple[object, ...]]) -> None:
    letters = [
        (A, "commtwin/v1/apitest-a/x/telemetry", b"{not json", "bad_json"),
        (A, "commtwin/v1/apitest-a/y/telemetry", b"\xff\xfe" + b"x" * 5000, "bad_encoding"),
        (B, "commtwin/v1/apitest-b/z/telemetry", b"{}", "bad_json"),
    ]
    for cid, topic, payload, reason in letters:
        conn.execute(
            "INSERT INTO dead_letters (topic, payload, payload_sha256, reason, detail,"
            " community_id) VALUES (%s, %s, sha256(%s), %s, 'test', %s)",
            (topic, payload, payload, reason, cid),
        )
