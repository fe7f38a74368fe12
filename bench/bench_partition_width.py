#!/usr/bin/env python
"""The writer's work per reading late in a day: day partitions against hourly ones.

Issue 25, part 1 (migration 0092). A PostgreSQL of the bench's own on the
machine's server defaults (Debian: ``shared_buffers`` 128 MB, ``max_wal_size``
1 GB, full-page writes on) with pg_stat_statements; for each width (``24``
and ``1`` hours, ``commtwin db partitions``) a fresh plain-mode database:

1. the ``--span-h`` hours of today before ``--feed-at`` (default: from
   00:00 to 22:00) are filled with ``--prefill`` readings of the district's
   series (``--devices`` devices, 1-3 metrics each), in key order as a bulk
   load would write them: the day so far;
2. the district feed of bench_write_buffers (random devices, batches of
   ``--batch`` messages, the writer's real COPY + move statement) runs from
   ``--feed-at`` for ``--warm-s`` simulated seconds, then ``--measure-s`` measured:
   shared buffers touched and dirtied, WAL bytes and execution time per
   reading, summed over the writer's statements.

With day partitions the feed writes into the partition that holds the day so
far; with hourly ones into the hour's (``--feed-at 22:55 --span-h 0.9167``:
the hour's partition holds the whole prefill). Prints JSON lines
(docs/CONTRIBUTING.md).

The rollup job reads readings by time (BRIN), whatever the raw width, but
writes ``readings_1m``, whose partitions are days: each series' row of a
minute goes to the end of its own key range, as a reading does. With
``--job-every S`` the job runs every S simulated seconds during the feed
(its cost reported per reading apart from the writer's), and
``--rollup-prefill N`` first fills today's ``readings_1m`` partition with
N rows of the day so far, in key order.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from bench.bench_write_buffers import (  # noqa: E402
    EPOCH,
    TOTALS,
    WRITER_STATEMENTS,
    Feed,
    write_batch,
)
from commtwin import db  # noqa: E402
from ingest import sql  # noqa: E402
from tests.pgcluster import PgCluster  # noqa: E402

# The machine's own server runs Debian's defaults; only what the bench needs
# to see (pg_stat_statements, I/O timing) is added.
SETTINGS = (
    "-c max_connections=50 -c shared_buffers=128MB -c max_wal_size=1GB"
    " -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all"
    " -c track_io_timing=on"
)
# Every series gets the same share of the day so far, at even steps: the
# rows a partition holds by the feed's start, in the key order of a bulk load.
PREFILL = """
INSERT INTO readings (ts, device_key, metric_key, value)
SELECT %(day)s + (s.i * %(step)s) * interval '1 second', d, m, 20.0
FROM generate_series(1, %(devices)s) d,
     generate_series(1, 1 + d %% 3) m,
     generate_series(0, %(per)s - 1) s(i)
ORDER BY d, m, s.i
"""
PREFILL_1M = """
INSERT INTO readings_1m (bucket, device_key, metric_key, n, v_sum, v_min, v_max, last_ts,
                         last_value)
SELECT b, d, m, 1, 20.0, 20.0, 20.0, b, 20.0
FROM generate_series(1, %(devices)s) d,
     generate_series(1, 1 + d %% 3) m,
     generate_series(0, %(per)s - 1) s(i),
     LATERAL (SELECT date_trunc('minute', %(day)s + (s.i * %(step)s) * interval '1 second') AS b) x
