#!/usr/bin/env python3
"""Elderly care: the daily check per batch and tick, and the hourly baseline job.

Measured, each a JSON line:

* ``check_readings_per_s``: :class:`twin.rules.care.CareEngine` evaluating
  batches of 10,000 readings of 5,000 checked homes (3 devices each, water
  counters included) — target ≥ 500,000 readings/s, one core;
* ``check_tick_ms``: its clock tick over those homes — target ≤ 10 ms;
* ``baseline_score_ms``: :mod:`twin.rules.care_baseline` scoring 5,000 meters'
  hour against 14 days (usage from rollups, profile, robust z) — target
  ≤ 200 ms;
* ``baseline_job_ms``: the ingest job itself (``CareStage.baseline``: SQL on
  the ``readings_1h`` buckets the scores need + scoring + alarms) on the
  demo's generated community (about 600 care-home meters, 15 days of hourly
  rollups, plain mode) — it runs every 5 minutes in the ingestor's ticker:
  target ≤ 2,000 ms.
"""

from __future__ import annotations

import io
import json
import statistics
import sys
import time
from datetime import UTC, datetime

import numpy as np
import psycopg

from api.community_store import import_community
from bench.bench_api_history import SERVER_URL, _db_url
from commtwin import db
from ingest.policy import TwinOptions
from ingest.twin_wiring import build_twin
from simulators.community_gen import CommunitySpec, generate_community
from twin.community.file import community_from_json
from twin.rules import care_baseline as cb
from twin.rules.care import CareConfig, CareDevice, CareEngine, CareHome
from twin.rules.readings import ReadingBatch

HOMES = 5_000
T0 = 1_800_000_000.0
DB_NAME = "commtwin_bench_care"


def emit(metric: str, value: float, unit: str, ref: str) -> None:
    line = {"bench": "care", "metric": metric, "value": round(value, 2), "unit": unit, "ref": ref}
    print(json.dumps(line), flush=True)


def bench_check(rng: np.random.Generator) -> None:
    homes = [CareHome("bench", "b", f"u{i}", f"m{i}") for i in range(HOMES)]
    kinds = ("water_meter", "motion", "door")
    devices = [CareDevice(3 * i + j + 1, i, kinds[j]) for i in range(HOMES) for j in range(3)]
    metrics = {1: "flow_lpm", 2: "water_m3", 3: "motion", 4: "open", 5: "power_kw"}
    engine = CareEngine(CareConfig(day_start_h=0, day_end_h=24), homes, devices, metrics)
    n, rounds = 10_000, 60
    batches = []
    for r in range(rounds):
        dev = rng.integers(1, 3 * HOMES + 1, n)
        kind = (dev - 1) % 3
        metric = np.where(kind == 0, rng.integers(1, 3, n), np.where(kind == 1, 3, 4))
        value = np.where(metric == 2, 100.0 + r * 0.001, (rng.random(n) < 0.05).astype(float))
        batches.append(ReadingBatch(dev, metric, T0 + r * 10 + rng.random(n), value))
    start = time.perf_counter()
    for b in batches:
        engine.apply(engine.evaluate(b))
    elapsed = time.perf_counter() - start
    emit("check_readings_per_s", n * rounds / elapsed, "readings/s", ">= 500,000")
    ticks = []
    for k in range(20):
        t = time.perf_counter()
        engine.apply(engine.tick(T0 + 6 * 3600 + k))
        ticks.append((time.perf_counter() - t) * 1000)
    emit("check_tick_ms", statistics.median(ticks), "ms", "<= 10")


def bench_score(rng: np.random.Generator) -> None:
    hours = 24 * 15 + 1
    use = rng.gamma(2.0, 0.01, (HOMES, hours))
    levels = 100 + np.cumsum(use, axis=1)
    series, hour = np.divmod(np.arange(HOMES * hours), hours)
    runs = []
    for _ in range(5):
        t = time.perf_counter()
        usage = cb.hourly_usage(series, hour, levels.ravel(), (HOMES, hours))
        value, hist = cb.hour_profile(usage, hours - 1)
        cb.robust_scores(value, hist, min_scale=0.005)
        runs.append((time.perf_counter() - t) * 1000)
    emit("baseline_score_ms", statistics.median(runs), "ms", "<= 200")


def bench_job(rng: np.random.Generator) -> None:
    url = _db_url(DB_NAME)
    with psycopg.connect(SERVER_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)'.encode())
        admin.execute(f'CREATE DATABASE "{DB_NAME}"'.encode())
    try:
        db.upgrade(url, prefer="plain")
        with psycopg.connect(url, autocommit=True) as conn:
            import_community(conn, community_from_json(generate_community(CommunitySpec())))
            conn.execute("INSERT INTO metrics (name) VALUES ('water_m3'), ('energy_kwh')")
            keys = dict(conn.execute("SELECT name, key FROM metrics").fetchall())
            meters = conn.execute(
                "SELECT key, kind FROM devices WHERE kind IN ('water_meter', 'home_meter')"
            ).fetchall()
            now = time.time()
            last_hour = int(now // 3600) - 1
            hours = np.arange(last_hour - 24 * 15, last_hour + 1)
            buf = io.StringIO()
            for key, kind in meters:
                metric = keys["water_m3" if kind == "water_meter" else "energy_kwh"]
                use = rng.gamma(2.0, 0.01 if kind == "water_meter" else 0.2, hours.size)
                level = 100 + np.cumsum(use)
                for h, v in zip(hours.tolist(), level.tolist(), strict=True):
                    bucket = datetime.fromtimestamp(h * 3600, UTC).isoformat()
                    last = datetime.fromtimestamp(h * 3600 + 3000, UTC).isoformat()
                    buf.write(f"{bucket}\t{key}\t{metric}\t12\t{v * 12}\t{v}\t{v}\t{last}\t{v}\n")
            with (
                conn.cursor() as cur,
                cur.copy(
                    "COPY readings_1h (bucket, device_key, metric_key, n, v_sum, v_min, v_max,"
                    " last_ts, last_value) FROM STDIN"
                ) as copy,
            ):
                copy.write(buf.getvalue())
            care = build_twin(TwinOptions()).care
            assert care is not None
            runs = []
            for _ in range(3):
                t = time.perf_counter()
                care.baseline(conn, now)
                runs.append((time.perf_counter() - t) * 1000)
        emit(
            "baseline_job_ms",
            statistics.median(runs),
            "ms",
            f"<= 2,000 ({len(meters)} meters, {hours.size} hours)",
        )
    finally:
        with psycopg.connect(SERVER_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)'.encode())


def main() -> int:
    rng = np.random.default_rng(13)
    bench_check(rng)
    bench_score(rng)
    bench_job(rng)
    return 0


if __name__ == "__main__":
    sys.exit(main())
