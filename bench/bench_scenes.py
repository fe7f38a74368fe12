#!/usr/bin/env python3
"""Scene trends through the HTTP API: 30 days of hourly rollups of a big community.

A scratch database (plain mode) gets ``readings_1h`` rows (the only table the
scene endpoints read) for 30 days of a community of 30 buildings, each with a
main meter, a PV inverter and 100 home meters, plus 6 parking lots, 12 EV
chargers and 2 gates: about 2.3 M rollup rows. ``commtwin api`` runs in its
own process (one worker). Measured, each a JSON line:

* ``energy_30d_miss_ms`` / ``energy_24h_miss_ms`` / ``energy_12mo_miss_ms``:
  the community's low-carbon trend computed (cache empty) — target ≤ 1,000 ms;
* ``building_30d_miss_p50_ms`` / ``_p95_ms``: one building with its 100 homes,
  a different building each time (each a miss) — target p95 ≤ 1,000 ms;
* ``traffic_24h_miss_ms``: the traffic trend computed;
* ``scene_hit_p95_ms``: polls answered from the cache — target p95 ≤ 20 ms;
* ``scene_304_p95_ms``: polls with a current ``If-None-Match``.

Options: ``--buildings N --homes N --days D``, ``--keep`` (re-use the data).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta

import httpx
import psycopg

from api.db import run_once
from api.queries.keys import create_key
from bench.bench_api_history import SERVER_URL, _db_url, _free_port, serve
from commtwin import db

DB_NAME = "commtwin_bench_scenes"
COMMUNITY = "bench"


def _log(message: str) -> None:
    print(f"[bench_scenes] {message}", file=sys.stderr, flush=True)


def prepare(url: str, buildings: int, homes: int, days: int) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        if conn.execute("SELECT to_regclass('storage_config')").fetchone() != (None,):
            done = conn.execute("SELECT value FROM storage_config WHERE key = 'bench_done'")
            if done.fetchone() == (f"{buildings}/{homes}/{days}",):
                _log("reusing the complete bench database")
                return
    db.upgrade(url, prefer="plain")
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    start = end - timedelta(days=days)
    square = json.dumps({"type": "Polygon", "coordinates": [[[0, 0], [30, 0], [30, 12], [0, 12]]]})
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("INSERT INTO communities (id, name, crs) VALUES (%s, 'B', 'EPSG:32651')",
                     (COMMUNITY,))  # fmt: skip
        conn.execute(
            "INSERT INTO metrics (name) SELECT unnest(%s::text[]) ON CONFLICT DO NOTHING",
            (
                [
                    "energy_kwh",
                    "export_kwh",
                    "occupancy",
                    "charging",
                    "sessions",
                    "entries",
                    "exits",
                ],
            ),
        )
        for b in range(buildings):
            bid = f"b{b:02d}"
            conn.execute(
                "INSERT INTO buildings (community_id, id, footprint, ground_z, roof_z)"
                " VALUES (%s, %s, %s, 0, 54)",
                (COMMUNITY, bid, square),
            )
            conn.execute(
                "INSERT INTO storeys (community_id, building_id, idx, floor_z, height)"
                " SELECT %s, %s, s, (s - 1) * 3.0, 3 FROM generate_series(1, 18) AS s",
                (COMMUNITY, bid),
            )
            devices = [(f"pm-{bid}", "power_meter", None), (f"pv-{bid}", "pv_inverter", None)]
            devices += [(f"home-{bid}-{h}", "home_meter", 1 + h % 18) for h in range(homes)]
            for did, kind, storey in devices:
                conn.execute(
                    "INSERT INTO devices (community_id, id, kind, building_id, storey_idx,"
                    " unit_id, online) VALUES (%s, %s, %s, %s, %s, %s, true)",
                    (COMMUNITY, did, kind, bid, storey or 1, did if storey else None),
                )
        outdoor = [(f"lot-{n}", "parking") for n in range(6)]
        outdoor += [(f"ev-{n}", "ev_charger") for n in range(12)]
        outdoor += [("gate-s", "gate"), ("gate-n", "gate")]
        for did, kind in outdoor:
            conn.execute(
                "INSERT INTO devices (community_id, id, kind, x, y, z, online)"
                " VALUES (%s, %s, %s, 0, 0, 0, true)",
                (COMMUNITY, did, kind),
            )
        counters = {
            "power_meter": ["energy_kwh"],
            "pv_inverter": ["energy_kwh", "export_kwh"],
            "home_meter": ["energy_kwh"],
            "ev_charger": ["sessions", "energy_kwh"],
            "gate": ["entries", "exits"],
        }
        t0 = time.monotonic()
        for kind, metrics in counters.items():
            for metric in metrics:
                # A counter growing 1-3 units an hour: last = base + hours * rate.
                conn.execute(
                    "INSERT INTO readings_1h (bucket, device_key, metric_key, n, v_sum, v_min,"
                    " v_max, last_ts, last_value)"
                    " SELECT h, d.key, m.key, 60, 60 * v, v - r, v, h + interval '59 minutes', v"
                    " FROM devices d, metrics m, generate_series(%(s)s::timestamptz,"
                    "   %(e)s::timestamptz - interval '1 hour', interval '1 hour') AS h,"
                    " LATERAL (SELECT 1 + d.key %% 3 AS r) rr,"
                    " LATERAL (SELECT 1000 + r * extract(epoch FROM h - %(s)s) / 3600 AS v) vv"
                    " WHERE d.community_id = %(c)s AND d.kind = %(k)s AND m.name = %(m)s",
                    {"s": start, "e": end, "c": COMMUNITY, "k": kind, "m": metric},
                )
        for kind, metric in (("parking", "occupancy"), ("ev_charger", "charging")):
            conn.execute(
                "INSERT INTO readings_1h (bucket, device_key, metric_key, n, v_sum, v_min,"
                " v_max, last_ts, last_value)"
                " SELECT h, d.key, m.key, 12, 6, 0, 1, h + interval '55 minutes', 0.5"
                " FROM devices d, metrics m, generate_series(%(s)s::timestamptz,"
                "   %(e)s::timestamptz - interval '1 hour', interval '1 hour') AS h"
                " WHERE d.community_id = %(c)s AND d.kind = %(k)s AND m.name = %(m)s",
                {"s": start, "e": end, "c": COMMUNITY, "k": kind, "m": metric},
            )
        conn.execute("VACUUM ANALYZE readings_1h")
        conn.execute("VACUUM ANALYZE devices")
        rows = conn.execute("SELECT count(*) FROM readings_1h").fetchone()
        _log(f"{rows} rollup rows in {time.monotonic() - t0:.0f} s")
        conn.execute(
            "INSERT INTO storage_config VALUES ('bench_done', %s)",
            (f"{buildings}/{homes}/{days}",),
        )


def _timed(client: httpx.Client, url: str, **headers: str) -> tuple[float, httpx.Response]:
    t0 = time.perf_counter()
    r = client.get(url, headers=headers)
    ms = (time.perf_counter() - t0) * 1000
    if r.status_code not in (200, 304):
        raise RuntimeError(f"{url}: {r.status_code} {r.text[:200]}")
    return ms, r


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[94]


def run_requests(port: int, key: str, buildings: int) -> list[dict[str, object]]:
    base = f"http://127.0.0.1:{port}/v1/communities/{COMMUNITY}"
    out: list[dict[str, object]] = []
    load = open("/proc/loadavg").read().split()[0]  # noqa: SIM115 - one read

    def line(metric: str, value: float, ref: str) -> None:
        shown = f"{ref} (load avg {load} on 2 cores)" if ref else f"report (load avg {load})"
        out.append({"bench": "scenes", "metric": metric, "value": round(value, 1), "unit": "ms",
                    "ref": shown})  # fmt: skip

    with httpx.Client(headers={"Authorization": f"Bearer {key}"}, timeout=120) as c:
        for span in ("24h", "30d", "12mo"):
            ms, _ = _timed(c, f"{base}/scenes/energy?span={span}")
            line(f"energy_{span}_miss_ms", ms, "<= 1000")
        ms, _ = _timed(c, f"{base}/scenes/traffic?span=24h")
        line("traffic_24h_miss_ms", ms, "<= 1000")
        misses = [_timed(c, f"{base}/buildings/b{b:02d}/scenes/energy?span=30d")[0]
                  for b in range(buildings)]  # fmt: skip
        line("building_30d_miss_p50_ms", statistics.median(misses), "")
        line("building_30d_miss_p95_ms", _p95(misses), "<= 1000")
        hits = [_timed(c, f"{base}/scenes/energy?span=30d")[0] for _ in range(200)]
        line("scene_hit_p95_ms", _p95(hits), "<= 20")
        _, first = _timed(c, f"{base}/scenes/traffic?span=24h")
        etag = first.headers["etag"]
        revalidated = [
            _timed(c, f"{base}/scenes/traffic?span=24h", **{"If-None-Match": etag})[0]
            for _ in range(200)
        ]
        line("scene_304_p95_ms", _p95(revalidated), "<= 20")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--buildings", type=int, default=30)
    parser.add_argument("--homes", type=int, default=100)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database")
    args = parser.parse_args()
    url = _db_url(DB_NAME)
    with psycopg.connect(SERVER_URL, autocommit=True) as admin:
        found = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB_NAME,))
        if found.fetchone() is None:
            admin.execute(f'CREATE DATABASE "{DB_NAME}"'.encode())
    try:
        prepare(url, args.buildings, args.homes, args.days)
        key = run_once(url, lambda c: create_key(c, ["cockpit:read"], [COMMUNITY], "bench")).key
        port = _free_port()
        proc = serve(url, port)
        try:
            results = run_requests(port, key, args.buildings)
        finally:
            proc.terminate()
            proc.wait(timeout=15)
    finally:
        if not args.keep:
            with psycopg.connect(SERVER_URL, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)'.encode())
    for result in results:
        print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
