#!/usr/bin/env python
"""What hourly raw partitions cost the reads (issue 25, part 1; migration 0092).

A PostgreSQL of the bench's own; for each width (``--widths``, default a
day and an hour) a fresh plain-mode database with 30 days of raw retention
(fewer where the width allows fewer: 13 days at 10 minutes), its partitions
for those days and those maintenance makes ahead, and ``--devices`` devices
with two metrics reporting every 5 minutes for the last ``--days`` days
(rollups computed by the job). Then the reads whose plans depend on how many
partitions there are, each timed ``--repeat`` times (median, client side):

* ``last_readings``: the alarm engine's start-up query, the newest reading
  of every watched pair within a day (ingest.alarm_engine, one probe each;
  raw readings from the hourly rollup's split on, schemas.rollup_window.NEWEST),
  and ``last_readings_unread`` the same probing raw readings the whole day;
* ``latest_week``: the devices page's newest-reading probe over 7 days (the
  API's device look-back, api.queries.devices.lookback: up to an hour
  ahead), for one building's worth (``--building`` pairs), and
  ``latest_week_open`` the same without the upper bound, as it was;
  ``latest_week_split`` the probe as the page makes it now (NEWEST);
* ``hour_rows``: a scene's hourly rows of 50 devices over 7 days, through
  ``readings_1h_window`` given the split read first (api.queries.scenes,
  migration 0094; the split's own read is ``split``), ``hour_rows_unread``
  the same with the function reading the split itself (0093), and
  ``hour_rows_view`` the same through the ``readings_1h_live`` view, whose
  raw arms the planner cannot prune by a constant;
* ``history_month``: one device's hourly means over 30 days (the history
  API's statement, api.queries.history), given the split, and
  ``history_month_unread`` without it;
* ``raw_day``: one device's raw points over a day (history).

Prints JSON lines (docs/CONTRIBUTING.md).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402
from psycopg import sql  # noqa: E402

from api.queries import history  # noqa: E402
from api.queries.devices import lookback  # noqa: E402
from api.queries.history import HistoryRequest, Selection  # noqa: E402
from api.queries.scenes import _HOUR_ROWS  # noqa: E402
from commtwin import db  # noqa: E402
from commtwin.cmd_db import parse_width, width_text  # noqa: E402
from ingest.alarm_engine import _LAST  # noqa: E402
from schemas.rollup_window import (  # noqa: E402
    SPLIT,
    UNREAD,
    newest_bounds,
    split_of,
    window_params,
)
from tests.pgcluster import PgCluster  # noqa: E402

SETTINGS = "-c max_connections=50 -c shared_buffers=128MB"
FILL = """
INSERT INTO readings (ts, device_key, metric_key, value)
SELECT %(start)s + s.i * interval '5 minutes' + d * interval '1 millisecond', d, m, 20 + d %% 7
FROM generate_series(1, %(devices)s) d, generate_series(1, 2) m,
     generate_series(0, %(steps)s - 1) s(i)
ORDER BY s.i, d, m
"""
PENDING = """
INSERT INTO rollup_pending (level, bucket, lo_key, hi_key)
SELECT 'm', b, 1, %(devices)s
FROM generate_series(date_trunc('minute', %(start)s::timestamptz, 'UTC'), %(end)s,
                     interval '1 minute') b
"""
# The devices page's probe (api.queries.devices._LATEST) over the given pairs;
# {} is the upper bound: none as it was, or lookback()'s hour ahead as now.
LATEST = """
SELECT p.d, p.m, r.ts, r.value
FROM unnest(%(keys)s::bigint[], %(metrics)s::int[]) AS p(d, m)
CROSS JOIN LATERAL (
    SELECT ts, value FROM readings
    WHERE device_key = p.d AND metric_key = p.m AND ts >= %(since)s {}
    ORDER BY ts DESC LIMIT 1
) r
"""
HOUR_ROWS_VIEW = """
SELECT device_key, metric_key, bucket, last_value, v_max, v_min, v_sum, n
FROM readings_1h_live
WHERE device_key = ANY(%(keys)s) AND metric_key = ANY(%(metrics)s)
  AND bucket >= %(start)s AND bucket < %(end)s
