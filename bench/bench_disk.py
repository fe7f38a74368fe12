#!/usr/bin/env python
"""Bytes per reading on disk, plain mode, on the district feed's mix (issue 25, part 3).

A PostgreSQL 15 cluster of its own (tests/pgcluster.py; durable WAL settings
as bench_district's tuned server, fsync off: sizes do not depend on it),
migrated with ``commtwin db upgrade --storage plain``. The feed is the
district's (bench/district_feed.py: the same kinds, values, status and
wearable-position shares) over ``--communities`` generated communities
(simulators.district_gen, 14 buildings each, as bench_district), at the real
rate of 0.0034 messages/s per device (docs/DESIGN.md, from the soak), over
``--hours`` of simulated time ending now, so the rollups fill as a real day's
do: a device reports every ~5 minutes, so readings_1m holds ~1 row per
reading, readings_1h ~1 per 12.

Rows go in through the ingest writer's own SQL (ingest/sql.py: the staging
table by COPY, then MOVE_READINGS_PLAIN, which also upserts both rollups;
INSERT_POSITIONS), in batches of ``--batch-seconds`` of feed time, ordered
by time as an ingestor commits them. device_status rows are inserted as the
writer's APPLY_STATUSES does into that table (the devices-row update it also
makes is not per reading). Then VACUUM (as autovacuum would) and, per class,
pg_total_relation_size over every partition (heap + indexes + TOAST) divided
by the readings stored; WAL is pg_current_wal_lsn() before/after, from a
CHECKPOINT, so every page's first full-page image is counted.

TimescaleDB (compressed) cannot be measured here: the extension is not
installable on this machine (docs/SIZING.md gives the published estimate,
marked as such). Prints JSON lines like the other benches.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from bench.district_feed import STATUS_SHARE, values  # noqa: E402
from commtwin import db  # noqa: E402
from ingest import sql  # noqa: E402
from simulators.district_gen import DistrictSpec, iter_district  # noqa: E402
from tests.pgcluster import PgCluster  # noqa: E402

MSG_PER_DEVICE_S = 0.0034  # docs/DESIGN.md: 85,154 messages from 689 devices in 600 s at 60x
SETTINGS = (
    "-c fsync=off -c shared_buffers=1GB -c max_wal_size=16GB -c checkpoint_timeout=15min"
    " -c wal_compression=lz4 -c wal_buffers=64MB"
)
CLASSES = {
    "raw_readings": ("readings",),
    "rollup_1m": ("readings_1m",),
    "rollup_1h": ("readings_1h",),
    "device_status": ("device_status",),
    "positions": ("positions",),
}
SIZE = """
SELECT coalesce(sum(pg_relation_size(relid)), 0), coalesce(sum(pg_indexes_size(relid)), 0),
       coalesce(sum(pg_total_relation_size(relid)), 0)
