"""The district feed's side of the district benches: its device file, the
feeder's command line, and the ingestor's counters (bench/bench_district.py,
bench/bench_district_ratio.py)."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path

import httpx
import psycopg

from tests.services import Broker

PY = sys.executable


def feed_spec(url: str, ids: list[str], path: Path) -> tuple[list[tuple[int, str]], int]:
    """Write the feed's device file; the probes' (device key, ts column) and the count."""
    with psycopg.connect(url, autocommit=True) as conn:
        devices = conn.execute(
            "SELECT community_id, id, kind FROM devices WHERE community_id = ANY(%s)", (ids,)
        ).fetchall()
        buildings: dict[str, list[str]] = {}
        for cid, bid in conn.execute(
            "SELECT community_id, id FROM buildings WHERE community_id = ANY(%s)", (ids,)
        ):
            buildings.setdefault(cid, []).append(bid)
        probes = []
        for cid in ids[:: max(1, len(ids) // 4)][:4]:
            row = conn.execute(
                "SELECT key, id FROM devices WHERE community_id = %s AND kind = 'env'"
                " ORDER BY id LIMIT 1",
                (cid,),
            ).fetchone()
            if row is not None:
                probes.append((int(row[0]), cid, str(row[1])))
    spec = {"devices": devices, "buildings": buildings,
            "probes": [[cid, dev] for _, cid, dev in probes]}  # fmt: skip
    path.write_text(json.dumps(spec))
    return [(key, cid) for key, cid, _ in probes], len(devices)


def feeder(broker: Broker, spec: Path, *options: str) -> list[str]:
    """The command line of bench/district_feed.py over ``spec``'s devices."""
    return [PY, "-m", "bench.district_feed", "--url", broker.url, "--devices", str(spec), *options]


def niced(nice: int) -> list[str]:
    """A command prefix that lowers the CPU priority of the write path (feeder, ingestor)."""
    return ["nice", "-n", str(nice)] if nice else []


def metric(port: int, name: str) -> float:
    body = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    for line in body.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return 0.0


def stored_since(url: str, since: datetime) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM readings WHERE ts >= %s", (since,)).fetchone()
    return int(row[0]) if row else 0


def ingested(port: int) -> float:
    return metric(port, "commtwin_ingest_messages_total")
