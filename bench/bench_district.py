#!/usr/bin/env python
"""A district on one machine: 200 communities x ~2,000 devices (issue 15, part 3).

Everything runs here together: the shared PostgreSQL (a scratch database, or
``--database-url`` kept between runs so the import is done once, or with
``--tuned-server`` a server of its own sized for the district: TUNED_SETTINGS), a private
Mosquitto with the project's config, ONE ``commtwin ingest``, ``commtwin
api`` (``--workers``), the feed (bench/district_feed.py, its own process) and
``wrk`` (Debian package) as the /live load.

1. ``--communities`` generated communities of ``--buildings`` buildings
   (simulators.district_gen: 14 buildings ~ 2,000 devices) imported and made
   one district (bench/bench_live_states.py's ``ensure_district``).
2. The feed for ``--minutes`` at ``--rate`` messages/s over every device of
   the district (telemetry of every kind, status changes, smoke alarms,
   incident reports, probe readings).
   * ``ingest_messages_per_s``: what the ingestor committed per second over
     the feed (its own counter), target >= 10,000 sustained;
   * ``lost_readings``: readings sent minus readings stored once the ingestor
     has caught up, and ``dead_letters``: both target 0;
   * ``commit_latency_p99_ms``: publish -> visible in ``readings``, from the
     probe readings (their ts is the send time; this process polls for them
     every 50 ms), target <= 1,000 ms.
3. While the feed runs, ``--live-runs`` wrk runs of ``--live-seconds`` each,
   evenly spread, paced at ``--live-rate`` requests/s over 200 connections,
   each request a random community's ``/live`` (gzip, as browsers ask);
   the worst run's p99 is reported, target <= 50 ms.
4. ``overview_p99_ms``: ``GET /v1/districts/{id}/overview`` once a second
   during the feed (200 answers, no ETag), target <= 100 ms.

A short run: ``--communities 20 --minutes 1``. Every figure says the load
average it was measured under (the machine may be shared). Prints JSON lines.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import psycopg  # noqa: E402

from api.db import run_once  # noqa: E402
from api.queries.keys import create_key  # noqa: E402
from bench.bench_api_live import process, wrk  # noqa: E402
from bench.bench_live_states import DISTRICT, ensure_district, tree_rss_mib  # noqa: E402
from bench.cpu_split import CpuSplit  # noqa: E402
from bench.district_write import (  # noqa: E402
    feed_spec,
    feeder,
    ingested,
    metric,
    niced,
    stored_since,
)
from commtwin.api_workers import default_workers  # noqa: E402
from simulators.district_gen import DistrictSpec  # noqa: E402
from tests.pgcluster import PgCluster  # noqa: E402
from tests.services import Broker, free_port, scratch_database  # noqa: E402

PY = sys.executable
# A server sized for the district's writes (still durable: fsync and full page
# writes on). With Debian's defaults (shared_buffers 128MB, max_wal_size 1GB)
# the 400,000 devices' random index inserts checkpointed every ~10 s, most of
# the WAL was full-page images, and backends wrote out their own dirty pages:
# the ingestor's database backend at 60-90 % CPU held one ingestor to ~5,900
# msg/s; with these, ~8,900 on the same feed (2026-12-04, docs/DESIGN.md).
TUNED_SETTINGS = (
    "-c shared_buffers=4GB -c max_wal_size=16GB -c checkpoint_timeout=15min"
    " -c wal_compression=lz4 -c wal_buffers=64MB -c max_connections=200"
)


def load() -> str:
    return f"load avg {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"


def emit(metric: str, value: float, unit: str, ref: str) -> None:
    row = {"bench": "district", "metric": metric, "value": round(value, 2), "unit": unit}
    print(json.dumps({**row, "ref": ref}), flush=True)


def log(message: str) -> None:
    print(f"[bench_district] {message}", file=sys.stderr, flush=True)


class ProbeWatch(threading.Thread):
    """Polls the probe devices' new readings: latency = seen - ts (publish time)."""

    def __init__(self, url: str, keys: list[int]) -> None:
        super().__init__(daemon=True)
        self.url, self.keys = url, keys
        self.latencies: list[float] = []
        self.stop = threading.Event()

    def run(self) -> None:
        with psycopg.connect(self.url, autocommit=True) as conn:
            last = datetime.now(UTC)
            metric = None
            while metric is None and not self.stop.wait(0.05):  # known once ingest saw one
                metric = conn.execute("SELECT key FROM metrics WHERE name = %s", ("temperature",))
                metric = metric.fetchone()
            while metric is not None and not self.stop.wait(0.05):
                rows = conn.execute(
                    "SELECT ts FROM readings WHERE device_key = ANY(%s) AND metric_key = %s"
                    " AND ts > %s",
                    (self.keys, metric[0], last),
                ).fetchall()
                seen = datetime.now(UTC)
                for (ts,) in rows:
                    self.latencies.append((seen - ts).total_seconds() * 1000)
                    last = max(last, ts)