ORDER BY d, m, s.i
"""
# No grace: the simulated clock runs ahead of the wall clock the job's quiet
# rule reads, so with one a minute would never be quiet in time.
JOB = "SELECT count(*) FROM commtwin_refresh_rollups(false, %s, '0 seconds')"
# The writer's statements, and the job's call alone (its nested statements
# count in it).
WRITER = TOTALS.format(WRITER_STATEMENTS)
JOB_STATEMENTS = TOTALS.format("query ILIKE '%%commtwin_refresh_rollups%%' AND toplevel")
TARGET = "SELECT tableoid::regclass::text, count(*) FROM readings WHERE ts >= %s GROUP BY 1"


def log(text: str) -> None:
    print(f"[bench_partition_width] {text}", file=sys.stderr, flush=True)


def emit(metric: str, value: float, unit: str, ref: str) -> None:
    row = {"bench": "partition_width", "metric": metric, "value": round(value, 3), "unit": unit}
    print(json.dumps({**row, "ref": ref}), flush=True)


def prefill_rollups(conn: psycopg.Connection[tuple[object, ...]], a: argparse.Namespace,
                    first: datetime, start: datetime, series: int) -> int:  # fmt: skip
    """Today's readings_1m rows before ``start`` (``--rollup-prefill``), and the
    job's marks at ``start``: it then rolls up the feed's minutes only."""
    conn.execute("UPDATE rollup_state SET minutes_to = %s, hours_to = %s",
                 (start, start.replace(minute=0)))  # fmt: skip
    if not a.rollup_prefill:
        return 0
    per = max(1, a.rollup_prefill // series)
    conn.execute(PREFILL_1M, {"day": first, "step": a.span_h * 3600 / per,
                              "devices": a.devices, "per": per})  # fmt: skip
    return series * per


def run_width(url: str, hours: int, a: argparse.Namespace) -> dict[str, float]:
    db.upgrade(url, prefer="plain")
    db.set_retention(url, {"raw": 30})
    db.set_raw_partition_minutes(url, hours * 60)
    # Today: the setter has remade its partitions at the width (yesterday keeps
    # the day partition the upgrade made).
    day = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    hh, mm = (int(x) for x in a.feed_at.split(":"))
    start = day + timedelta(hours=hh, minutes=mm)
    first = start - timedelta(hours=a.span_h)
    series = sum(1 + d % 3 for d in range(1, a.devices + 1))
    per = max(1, a.prefill // series)
    t0 = time.monotonic()
    with psycopg.connect(url, autocommit=True) as conn:
        step = a.span_h * 3600 / per
        end = start + timedelta(seconds=a.warm_s + a.measure_s)
        conn.execute("SELECT count(*) FROM commtwin_ensure_raw_partitions('readings', %s, %s)",
                     (first, end))  # fmt: skip
        conn.execute(PREFILL, {"day": first, "step": step, "devices": a.devices, "per": per})
        if a.job_every:
            log(f"{hours} h: {prefill_rollups(conn, a, first, start, series):,} readings_1m rows")
        conn.execute("VACUUM ANALYZE readings")
        conn.execute("VACUUM ANALYZE readings_1m")
        conn.execute("CHECKPOINT")
        took = time.monotonic() - t0
        log(f"{hours} h: {series * per:,} readings of the day so far in {took:.0f} s")
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        conn.execute(sql.CREATE_STAGE)
        feed = Feed(a.devices, a.seed)
        step_s = a.batch / (a.rate / 2.0)
        sim, readings, measured_from, wall = 0.0, 0, 0, time.monotonic()
        next_job = a.job_every
        while sim < a.warm_s + a.measure_s:
            if not measured_from and sim >= a.warm_s:
                conn.execute("SELECT pg_stat_statements_reset()")
                measured_from, wall = readings, time.monotonic()
            now_us = int(((start - EPOCH).total_seconds() + sim) * 1e6)
            readings += write_batch(conn, feed.batch(a.batch, now_us), sql.MOVE_READINGS_PLAIN)
            sim += step_s
            if a.job_every and sim >= next_job:
                next_job += a.job_every
                conn.execute(JOB, (start + timedelta(seconds=sim),))
        elapsed = time.monotonic() - wall
        touched, dirtied, wal, exec_ms = conn.execute(WRITER).fetchone() or (0, 0, 0, 0)
        job = conn.execute(JOB_STATEMENTS).fetchone() or (0, 0, 0, 0)
        targets = conn.execute(TARGET, (start,)).fetchall()
        checkpoints = conn.execute(
            "SELECT checkpoints_timed + checkpoints_req FROM pg_stat_bgwriter"
        ).fetchone()
    n = readings - measured_from
    if any(name == "readings_default" for name, _ in targets):
        raise SystemExit(f"the feed went to the default partition: {targets}")
    log(f"{hours} h: {n:,} readings measured in {elapsed:.1f} s into {targets};"
        f" checkpoints so far {checkpoints}")  # fmt: skip
    j_touched, j_dirtied, j_wal, j_ms = (float(x) for x in job)
    return {"readings": n, "prefill": series * per, "touched": touched / n,
            "dirtied": dirtied / n, "wal": wal / n, "exec_us": exec_ms * 1000 / n,
            "wall_s": elapsed,
            "job_touched": j_touched / n, "job_dirtied": j_dirtied / n, "job_wal": j_wal / n,
            "job_exec_us": j_ms * 1000 / n}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--devices", type=int, default=400_000)
    parser.add_argument("--prefill", type=int, default=40_000_000, help="readings before the feed")
    parser.add_argument("--feed-at", default="22:00", help="today's HH:MM the feed starts at")
    parser.add_argument("--span-h", type=float, default=22.0, help="hours the prefill spans")
    parser.add_argument("--rate", type=float, default=25_000, help="readings per simulated s")
    parser.add_argument("--batch", type=int, default=1000, help="messages per batch")
    parser.add_argument("--warm-s", type=float, default=30, help="simulated seconds, unmeasured")
    parser.add_argument("--measure-s", type=float, default=120, help="simulated seconds")
    parser.add_argument("--widths", default="24,1", help="partition widths in hours")
    parser.add_argument("--seed", type=int, default=25)
    parser.add_argument(
        "--job-every",
        type=float,
        default=0.0,
        help="simulated seconds between rollup job runs (0: no job)",
    )
    parser.add_argument(
        "--rollup-prefill",
        type=int,
        default=0,
        help="readings_1m rows of the day so far before the feed",
    )
    a = parser.parse_args()
    load = f"load avg {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    log(f"{a.devices:,} devices, {a.rate:,.0f} readings/s simulated; {load}")
    with PgCluster(settings=SETTINGS) as server:
        for hours in (int(h) for h in a.widths.split(",")):
            r = run_width(server.create_database(f"bench_pw_{hours}h"), hours, a)
            ref = (f"{hours}-hour partitions after {r['prefill']:,} readings over the"
                   f" {a.span_h:g} h before {a.feed_at};"
                   f" {r['readings']:,} measured, {a.devices:,} devices,"
                   f" load avg {os.getloadavg()[0]:.1f}")  # fmt: skip
            emit(f"width_{hours}h_buffers_per_reading", r["touched"], "buffers", ref)
            emit(f"width_{hours}h_dirtied_per_reading", r["dirtied"], "buffers", ref)
            emit(f"width_{hours}h_wal_bytes_per_reading", r["wal"], "B", ref)
            emit(f"width_{hours}h_db_exec_us_per_reading", r["exec_us"], "us", ref)
            emit(f"width_{hours}h_readings_per_wall_s", r["readings"] / r["wall_s"],
                 "readings/s", ref)  # fmt: skip
            if a.job_every:
                ref += f"; the rollup job every {a.job_every:g} s, {a.rollup_prefill:,} rows before"
                for key, unit in (("touched", "buffers"), ("dirtied", "buffers"), ("wal", "B"),
                                  ("exec_us", "us")):  # fmt: skip
                    emit(f"width_{hours}h_job_{key}_per_reading", r[f"job_{key}"], unit, ref)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
