#!/usr/bin/env python
"""District feed against single-community feed, same run (issue 25, "Done when").

One ``commtwin ingest`` (plain mode, rollup job on) on a scratch database
holding ``--communities`` generated communities (bench/bench_live_states.py's
``ensure_district``), a private Mosquitto, and the same feeder
(bench/district_feed.py) run twice at the same offered ``--rate``: first over
the devices of one community, then over every device of the district. Each
feed lasts ``--seconds``; the ingestor's own counter is read over the feed
after ``--warm-s`` (cold start: alarm engine, models), and between the two
the ingestor catches up (what is still queued would count in the next
window). Figures: msg/s of each feed, the ratio district / single
(target >= 0.8), the ingestor's and the database server's CPU per message.
No API, no wrk: this is the write path only. Prints JSON lines; every figure
says the load average it was measured under.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import psycopg  # noqa: E402

from bench.bench_api_live import process  # noqa: E402
from bench.bench_district import feed_spec, ingested, metric  # noqa: E402
from bench.bench_live_states import ensure_district, tree_cpu_s  # noqa: E402
from simulators.district_gen import DistrictSpec  # noqa: E402
from tests.services import Broker, free_port, scratch_database  # noqa: E402

PY = sys.executable


def log(text: str) -> None:
    print(f"[bench_district_ratio] {text}", file=sys.stderr, flush=True)


def emit(name: str, value: float, unit: str, ref: str) -> None:
    row = {"bench": "district_ratio", "metric": name, "value": round(value, 3), "unit": unit}
    print(json.dumps({**row, "ref": ref}), flush=True)


def load() -> str:
    return f"load avg {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"


def backend_cpu_s(url: str) -> float:
    """CPU seconds of the ingestor's database backends (pg_stat_activity pids)."""
    with psycopg.connect(url, autocommit=True) as conn:
        pids = [
            r[0]
            for r in conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE application_name LIKE 'commtwin-ingest%%'"
            )
        ]
    return sum(tree_cpu_s(pid) for pid in pids)


def one_feed(
    url: str,
    broker: Broker,
    spec: Path,
    *,
    port: int,
    pid: int,
    a: argparse.Namespace,
    last: bool = False,
) -> dict[str, float]:
    start = ingested(port)
    feed = subprocess.Popen(
        [PY, "-m", "bench.district_feed", "--url", broker.url, "--devices", str(spec),
         "--rate", str(a.rate), "--seconds", str(a.seconds)],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    time.sleep(a.warm_s)
    m0, t0, c0, d0 = ingested(port), time.monotonic(), tree_cpu_s(pid), backend_cpu_s(url)
    out, _ = feed.communicate(timeout=a.seconds + 300)
    m1, t1, c1, d1 = ingested(port), time.monotonic(), tree_cpu_s(pid), backend_cpu_s(url)
    sent = json.loads(out)
    figures = {
        "rate": (m1 - m0) / (t1 - t0),
        "offered": float(sent["rate"]),
        "ingest_cpu_us": (c1 - c0) / max(1.0, m1 - m0) * 1e6,
        "db_cpu_us": (d1 - d0) / max(1.0, m1 - m0) * 1e6,
        "load": os.getloadavg()[0],
    }
    deadline = time.monotonic() + (0 if last else a.catch_up_s)
    while ingested(port) < start + sent["sent"] and time.monotonic() < deadline:
        time.sleep(0.5)
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--communities", type=int, default=200)
    parser.add_argument("--buildings", type=int, default=14)
    parser.add_argument("--rate", type=float, default=12_000, help="offered msg/s, both feeds")
    parser.add_argument("--seconds", type=float, default=120, help="each feed")
    parser.add_argument("--warm-s", type=float, default=40, help="not counted, each feed")
    parser.add_argument("--catch-up-s", type=float, default=180)
    parser.add_argument("--database-url", help="use (and keep) this database")
    a = parser.parse_args()
    log(f"{a.communities} communities, {a.rate:,.0f} msg/s offered, {a.seconds:g} s each; {load()}")
    with scratch_database("commtwin_bench_ratio") as scratch:
        url = a.database_url or scratch
        ids = ensure_district(
            url, DistrictSpec(communities=a.communities, buildings=a.buildings, prefix="bd")
        )
        broker = Broker().start()
        try:
            with tempfile.TemporaryDirectory() as tmp:
                district, single = Path(tmp) / "district.json", Path(tmp) / "single.json"
                _, devices = feed_spec(url, ids, district)
                _, one = feed_spec(url, ids[:1], single)
                port = free_port()
                env = {k: v for k, v in os.environ.items() if not k.startswith("COMMTWIN_")}
                env |= {"COMMTWIN_DATABASE_URL": url, "COMMTWIN_MQTT_URL": broker.url,
                        "COMMTWIN_LOG_LEVEL": "WARNING",
                        "COMMTWIN_METRICS_PORT": str(port)}  # fmt: skip
                args = [PY, "-m", "commtwin", "ingest", "--client-id", "bench-ratio",
                        "--metrics-host", "127.0.0.1"]  # fmt: skip
                with process(args, env, "ingest") as ing:
                    deadline = time.monotonic() + 120
                    while time.monotonic() < deadline:
                        try:
                            if metric(port, "commtwin_ingest_mqtt_connected") == 1:
                                break
                        except httpx.TransportError:
                            pass
                        time.sleep(0.5)
                    # Single first: its backlog drains fast, the district's would
                    # not, and whatever is still queued counts in the next window.
                    s = one_feed(url, broker, single, port=port, pid=ing.pid, a=a)
                    log(f"single ({one:,} devices): {s['rate']:,.0f} msg/s ({load()})")
                    d = one_feed(url, broker, district, port=port, pid=ing.pid, a=a, last=True)
                    log(f"district ({devices:,} devices): {d['rate']:,.0f} msg/s ({load()})")
        finally:
            broker.close()
    for name, f, n in (("district", d, devices), ("single", s, one)):
        ref = (f"{n:,} devices, offered {a.rate:,.0f} (sent {f['offered']:,.0f}) msg/s, "
               f"{a.seconds - a.warm_s:g} s window, load avg {f['load']:.1f}")  # fmt: skip
        emit(f"{name}_messages_per_s", f["rate"], "msg/s", ref)
        emit(f"{name}_ingest_cpu_us_per_msg", f["ingest_cpu_us"], "us", "report")
        emit(f"{name}_db_backend_cpu_us_per_msg", f["db_cpu_us"], "us", "report")
    emit("district_to_single_ratio", d["rate"] / s["rate"], "",
         f">= 0.8 (load avg {d['load']:.1f} / {s['load']:.1f})")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
