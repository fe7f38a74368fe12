#!/usr/bin/env python3
"""History latency through the HTTP API over 30 days of 1-minute data of 1,000 devices.

A scratch database (plain mode, daily partitions for the 30 days) gets one
``temperature`` reading a minute from each of 1,000 devices in 10 buildings x
10 storeys x 10 devices: 43.2 M raw rows, the same in ``readings_1m`` and
720 k in ``readings_1h``, filled consistently from the raw rows as the ingest
writer keeps them. ``commtwin api`` runs in its own process (one worker) and
this process sends sequential requests for random devices and storeys:

* ``device_30d_1h``: one device, 30 days, hourly avg (target p95 <= 100 ms);
* ``storey_30d_1h``: one storey (10 devices), 30 days, hourly avg (same target);
* for context: all 1,000 devices, 30 days, daily max (720 k rollup rows);
  one device, 1 day in 5-minute buckets (readings_1m); one hour of raw points.

Options: ``--devices N --days D`` to scale down, ``--keep`` to keep the
database for a re-run (it is reused when complete), ``--requests N``.
Generating the full data set takes several minutes of both cores.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg

from api.db import run_once
from api.queries.keys import create_key
from commtwin import db

ROOT = Path(__file__).resolve().parent.parent
SERVER_URL = os.environ.get(
    "COMMTWIN_BENCH_SERVER_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
DB_NAME = "commtwin_bench_api_history"
COMMUNITY = "bench"
PER_STOREY = 10
STOREYS = 10


def _db_url(name: str) -> str:
    return urlunsplit(urlsplit(SERVER_URL)._replace(path="/" + name))


def _log(message: str) -> None:
    print(f"[bench_api_history] {message}", file=sys.stderr, flush=True)


def prepare(url: str, devices: int, days: int) -> datetime:
    """Create and fill the scratch database unless a complete one is there."""
    with psycopg.connect(url, autocommit=True) as conn:
        if conn.execute("SELECT to_regclass('storage_config')").fetchone() != (None,):
            marks = dict(
                conn.execute(
                    "SELECT key, value FROM storage_config WHERE key IN ('bench_done', 'bench_end')"
                ).fetchall()
            )
            if marks.get("bench_done") == f"{devices}/{days}":
                _log("reusing the complete bench database")
                return datetime.fromisoformat(str(marks["bench_end"]))
    db.upgrade(url, prefer="plain")
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    start = end - timedelta(days=days)
    buildings = max(1, devices // (STOREYS * PER_STOREY))
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO communities (id, name, crs) VALUES (%s, 'Bench', 'EPSG:32651')",
            (COMMUNITY,),
        )
        conn.execute("INSERT INTO metrics (name) VALUES ('temperature') ON CONFLICT DO NOTHING")
        for b in range(buildings):
            conn.execute(
                "INSERT INTO buildings (community_id, id, footprint, ground_z, roof_z)"
                " VALUES (%s, %s, %s, 0, %s)",
                (
                    COMMUNITY,
                    f"b{b}",
                    json.dumps(
                        {
                            "type": "Polygon",
                            "coordinates": [[[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]]],
                        }
                    ),
                    STOREYS * 3.0,
                ),
            )
            conn.execute(
                "INSERT INTO storeys (community_id, building_id, idx, floor_z, height)"
                " SELECT %s, %s, s, (s - 1) * 3.0, 3 FROM generate_series(1, %s) AS s",
                (COMMUNITY, f"b{b}", STOREYS),
            )
        conn.execute(
            "INSERT INTO devices (community_id, id, kind, metrics, building_id, storey_idx, online)"
            " SELECT %(c)s, 'env-' || i, 'env', '{temperature}',"
            " 'b' || ((i / %(per_building)s) %% %(buildings)s), 1 + (i / %(per)s) %% %(storeys)s,"
            " true FROM generate_series(0, %(n)s - 1) AS i",
            {
                "c": COMMUNITY,
                "per_building": STOREYS * PER_STOREY,
                "buildings": buildings,
                "per": PER_STOREY,
                "storeys": STOREYS,
                "n": devices,
            },
        )
        metric = conn.execute("SELECT key FROM metrics WHERE name = 'temperature'").fetchone()
        assert metric is not None
        for d in range(days):
            day = start + timedelta(days=d)
            conn.execute("SELECT commtwin_ensure_partition('readings', %s::date)", (day.date(),))
            t0 = time.monotonic()
            params = {"lo": day, "hi": day + timedelta(days=1), "m": metric[0], "c": COMMUNITY}
            # Device-major order keeps the primary-key index appends sequential.
            conn.execute(
                "INSERT INTO readings (ts, device_key, metric_key, value)"
                " SELECT ts, d.key, %(m)s,"
                " round((20 + 5 * sin(extract(epoch FROM ts) / 3600.0 + d.key)"
                "        + random())::numeric, 2)::float8"
                " FROM devices d, generate_series(%(lo)s::timestamptz,"
                "   %(hi)s::timestamptz - interval '1 minute', interval '1 minute') AS ts"
                " WHERE d.community_id = %(c)s ORDER BY d.key, ts",
                params,
            )
            conn.execute(
                "INSERT INTO readings_1m SELECT ts, device_key, metric_key, 1, value, value,"
                " value, ts, value FROM readings WHERE ts >= %(lo)s AND ts < %(hi)s"
                " ORDER BY device_key, metric_key, ts",
                params,
            )
            conn.execute(
                "INSERT INTO readings_1h SELECT date_bin('1 hour', ts, '1970-01-01+00'),"
                " device_key, metric_key, count(*), sum(value), min(value), max(value), max(ts),"
                " (array_agg(value ORDER BY ts DESC))[1]"
                " FROM readings WHERE ts >= %(lo)s AND ts < %(hi)s GROUP BY 1, 2, 3",
                params,
            )
            _log(f"day {d + 1}/{days} loaded in {time.monotonic() - t0:.1f} s")
        conn.execute("VACUUM ANALYZE readings")
        conn.execute("VACUUM ANALYZE readings_1m")
        conn.execute("VACUUM ANALYZE readings_1h")
        conn.execute("VACUUM ANALYZE devices")
        conn.execute(
            "INSERT INTO storage_config VALUES ('bench_done', %s), ('bench_end', %s)",
            (f"{devices}/{days}", end.isoformat()),
        )
    return end


def serve(url: str, port: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMMTWIN_")}
    env |= {"COMMTWIN_DATABASE_URL": url, "COMMTWIN_LOG_LEVEL": "WARNING"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "commtwin",
            "api",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--rate",
            "100000",
            "--burst",
            "100000",
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.1)
    proc.terminate()
    raise RuntimeError("commtwin api did not become ready")


def measure(make_request: Callable[[], httpx.Response], n: int) -> list[float]:
    for _ in range(10):  # warm-up: connections, prepared plans
        make_request()
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        response = make_request()
        times.append((time.perf_counter() - t0) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"{response.status_code}: {response.text[:200]}")
    return times


def _p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = parser.parse_args()
    url = _db_url(DB_NAME)
    with psycopg.connect(SERVER_URL, autocommit=True) as admin:
        if (
            admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB_NAME,)).fetchone()
            is None
        ):
            admin.execute(f'CREATE DATABASE "{DB_NAME}"'.encode())
    try:
        t0 = time.monotonic()
        end = prepare(url, args.devices, args.days)
        _log(f"data ready in {time.monotonic() - t0:.0f} s")
        key = run_once(url, lambda c: create_key(c, ["maintainer"], [COMMUNITY], "bench")).key
        port = _free_port()
        proc = serve(url, port)
        try:
            results = run_requests(port, key, end, args)
        finally:
            proc.terminate()
            proc.wait(timeout=15)
    finally:
        if not args.keep:
            with psycopg.connect(SERVER_URL, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)'.encode())
    for line in results:
        print(json.dumps(line), flush=True)
    return 0


def run_requests(
    port: int, key: str, end: datetime, args: argparse.Namespace
) -> list[dict[str, object]]:
    rng = random.Random(7)
    buildings = max(1, args.devices // (STOREYS * PER_STOREY))
    start30 = (end - timedelta(days=args.days)).isoformat()
    day_ago = (end - timedelta(days=1)).isoformat()
    hour_ago = (end - timedelta(hours=1)).isoformat()
    base = f"http://127.0.0.1:{port}/v1/communities/{COMMUNITY}"
    scenarios = {
        "device_30d_1h": lambda c: c.get(
            f"{base}/devices/env-{rng.randrange(args.devices)}/history",
            params={
                "metric": "temperature",
                "from": start30,
                "to": end.isoformat(),
                "bucket": "1h",
                "agg": "avg",
            },
        ),
        "storey_30d_1h": lambda c: c.get(
            f"{base}/history",
            params={
                "metric": "temperature",
                "building": f"b{rng.randrange(buildings)}",
                "storey": str(1 + rng.randrange(STOREYS)),
                "from": start30,
                "to": end.isoformat(),
                "bucket": "1h",
                "agg": "avg",
            },
        ),
        "community_30d_1d": lambda c: c.get(
            f"{base}/history",
            params={
                "metric": "temperature",
                "from": start30,
                "to": end.isoformat(),
                "bucket": "1d",
                "agg": "max",
            },
        ),
        "device_1d_5m": lambda c: c.get(
            f"{base}/devices/env-{rng.randrange(args.devices)}/history",
            params={
                "metric": "temperature",
                "from": day_ago,
                "to": end.isoformat(),
                "bucket": "5m",
                "agg": "max",
            },
        ),
        "device_1h_raw": lambda c: c.get(
            f"{base}/devices/env-{rng.randrange(args.devices)}/history",
            params={"metric": "temperature", "from": hour_ago, "to": end.isoformat()},
        ),
    }
    targets = {"device_30d_1h": "<= 100", "storey_30d_1h": "<= 100"}
    lines: list[dict[str, object]] = []
    with httpx.Client(headers={"X-API-Key": key}, timeout=30) as client:
        for name, call in scenarios.items():
            times = measure(lambda call=call: call(client), args.requests)
            _log(f"{name}: p50 {_p(times, 50):.1f} ms, p95 {_p(times, 95):.1f} ms")
            for q in (50, 95):
                lines.append(
                    {
                        "bench": "api_history",
                        "metric": f"{name}_p{q}",
                        "value": round(_p(times, q), 2),
                        "unit": "ms",
                        "ref": targets.get(name, "") if q == 95 else "",
                    }
                )
    return lines


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


if __name__ == "__main__":
    sys.exit(main())