class OverviewWatch(threading.Thread):
    def __init__(self, base: str, key: str) -> None:
        super().__init__(daemon=True)
        self.base, self.key = base, key
        self.times: list[float] = []
        self.stop = threading.Event()

    def run(self) -> None:
        headers = {"Authorization": f"Bearer {self.key}", "Accept-Encoding": "gzip"}
        with httpx.Client(base_url=self.base, headers=headers, timeout=30) as client:
            while not self.stop.wait(1.0):
                started = time.perf_counter()
                r = client.get(f"/v1/districts/{DISTRICT}/overview")
                if r.status_code == 200:
                    self.times.append((time.perf_counter() - started) * 1000)


@contextmanager
def services(
    url: str, broker: Broker, workers: int, nice: int = 0
) -> Iterator[tuple[str, int, int]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMMTWIN_")}
    metrics_port, api_port = free_port(), free_port()
    env |= {"COMMTWIN_DATABASE_URL": url, "COMMTWIN_MQTT_URL": broker.url,
            "COMMTWIN_LOG_LEVEL": "WARNING",
            "COMMTWIN_METRICS_PORT": str(metrics_port)}  # fmt: skip
    ingest = [*niced(nice), PY, "-m", "commtwin", "ingest", "--client-id", "bench-district",
              "--metrics-host", "127.0.0.1"]  # fmt: skip
    api = [PY, "-m", "commtwin", "api", "--port", str(api_port), "--rate", "1e9",
           "--burst", "1e9", "--workers", str(workers)]  # fmt: skip
    with (
        process(ingest, env, "ingest"),
        process(api, env | {"COMMTWIN_METRICS_PORT": "0"}, "api") as api_proc,
    ):
        base = f"http://127.0.0.1:{api_port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                ready = httpx.get(f"{base}/readyz").status_code == 200
                if ready and metric(metrics_port, "commtwin_ingest_mqtt_connected") == 1:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        yield base, metrics_port, api_proc.pid


def warm(base: str, key: str, workers: int) -> float:
    """Build every state in every worker (fresh connections land on either)."""
    started = time.monotonic()
    auth = {"Authorization": f"Bearer {key}"}
    for _ in range(4 * workers):
        with httpx.Client(base_url=base, timeout=300) as c:
            for _ in range(600):
                r = c.get(f"/v1/districts/{DISTRICT}/overview", headers=auth)
                if r.status_code == 200:
                    break
                time.sleep(0.5)
            r.raise_for_status()
    return time.monotonic() - started


def live_load(base: str, key: str, ids: list[str], a: argparse.Namespace) -> list[dict[str, float]]:
    """``a.live_runs`` paced wrk runs of random communities' /live while the feed runs."""
    script = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)  # noqa: SIM115
    paths = ",".join(f'"/v1/communities/{cid}/live"' for cid in ids)
    pace = 0.95 * 1000.0 * a.connections / a.live_rate
    script.write(
        f"paths = {{{paths}}}\n"
        f'request = function() return wrk.format("GET", paths[math.random(#paths)]) end\n'
        f"delay = function() return {pace} end\n"
    )
    script.close()
    feed_s = a.minutes * 60
    gap = max(0.0, (feed_s - 30 - a.live_runs * a.live_seconds) / max(1, a.live_runs))
    results = []
    try:
        time.sleep(min(30.0, feed_s / 4))  # the ingestor at its pace first
        for n in range(a.live_runs):
            headers = {"Authorization": f"Bearer {key}", "Accept-Encoding": "gzip"}
            r = wrk(f"{base}/v1/communities/{ids[0]}/live", headers, a.live_seconds,
                    a.connections, None, lua=script.name)  # fmt: skip
            r["load"] = os.getloadavg()[0]
            results.append(r)
            log(f"live run {n + 1}: {r['rps']:.0f} req/s, p99 {r['p99']:.1f} ms ({load()})")
            time.sleep(gap)
    finally:
        os.unlink(script.name)
    return results


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] if ordered else float("nan")


