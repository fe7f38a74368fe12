#!/usr/bin/env python
"""Database work per reading on the write path at district size (issue 25, part 1).

A PostgreSQL cluster of the bench's own (tests/pgcluster.py) with
pg_stat_statements preloaded, two fresh plain-mode databases, the same
synthetic district feed into each, through the writer's real SQL (the COPY
into the staging table, then the move statement):

* ``upsert``: the writer as it was before issue 25, rollups upserted per
  reading in the same statement as the raw insert (that statement lives on
  as ``ingest.sql.FOLD_READINGS_PLAIN``, for bulk backfills);
* ``deferred``: the writer of today (``ingest.sql.MOVE_READINGS_PLAIN``: the raw
  insert and a few rows of ``rollup_pending`` per batch), plus the rollup job
  (``commtwin_refresh_rollups``) every ``--job-every`` simulated seconds, as
  the ingestor runs it (its final run, at shutdown, is not counted).

The feed: ``--devices`` devices with 1-3 metrics each (2 on average), a
random device per message at ``--rate`` readings/s of simulated time, in
batches of ``--batch`` messages. After ``--warm-s`` simulated seconds (indexes
filled), pg_stat_statements is reset and ``--measure-s`` simulated seconds
are measured: per reading, the shared buffers touched (hit + read), dirtied,
and WAL bytes, summed over the writer's statements and the job's. Prints JSON
lines (docs/CONTRIBUTING.md); the per-relation buffer counts go to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import psycopg  # noqa: E402

from commtwin import db  # noqa: E402
from ingest import sql  # noqa: E402
from ingest.copy_binary import readings_copy  # noqa: E402
from tests.pgcluster import TEST_SETTINGS, PgCluster  # noqa: E402

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
REFRESH = "SELECT count(*) FROM commtwin_refresh_rollups(%s, %s)"
# Buffers touched and dirtied, WAL bytes and execution time summed over the
# statements of this database that {} selects.
TOTALS = """
SELECT coalesce(sum(shared_blks_hit + shared_blks_read), 0)::float8,
       coalesce(sum(shared_blks_dirtied), 0)::float8,
       coalesce(sum(wal_bytes), 0)::float8,
       coalesce(sum(total_exec_time), 0)::float8
FROM pg_stat_statements
WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND ({})
"""
WRITER_STATEMENTS = "query ILIKE '%%ingest_stage_readings%%'"
STATEMENTS = TOTALS.format(f"{WRITER_STATEMENTS} OR query ILIKE '%%commtwin_refresh_rollups%%'")
BY_STATEMENT = """
SELECT calls, (shared_blks_hit + shared_blks_read)::bigint, wal_bytes::bigint,
       total_exec_time::bigint, left(regexp_replace(query, '\\s+', ' ', 'g'), 70)
FROM pg_stat_statements
WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
ORDER BY 2 DESC LIMIT 6
"""
RELATIONS = """
SELECT relname, sum(heap_blks_hit + heap_blks_read)::bigint,
       sum(coalesce(idx_blks_hit, 0) + coalesce(idx_blks_read, 0))::bigint
FROM pg_statio_user_tables
WHERE relname ~ '^(readings|rollup)' GROUP BY 1 ORDER BY 1
"""


def log(text: str) -> None:
    print(f"[bench_write_buffers] {text}", file=sys.stderr, flush=True)


def emit(metric: str, value: float, unit: str, ref: str) -> None:
    row = {"bench": "write_buffers", "metric": metric, "value": round(value, 3), "unit": unit}
    print(json.dumps({**row, "ref": ref}), flush=True)


class Feed:
    """Random devices, each with its metrics (1-3), strictly increasing ts per device."""

    def __init__(self, devices: int, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.devices = devices
        self.last_us = np.zeros(devices + 1, dtype=np.int64)

    def batch(self, messages: int, now_us: int) -> tuple[np.ndarray, ...]:
        dev = self.rng.integers(1, self.devices + 1, size=messages)
        dev = np.unique(dev)  # one message per device per batch (ts distinct per device)
        ts = np.maximum(now_us, self.last_us[dev] + 1)
        self.last_us[dev] = ts
        per = 1 + dev % 3
        rows_dev = np.repeat(dev, per)
        rows_ts = np.repeat(ts, per)
        starts = np.repeat(np.cumsum(per) - per, per)
        rows_metric = (np.arange(len(rows_dev)) - starts + 1).astype(np.int64)
        values = self.rng.normal(22.0, 2.0, size=len(rows_dev)).round(1)
        return rows_ts, rows_dev, rows_metric, values


def write_batch(conn: psycopg.Connection[Any], rows: tuple[np.ndarray, ...], move: str) -> int:
    """One batch through the writer's real SQL: COPY into the stage, then ``move``."""
    ts, dev, metric, value = rows
    with conn.transaction(), conn.cursor() as cur:
        with cur.copy(sql.COPY_STAGE) as copy:
            copy.write(readings_copy(ts.tolist(), dev.tolist(), metric.tolist(), value.tolist()))
        cur.execute(move).fetchall()
    return len(ts)