"""
RAW_DAY = """
SELECT ts, value FROM readings
WHERE device_key = ANY(%(keys)s) AND metric_key = %(metric)s AND ts >= %(start)s AND ts < %(end)s
ORDER BY ts LIMIT 10000
"""


def log(text: str) -> None:
    print(f"[bench_partition_reads] {text}", file=sys.stderr, flush=True)


def emit(metric: str, value: float, unit: str, ref: str) -> None:
    row = {"bench": "partition_reads", "metric": metric, "value": round(value, 3), "unit": unit}
    print(json.dumps({**row, "ref": ref}), flush=True)


def timed(conn: psycopg.Connection[tuple[object, ...]], query: str | sql.Composed,
          params: object, repeat: int) -> tuple[float, int]:  # fmt: skip
    """Median seconds over ``repeat`` runs (after one unmeasured), and the row count;
    -1 rows when the server could not lock every partition the plan opens."""
    q = query if isinstance(query, sql.Composed) else query.encode()
    try:
        rows = len(conn.execute(q, params).fetchall())  # type: ignore[arg-type]
    except psycopg.errors.OutOfMemory as exc:
        log(f"failed: {exc.diag.message_primary} ({exc.diag.message_hint})")
        return float("nan"), -1
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        conn.execute(q, params).fetchall()  # type: ignore[arg-type]
        times.append(time.perf_counter() - t0)
    return statistics.median(times), rows


def kept_days(minutes: int) -> int:
    """30 days, or as many as 2,000 partitions of the width hold (0095)."""
    return 30 if minutes == 1440 else min(30, 2000 * minutes // 1440)


def run_width(url: str, minutes: int, a: argparse.Namespace) -> dict[str, tuple[float, int]]:
    db.upgrade(url, prefer="plain")
    db.set_retention(url, {"raw": kept_days(minutes)})
    db.set_raw_partition_minutes(url, minutes)
    now = datetime.now(UTC)
    start = now - timedelta(days=a.days)
    t0 = time.monotonic()
    with psycopg.connect(url, autocommit=True) as conn:
        # A day at a time: each partition made takes locks until its
        # transaction ends, and 13 days of 10-minute ones overflow the lock table.
        for day in range(kept_days(minutes), 0, -1):
            for parent in ("readings", "device_status", "positions"):
                conn.execute(
                    "SELECT count(*) FROM commtwin_ensure_raw_partitions(%s, %s, %s)",
                    (parent, now - timedelta(days=day), now - timedelta(days=day - 1)),
                )
        parts = conn.execute("SELECT count(*) FROM commtwin_partitions('readings')").fetchone()
        steps = int(a.days * 288)
        conn.execute(FILL, {"start": start, "devices": a.devices, "steps": steps})
        conn.execute(PENDING, {"start": start, "end": now, "devices": a.devices})
        conn.execute("SELECT count(*) FROM commtwin_refresh_rollups(true)")
        conn.execute("VACUUM ANALYZE")
        took = time.monotonic() - t0
        log(f"{width_text(minutes)}: {parts} readings partitions, filled in {took:.0f} s")
        keys = list(range(1, a.devices + 1))
        pairs = [(d, m) for d in keys for m in (1, 2)]
        every = {"keys": [p[0] for p in pairs], "metrics": [p[1] for p in pairs]}
        week = pairs[: a.building]
        week_back = lookback(now, 7)
        building = {"keys": [p[0] for p in week], "metrics": [p[1] for p in week],
                    "since": week_back.start, "until": week_back.end}  # fmt: skip
        scene = {"keys": keys[:50], "metrics": [1, 2], "start": now - timedelta(days=7),
                 "end": now, "origin": now - timedelta(days=7)}  # fmt: skip
        split = split_of(conn.execute(SPLIT, {"source": "readings_1h"}).fetchone())
        scene.update(window_params("readings_1h", now - timedelta(days=7), now, split))
        unread = {**scene, **UNREAD._asdict()}
        month = history.plan(HistoryRequest(Selection("c", "d"), "t", now - timedelta(days=30),
                                            now, "1h", "avg"), now, 1000)  # fmt: skip
        month_query = history.statement(month)
        return {
            "last_readings": timed(conn, _LAST, {**every, **newest_bounds(
                now - timedelta(days=1), now + timedelta(hours=1), split)}, a.repeat),
            "last_readings_unread": timed(conn, _LAST, {**every, **newest_bounds(
                now - timedelta(days=1), now + timedelta(hours=1), UNREAD)}, a.repeat),
            "latest_week_open": timed(conn, LATEST.format(""), building, a.repeat),
            "latest_week": timed(conn, LATEST.format("AND ts < %(until)s"), building, a.repeat),
            "latest_week_split": timed(conn, _LAST, {**building, **newest_bounds(
                week_back.start, week_back.end, split)}, a.repeat),
            "hour_rows_view": timed(conn, HOUR_ROWS_VIEW, scene, a.repeat),
            "split": timed(conn, SPLIT, {"source": "readings_1h"}, a.repeat),
            "hour_rows": timed(conn, _HOUR_ROWS, scene, a.repeat),
            "hour_rows_unread": timed(conn, _HOUR_ROWS, unread, a.repeat),
            "history_month": timed(conn, month_query, history.parameters(month, keys[:1], 1,
                                   split), a.repeat),
            "history_month_unread": timed(conn, month_query, history.parameters(month, keys[:1],
                                          1), a.repeat),
            "raw_day": timed(conn, RAW_DAY, {"keys": keys[:1], "metric": 1,
                             "start": now - timedelta(days=1), "end": now}, a.repeat),
        }  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--devices", type=int, default=2000)
    parser.add_argument("--days", type=float, default=3.0, help="days of readings")
    parser.add_argument("--building", type=int, default=400, help="pairs of one building")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--widths", default="24h,1h", help="partition widths (10m ... 24h)")
    a = parser.parse_args()
    log(f"{a.devices:,} devices, load avg {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    with PgCluster(settings=SETTINGS) as server:
        for label in a.widths.split(","):
            minutes = parse_width(label)
            tag = f"{minutes // 60}h" if minutes % 60 == 0 else f"{minutes}m"
            results = run_width(server.create_database(f"bench_pr_{tag}"), minutes, a)
            load = f"load avg {os.getloadavg()[0]:.1f}"
            for name, (seconds, rows) in results.items():
                if rows < 0:
                    emit(f"width_{tag}_{name}_failed", 1, "", "out of shared memory (locks)")
                    continue
                ref = (f"{width_text(minutes)} partitions, {kept_days(minutes)} days kept;"
                       f" {rows:,} rows; median of {a.repeat}, {load}")  # fmt: skip
                emit(f"width_{tag}_{name}_ms", seconds * 1000, "ms", ref)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