def measure(url: str, ids: list[str], key: str, a: argparse.Namespace) -> dict[str, object]:
    """Feed, load and watch the district; the raw figures."""
    broker = Broker().start()
    try:
        with ExitStack() as stack:
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            probes, devices = feed_spec(url, ids, tmp / "devices.json")
            emit("devices", devices, "devices", f"{len(ids)} communities")
            emit("write_nice", a.write_nice, "", "report: the feeder's and ingestor's nice level")
            base, metrics_port, api_pid = stack.enter_context(
                services(url, broker, a.workers, a.write_nice)
            )
            emit("states_built_s", warm(base, key, a.workers), "s",
                 f"every state in {a.workers} workers ({load()})")  # fmt: skip
            with psycopg.connect(url, autocommit=True) as conn:
                dead0 = (conn.execute("SELECT count(*) FROM dead_letters").fetchone() or (0,))[0]
            t0 = datetime.now(UTC)
            watch, overview = ProbeWatch(url, [k for k, _ in probes]), OverviewWatch(base, key)
            watch.start()
            overview.start()
            m0, c0 = ingested(metrics_port), time.monotonic()
            split = CpuSplit(url).begin()
            feed = subprocess.Popen(
                [*niced(a.write_nice), *feeder(broker, tmp / "devices.json", "--rate",
                                               str(a.rate), "--seconds", str(a.minutes * 60))],
                cwd=ROOT, stdout=subprocess.PIPE, text=True,
            )  # fmt: skip
            live = live_load(base, key, ids, a)
            out, _ = feed.communicate(timeout=a.minutes * 60 + 600)
            sent = json.loads(out)
            m1, c1 = ingested(metrics_port), time.monotonic()
            cpu = split.finish()
            load_feed, rss = load(), tree_rss_mib(api_pid)
            # Caught up when the rows are in: the message counter also counts
            # redeliveries (after a reconnect), so it can pass the number sent early.
            readings = stored_since(url, t0)
            deadline, quiet_since = time.monotonic() + a.catch_up_s, time.monotonic()
            while readings < sent["readings"] and time.monotonic() < deadline:
                time.sleep(1.0)
                now_stored = stored_since(url, t0)
                if now_stored != readings:
                    readings, quiet_since = now_stored, time.monotonic()
                elif time.monotonic() - quiet_since > 60:
                    break  # nothing more arrives
            caught_up = time.monotonic() - c1
            backlog = max(0, sent["sent"] - ingested(metrics_port))
            redelivered = metric(metrics_port, "commtwin_ingest_duplicate_readings_total")
            time.sleep(1.0)
            watch.stop.set()
            overview.stop.set()
            with psycopg.connect(url, autocommit=True) as conn:
                dead1 = (conn.execute("SELECT count(*) FROM dead_letters").fetchone() or (0,))[0]
    finally:
        broker.close()
    return {"sent": sent, "rate": (m1 - m0) / (c1 - c0), "caught_up": caught_up,
            "backlog": backlog, "redelivered": redelivered,
            "readings": readings, "dead": dead1 - dead0, "latencies": watch.latencies,
            "live": live, "overview": overview.times, "load": load_feed, "rss": rss,
            "cpu": {name: s / (c1 - c0) for name, s in cpu.items()}}  # fmt: skip