def run_variant(url: str, variant: str, a: argparse.Namespace) -> dict[str, Any]:
    db.upgrade(url, prefer="plain")
    feed = Feed(a.devices, a.seed)
    move = sql.FOLD_READINGS_PLAIN if variant == "upsert" else sql.MOVE_READINGS_PLAIN
    per_s = a.rate / 2.0  # messages per simulated second (2 metrics on average)
    step_s = a.batch / per_s
    # Inside one past hour (HH:05 on): a closed hour is recomputed once an hour,
    # which a few minutes' window would charge to its few minutes of readings.
    start = datetime.now(UTC).replace(minute=5, second=0, microsecond=0) - timedelta(hours=1)
    sim = 0.0
    next_job = a.job_every
    readings = 0
    measured_from: int | None = None
    wall = time.monotonic()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        conn.execute(sql.CREATE_STAGE)
        while sim < a.warm_s + a.measure_s:
            if measured_from is None and sim >= a.warm_s:
                conn.execute("SELECT pg_stat_statements_reset()")
                conn.execute("SELECT pg_stat_reset()")
                measured_from, wall = readings, time.monotonic()
            now_us = int(((start - EPOCH).total_seconds() + sim) * 1e6)
            readings += write_batch(conn, feed.batch(a.batch, now_us), move)
            sim += step_s
            if variant == "deferred" and sim >= next_job:
                next_job += a.job_every
                conn.execute(REFRESH, (False, start + timedelta(seconds=sim)))
        elapsed = time.monotonic() - wall
        conn.execute("SELECT pg_stat_force_next_flush()")
    time.sleep(1.0)
    with psycopg.connect(url, autocommit=True) as conn:
        touched, dirtied, wal, exec_ms = conn.execute(STATEMENTS).fetchone() or (0, 0, 0, 0)
        rels = conn.execute(RELATIONS).fetchall()
        statements = conn.execute(BY_STATEMENT).fetchall()
        if variant == "deferred":  # the run at shutdown, a one-off: not counted
            conn.execute(REFRESH, (True, start + timedelta(seconds=sim)))
        m1 = conn.execute("SELECT count(*), sum(n) FROM readings_1m").fetchone()
    n = readings - (measured_from or 0)
    log(f"{variant}: {n:,} readings measured in {elapsed:.1f} s; readings_1m rows/sum(n) {m1}")
    for calls, blocks, s_wal, ms, query in statements:
        log(
            f"  {variant} {calls} x {query!r}: {blocks / n:.3f} buffers, {s_wal / n:.0f} B WAL"
            f" per reading, {ms} ms"
        )
    for rel, heap, idx in rels:
        log(f"  {variant} {rel}: heap {heap / n:.3f}, index {idx / n:.3f} buffers per reading")
    return {"readings": n, "touched": touched / n, "dirtied": dirtied / n, "wal": wal / n,
            "exec_us": exec_ms * 1000 / n, "wall_s": elapsed}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--devices", type=int, default=400_000)
    parser.add_argument("--rate", type=float, default=25_000, help="readings per simulated s")
    parser.add_argument("--batch", type=int, default=1000, help="messages per batch")
    parser.add_argument("--warm-s", type=float, default=60, help="simulated seconds, unmeasured")
    parser.add_argument("--measure-s", type=float, default=120, help="simulated seconds")
    parser.add_argument("--job-every", type=float, default=5, help="simulated seconds")
    parser.add_argument("--variants", default="upsert,deferred")
    parser.add_argument("--seed", type=int, default=25)
    parser.add_argument("--shared-buffers", default="1GB")
    a = parser.parse_args()
    settings = (f"{TEST_SETTINGS} -c shared_preload_libraries=pg_stat_statements"
                " -c pg_stat_statements.track=all"
                f" -c shared_buffers={a.shared_buffers} -c track_io_timing=on")  # fmt: skip
    load = f"load avg {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    log(f"{a.devices:,} devices, {a.rate:,.0f} readings/s simulated, batches of {a.batch}; {load}")
    with PgCluster(settings=settings) as server:
        for variant in a.variants.split(","):
            r = run_variant(server.create_database(f"bench_wb_{variant}"), variant, a)
            load = f"load avg {os.getloadavg()[0]:.1f}"
            ref = (f"{variant}: {r['readings']:,} readings, {a.devices:,} devices, "
                   f"batches of {a.batch} messages, {load}")  # fmt: skip
            emit(f"{variant}_buffers_per_reading", r["touched"], "buffers", ref)
            emit(f"{variant}_dirtied_per_reading", r["dirtied"], "buffers", ref)
            emit(f"{variant}_wal_bytes_per_reading", r["wal"], "B", ref)
            emit(f"{variant}_db_exec_us_per_reading", r["exec_us"], "us", ref)
            emit(f"{variant}_readings_per_wall_s", r["readings"] / r["wall_s"], "readings/s",
                 f"report: one session, COPY + move (+ job), {load}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