FROM pg_partition_tree(%s) WHERE isleaf
"""


def emit(metric: str, value: float, unit: str, ref: str) -> None:
    row = {"bench": "disk", "metric": metric, "value": round(value, 2), "unit": unit, "ref": ref}
    print(json.dumps(row), flush=True)


def log(message: str) -> None:
    print(f"[bench_disk] {message}", file=sys.stderr, flush=True)


def district_devices(communities: int) -> list[tuple[str, str]]:
    """(kind, building) of every device of ``communities`` generated communities."""
    out = []
    for model in iter_district(DistrictSpec(communities=communities, buildings=14, prefix="dk")):
        out += [(str(d["kind"]), str(d.get("building", ""))) for d in model["devices"]]
    return out


Batch = tuple[list[tuple[datetime, int, int, float]], list[tuple[object, ...]], list[list[object]]]


def feed(
    devices: list[tuple[str, str]], hours: float, batch_s: float, seed: int
) -> Iterator[Batch]:
    """Batches of (readings, statuses, positions columns) in time order."""
    rng = random.Random(seed)
    metric_keys: dict[str, int] = {}
    counters = [float(rng.randrange(1000)) for _ in devices]
    temps = [20 + 5 * rng.random() for _ in devices]
    last_ms = [0] * len(devices)
    rate = MSG_PER_DEVICE_S * len(devices)
    end = datetime.now(UTC) - timedelta(minutes=1)
    t0 = (end - timedelta(hours=hours)).timestamp()
    total = int(hours * 3600 * rate)
    gap = 1.0 / rate
    pending_online: list[tuple[float, int]] = []
    i = 0
    while i < total:
        until = t0 + (int((t0 + i * gap - t0) / batch_s) + 1) * batch_s
        readings: list[tuple[datetime, int, int, float]] = []
        statuses: list[tuple[object, ...]] = []
        pos: list[list[object]] = [[] for _ in range(9)]
        while i < total and t0 + i * gap < until:
            now_s = t0 + i * gap
            i += 1
            key = rng.randrange(len(devices))
            ms = max(int(now_s * 1000), last_ms[key] + 1)
            last_ms[key] = ms
            ts = datetime.fromtimestamp(ms / 1000, UTC)
            if rng.random() < STATUS_SHARE:  # offline now, online 5-30 s later
                statuses.append((ts, key, False, 80.0, None))
                pending_online.append((now_s + rng.uniform(5, 30), key))
                continue
            kind, building = devices[key]
            counters[key] += 1
            temps[key] = min(30.0, max(16.0, temps[key] + rng.gauss(0, 0.1)))
            for name, value in values(kind, rng, counters[key], temps[key]).items():
                metric = metric_keys.setdefault(name, len(metric_keys) + 1)
                readings.append((ts, key, metric, float(value)))
            if kind == "wearable":  # located by ingest: building, storey, unit, grid
                storey = rng.randrange(1, 19)
                unit = f"{building}-u{storey:02d}01"
                row = [ts, key, rng.uniform(0, 200), rng.uniform(0, 200), 3.0 * storey,
                       building, storey, unit, f"grid-{key % 40}"]  # fmt: skip
                for column, value in zip(pos, row, strict=True):
                    column.append(value)
        due = [p for p in pending_online if p[0] < until]
        pending_online = [p for p in pending_online if p[0] >= until]
        for at, key in due:
            statuses.append((datetime.fromtimestamp(at, UTC), key, True, 80.0, None))
        yield readings, statuses, pos


INSERT_STATUS = """
INSERT INTO device_status (ts, device_key, online, battery, rssi)
SELECT * FROM unnest(%s::timestamptz[], %s::bigint[], %s::bool[], %s::float8[], %s::float8[])
ON CONFLICT DO NOTHING
"""


def write(conn: psycopg.Connection[tuple[object, ...]], batch: Batch) -> int:
    readings, statuses, pos = batch
    with conn.transaction():
        conn.execute(sql.CREATE_STAGE)
        with conn.cursor().copy(
            "COPY ingest_stage_readings (ts, device_key, metric_key, value) FROM STDIN"
        ) as copy:
            for row in readings:
                copy.write_row(row)
        conn.execute(sql.MOVE_READINGS_PLAIN).fetchall()
        if pos[0]:
            conn.execute(sql.INSERT_POSITIONS, pos)
        if statuses:
            conn.execute(INSERT_STATUS, [list(c) for c in zip(*statuses, strict=True)])
    return len(readings)


def scalar(conn: psycopg.Connection[tuple[object, ...]], query: str) -> int:
    row = conn.execute(query.encode()).fetchone()
    return int(str(row[0])) if row else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("--communities", type=int, default=10, help="of ~2,000 devices each")
    parser.add_argument("--hours", type=float, default=6.0, help="simulated feed time (<= 20)")
    parser.add_argument("--batch-seconds", type=float, default=5.0, help="feed time per commit")
    parser.add_argument("--seed", type=int, default=25)
    args = parser.parse_args(argv)
    if not 0 < args.hours <= 20:  # inside the partitions made ahead (yesterday on)
        parser.error("--hours must be in (0, 20]")
    devices = district_devices(args.communities)
    log(f"{len(devices)} devices in {args.communities} communities")
    with PgCluster(settings=SETTINGS) as cluster:
        url = cluster.create_database("disk")
        db.upgrade(url, prefer="plain")
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CHECKPOINT")
            wal0 = scalar(conn, "SELECT pg_current_wal_lsn() - '0/0'::pg_lsn")
            started = time.monotonic()
            sent = messages = 0
            for batch in feed(devices, args.hours, args.batch_seconds, args.seed):
                sent += write(conn, batch)
            took = time.monotonic() - started
            wal = scalar(conn, "SELECT pg_current_wal_lsn() - '0/0'::pg_lsn") - wal0
            messages = int(args.hours * 3600 * MSG_PER_DEVICE_S * len(devices))
            conn.execute("VACUUM (ANALYZE)")
            stored = scalar(conn, "SELECT count(*) FROM readings")
            rows = {
                name: scalar(conn, f"SELECT count(*) FROM {tables[0]}")  # noqa: S608 - our names
                for name, tables in CLASSES.items()
            }
            sizes = {}
            for name, tables in CLASSES.items():
                heap = index = total = 0
                for table in tables:
                    h, i, t = conn.execute(SIZE, (table,)).fetchone() or (0, 0, 0)
                    heap, index, total = heap + int(h), index + int(i), total + int(t)
                sizes[name] = (heap, index, total)
    load = f"load avg {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    where = (
        f"{len(devices):,} devices ({args.communities} communities), {args.hours:g} h of feed"
        f" at {MSG_PER_DEVICE_S} msg/s per device, {stored:,} readings; {load}"
    )
    log(f"wrote {sent:,} readings ({stored:,} stored) in {took:.0f} s")
    emit("readings_stored", stored, "rows", where)
    emit("readings_per_message", sent / max(1, messages), "readings", "district feed mix")
    for name, (heap, index, total) in sizes.items():
        emit(f"bytes_per_reading_{name}", total / stored, "B",
             f"heap {heap / stored:.1f} + indexes {index / stored:.1f}; {rows[name]:,} rows"
             f" ({rows[name] / stored:.3f} per reading)")  # fmt: skip
    all_bytes = sum(total for _, _, total in sizes.values())
    emit("bytes_per_reading_total", all_bytes / stored, "B", "raw + rollups + status + positions")
    emit("wal_bytes_per_reading", wal / stored, "B", "from a CHECKPOINT, wal_compression lz4")
    emit("write_rows_per_s", stored / took, "rows/s", f"one connection, not a target; {load}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