def report(r: dict[str, object], a: argparse.Namespace, communities: int) -> None:
    sent: dict[str, object] = r["sent"]  # type: ignore[assignment]
    load_feed = r["load"]
    rate_ref = f">= 10000 sustained, offered {a.rate:,.0f} for {a.minutes:g} min ({load_feed})"
    emit("feed_sent_per_s", float(sent["rate"]), "msg/s", f"{sent['by_type']}")  # type: ignore[arg-type]
    emit("ingest_messages_per_s", float(r["rate"]), "msg/s", rate_ref)  # type: ignore[arg-type]
    emit("ingest_caught_up_after_feed_s", float(r["caught_up"]), "s", "report")  # type: ignore[arg-type]
    lost = int(sent["readings"]) - int(r["readings"])  # type: ignore[call-overload]
    note = f"{r['readings']:,} of {sent['readings']:,} stored"
    if r["backlog"]:  # still queued for the ingestor's session: late, not lost
        note += f"; NOT caught up: {r['backlog']:,.0f} messages still at the broker"
    emit("lost_readings", lost, "readings", f"0 ({note})")
    emit("dead_letters", float(r["dead"]), "", "0")  # type: ignore[arg-type]
    emit("redelivered_readings_skipped", float(r["redelivered"]), "readings",  # type: ignore[arg-type]
         "report: duplicates after reconnects (counted in ingest_messages_per_s)")  # fmt: skip
    lat: list[float] = r["latencies"]  # type: ignore[assignment]
    emit("commit_latency_p50_ms", percentile(lat, 0.5), "ms", f"report ({len(lat)} probes)")
    emit("commit_latency_p99_ms", percentile(lat, 0.99), "ms", f"<= 1000 ({load_feed})")
    live: list[dict[str, float]] = r["live"]  # type: ignore[assignment]
    worst = max(live, key=lambda x: x["p99"])
    p99s = ", ".join(f"{x['p99']:.1f}" for x in live)
    loads = ", ".join(f"{x['load']:.1f}" for x in live)
    emit("live_random_req_per_s", min(x["rps"] for x in live), "req/s",
         f"offered {a.live_rate}/s, lowest of {len(live)} runs")  # fmt: skip
    emit("live_random_p99_ms", worst["p99"], "ms",
         f"<= 50, worst of {len(live)} runs ({p99s} ms; load avg {loads})")  # fmt: skip
    times: list[float] = r["overview"]  # type: ignore[assignment]
    emit("overview_p50_ms", statistics.median(times) if times else float("nan"), "ms", "report")
    emit("overview_p99_ms", percentile(times, 0.99), "ms",
         f"<= 100 ({len(times)} during the feed, {load_feed})")  # fmt: skip
    emit("api_rss_mib", float(r["rss"]), "MiB", f"{a.workers} workers x {communities} states")  # type: ignore[arg-type]
    cores: dict[str, float] = r["cpu"]  # type: ignore[assignment]
    for name, used in cores.items():
        slug = name.replace(":", "").replace(" ", "_")
        ref = f"report: over the feed, of {os.cpu_count()} ({sum(cores.values()):.2f} in all)"
        emit(f"cpu_cores_{slug}", used, "cores", ref)


def run(url: str, a: argparse.Namespace) -> None:
    spec = DistrictSpec(communities=a.communities, buildings=a.buildings, prefix="bd")
    started = time.monotonic()
    ids = ensure_district(url, spec)
    emit("setup_s", time.monotonic() - started, "s", f"generate + import, or reuse ({load()})")
    key = run_once(url, lambda c: create_key(c, ["cockpit:read", "district:read"], [], "bench",
                                             districts=[DISTRICT])).key  # fmt: skip
    report(measure(url, ids, key, a), a, len(ids))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--communities", type=int, default=200)
    parser.add_argument(
        "--buildings", type=int, default=14, help="per community (~140 devices each)"
    )
    parser.add_argument("--minutes", type=float, default=10.0, help="feed duration")
    parser.add_argument("--rate", type=float, default=10_000.0, help="feed messages/s")
    parser.add_argument("--live-rate", type=int, default=3000, help="offered /live requests/s")
    parser.add_argument("--live-runs", type=int, default=5)
    parser.add_argument("--live-seconds", type=int, default=20)
    parser.add_argument("--connections", type=int, default=200)
    parser.add_argument("--workers", type=int, default=default_workers(), help="API workers")
    parser.add_argument("--catch-up-s", type=float, default=600, help="wait after the feed")
    parser.add_argument("--database-url", help="use (and keep) this database")
    parser.add_argument(
        "--write-nice",
        type=int,
        default=0,
        help="run the feeder and the ingestor at this nice level, so reads come first on "
        "shared cores (the broker and PostgreSQL keep theirs)",
    )
    parser.add_argument(
        "--tuned-server",
        action="store_true",
        help="a PostgreSQL server of the bench's own, with TUNED_SETTINGS (removed after)",
    )
    a = parser.parse_args()
    log(f"{a.communities} communities x {a.buildings} buildings, {a.rate:,.0f} msg/s for "
        f"{a.minutes:g} min; {load()}")  # fmt: skip
    if a.database_url:
        run(a.database_url, a)
    elif a.tuned_server:
        with PgCluster(settings=TUNED_SETTINGS) as server:
            run(server.create_database("commtwin_bench_district"), a)
    else:
        with scratch_database("commtwin_bench_district") as url:
            run(url, a)
    return 0


if __name__ == "__main__":
    sys.exit(main())
