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
says the load average it was measured under. ``--cut-every S`` resets the
ingestor's broker link every S seconds through both feeds (``ss -K``), so
lost/doubled say what reconnects under a district backlog cost.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import psycopg  # noqa: E402

from bench.bench_api_live import process  # noqa: E402
from bench.bench_live_states import ensure_district, tree_cpu_s  # noqa: E402
from bench.district_write import feed_spec, feeder, ingested, metric, stored_since  # noqa: E402
from simulators.district_gen import DistrictSpec  # noqa: E402
from tests.services import Broker, free_port, scratch_database  # noqa: E402

PY = sys.executable
GC_PAUSE = 'commtwin_ingest_gc_pause_seconds{{generation="{}"}}'


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
    sweep: bool = False,
) -> dict[str, float]:
    start = ingested(port)
    feed = subprocess.Popen(
        feeder(broker, spec, "--rate", str(a.rate), "--seconds", str(a.seconds),
               *(["--sweep"] if sweep else [])),
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    time.sleep(a.warm_s)
    spy = (
        None
        if a.backlog
        else profile(a, pid, "district" if last else "single", a.seconds - a.warm_s)
    )
    m0, t0, c0, d0 = ingested(port), time.monotonic(), tree_cpu_s(pid), backend_cpu_s(url)
    out, _ = feed.communicate(timeout=a.seconds + 300)
    m1, t1, c1, d1 = ingested(port), time.monotonic(), tree_cpu_s(pid), backend_cpu_s(url)
    sent = json.loads(out)
    if spy is not None:
        spy.wait(timeout=60)
    figures = {
        "rate": (m1 - m0) / (t1 - t0),
        "offered": float(sent["rate"]),
        "ingest_cpu_us": (c1 - c0) / max(1.0, m1 - m0) * 1e6,
        "db_cpu_us": (d1 - d0) / max(1.0, m1 - m0) * 1e6,
        "load": os.getloadavg()[0],
        "readings_sent": float(sent["readings"]),
    }
    figures["caught_up"] = float(caught_up(port, start + sent["sent"], a.catch_up_s))
    return figures


def caught_up(port: int, target: float, within_s: float) -> bool:
    deadline = time.monotonic() + within_s
    while (n := ingested(port)) < target and time.monotonic() < deadline:
        time.sleep(0.5)
    return n >= target


def drain_feed(
    url: str,
    broker: Broker,
    spec: Path,
    *,
    port: int,
    pid: int,
    a: argparse.Namespace,
    last: bool = False,
) -> dict[str, float]:
    """Capacity without the feeder: a backlog queued while the ingestor is
    stopped (SIGSTOP; the broker holds its persistent session's queue), then
    the rate at which the warm ingestor drains it, alone on the machine with
    the broker and PostgreSQL. The 5 % -> 95 % marks leave out the first
    batches and the tail."""
    # Steady state: every device seen once (registry, alarm and care state, places).
    warm = one_feed(url, broker, spec, port=port, pid=pid, a=a, sweep=True)
    start = ingested(port)  # the warm-up is drained: one_feed waited for it
    os.kill(pid, signal.SIGSTOP)
    try:
        out = subprocess.run(
            feeder(broker, spec, "--rate", "1000000", "--seconds", "600",
                   "--count", str(a.backlog), "--seed", "16"),
            cwd=ROOT, capture_output=True, text=True, check=True, timeout=900,
        ).stdout  # fmt: skip
    finally:
        os.kill(pid, signal.SIGCONT)
    fed = json.loads(out)
    sent = fed["sent"]
    log(f"backlog: {sent:,} messages queued in {fed['seconds']:.1f} s, the ingestor stopped")
    lo, hi = start + 0.05 * sent, start + 0.95 * sent
    marks: dict[str, tuple[float, float, float, float, float]] = {}
    spy = profile(a, pid, "district" if last else "single", a.catch_up_s)
    deadline = time.monotonic() + a.catch_up_s
    while time.monotonic() < deadline:
        n = ingested(port)
        for name, mark in (("lo", lo), ("hi", hi)):
            if n >= mark and name not in marks:
                marks[name] = (n, time.monotonic(), tree_cpu_s(pid), backend_cpu_s(url),
                               sum(metric(port, GC_PAUSE.format(g)) for g in range(3)))  # fmt: skip
        if "hi" in marks:
            break
        time.sleep(0.25)
    if spy is not None:
        spy.send_signal(signal.SIGINT)  # py-spy writes what it has on SIGINT
        spy.wait(timeout=60)
    if "hi" not in marks:
        raise SystemExit(f"the ingestor did not drain {sent:,} messages in {a.catch_up_s:g} s")
    (m0, t0, c0, d0, g0), (m1, t1, c1, d1, g1) = marks["lo"], marks["hi"]
    if m1 <= m0:
        raise SystemExit(
            f"a backlog of {sent:,} messages drained between two looks at the ingestor's "
            "counter: too small to time, raise --backlog"
        )
    done = caught_up(port, start + sent, a.catch_up_s)
    return {
        "caught_up": float(done and warm["caught_up"]),
        "rate": (m1 - m0) / (t1 - t0),
        "offered": float(sent),
        "ingest_cpu_us": (c1 - c0) / max(1.0, m1 - m0) * 1e6,
        "db_cpu_us": (d1 - d0) / max(1.0, m1 - m0) * 1e6,
        "load": os.getloadavg()[0],
        "gc_us": (g1 - g0) / max(1.0, m1 - m0) * 1e6,
        "gc_longest_ms": metric(port, "commtwin_ingest_gc_longest_pause_seconds") * 1e3,
        "gc_full_s": metric(port, GC_PAUSE.format(2)),
        "readings_sent": warm["readings_sent"] + fed["readings"],
        "live_rate": warm["rate"],
        "window_s": t1 - t0,
    }


def profile(
    a: argparse.Namespace, pid: int, name: str, seconds: float
) -> subprocess.Popen[bytes] | None:
    """py-spy's collapsed stacks of every thread, sampled without pausing the process."""
    if not a.profile:
        return None
    return subprocess.Popen(
        [str(Path(PY).parent / "py-spy"), "record", "--pid", str(pid), "--nonblocking",
         "--threads", "--format", "raw", "--rate", "50",
         "--output", str(Path(a.profile) / f"{name}.txt"), "--duration", str(int(seconds))],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def wait_connected(port: int, within_s: float = 120) -> None:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            if metric(port, "commtwin_ingest_mqtt_connected") == 1:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)


class LinkCutter:
    """Resets the ingestor's link to the broker every ``every_s`` (``ss -K``: needs root).

    A fault beside the drain: every cut leaves a window of unacked messages that
    the broker sends again, so lost/doubled then say what reconnects cost.
    """

    def __init__(self, pid: int, broker_port: int, every_s: float) -> None:
        self.pid, self.port, self.cuts = pid, broker_port, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(every_s,), daemon=True)
        if every_s > 0:
            self._thread.start()

    def _run(self, every_s: float) -> None:
        while not self._stop.wait(every_s):
            self.cuts += self._cut()

    def _cut(self) -> bool:
        ss = ["ss", "-tnpH", "dport", "=", f":{self.port}"]
        found = subprocess.run(ss, check=False, capture_output=True, text=True).stdout
        for line in found.splitlines():
            if f"pid={self.pid}," in line:
                sport = line.split()[3].rsplit(":", 1)[1]
                kill = ["ss", "-K", "dport", "=", f":{self.port}", "sport", "=", f":{sport}"]
                return subprocess.run(kill, check=False, capture_output=True).returncode == 0
        return False  # between connections

    def stop(self) -> int:
        self._stop.set()
        return self.cuts


def settled(count: Callable[[], int], want: int, within_s: float) -> int:
    """``count()`` once it reaches ``want``, or has not changed for 10 s."""
    deadline = time.monotonic() + within_s
    last, since = count(), time.monotonic()
    while last < want and time.monotonic() < deadline and time.monotonic() - since < 10:
        time.sleep(0.5)
        n = count()
        if n != last:
            last, since = n, time.monotonic()
    return last


def report(a: argparse.Namespace, runs: dict[str, tuple[dict[str, float], int]]) -> None:
    for name, (f, n) in runs.items():
        if a.backlog:
            ref = (f"{n:,} devices, draining a backlog of {f['offered']:,.0f} messages "
                   f"(5-95 %: {f['window_s']:.1f} s), load avg {f['load']:.1f}")  # fmt: skip
            emit(f"{name}_gc_us_per_msg", f["gc_us"], "us", "report: in garbage collections")
            emit(f"{name}_gc_longest_pause_ms", f["gc_longest_ms"], "ms",
                 f"report: since start ({f['gc_full_s']:.1f} s in full passes)")  # fmt: skip
            emit(f"{name}_live_messages_per_s", f["live_rate"], "msg/s",
                 f"report: the warm-up feed at {a.rate:,.0f} msg/s offered")  # fmt: skip
        else:
            ref = (f"{n:,} devices, offered {a.rate:,.0f} (sent {f['offered']:,.0f}) msg/s, "
                   f"{a.seconds - a.warm_s:g} s window, load avg {f['load']:.1f}")  # fmt: skip
        emit(f"{name}_messages_per_s", f["rate"], "msg/s", ref)
        emit(f"{name}_ingest_cpu_us_per_msg", f["ingest_cpu_us"], "us", "report")
        emit(f"{name}_db_backend_cpu_us_per_msg", f["db_cpu_us"], "us", "report")
    (d, _), (s, _) = runs["district"], runs["single"]
    emit("district_to_single_ratio", d["rate"] / s["rate"], "",
         f">= 0.8 (load avg {d['load']:.1f} / {s['load']:.1f})")  # fmt: skip


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--communities", type=int, default=200)
    parser.add_argument("--buildings", type=int, default=14)
    parser.add_argument("--rate", type=float, default=12_000, help="offered msg/s, both feeds")
    parser.add_argument("--seconds", type=float, default=120, help="each feed")
    parser.add_argument("--warm-s", type=float, default=40, help="not counted, each feed")
    parser.add_argument("--catch-up-s", type=float, default=180)
    parser.add_argument("--database-url", help="use (and keep) this database")
    parser.add_argument(
        "--backlog",
        type=int,
        default=600_000,
        help="capacity: drain this many messages, queued at the feeder's full speed "
        "while the ingestor is stopped; 0: the live feed's window instead",
    )
    parser.add_argument(
        "--ingest-arg",
        action="append",
        default=[],
        help="one more argument for `commtwin ingest` (repeat)",
    )
    parser.add_argument(
        "--cut-every",
        type=float,
        default=0,
        help="reset the ingestor's broker link every this many s (ss -K, root); 0: never",
    )
    parser.add_argument("--profile", help="write py-spy's collapsed stacks of each window here")
    return parser.parse_args()


def main() -> int:
    a = parse_args()
    log(f"{a.communities} communities, {a.rate:,.0f} msg/s offered, {a.seconds:g} s each; {load()}")
    began = datetime.now(UTC)
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
                        "--metrics-host", "127.0.0.1", *a.ingest_arg]  # fmt: skip
                if a.profile:  # the ingestor's INFO log (connections, batches) beside the stacks
                    env["COMMTWIN_LOG_LEVEL"] = "INFO"
                    args = [
                        "sh",
                        "-c",
                        f'exec "$@" 2> {Path(a.profile) / "ingest.log"}',
                        "-",
                        *args,
                    ]
                with process(args, env, "ingest") as ing:
                    wait_connected(port)
                    cutter = LinkCutter(ing.pid, broker.port, a.cut_every)
                    # Single first: its backlog drains fast, the district's would
                    # not, and whatever is still queued counts in the next window.
                    feed = drain_feed if a.backlog else one_feed
                    s = feed(url, broker, single, port=port, pid=ing.pid, a=a)
                    log(f"single ({one:,} devices): {s['rate']:,.0f} msg/s ({load()})")
                    d = feed(url, broker, district, port=port, pid=ing.pid, a=a, last=True)
                    log(f"district ({devices:,} devices): {d['rate']:,.0f} msg/s ({load()})")
                    cuts = cutter.stop()  # the feeds saw the cuts; the count waits without
                    drained = bool(s["caught_up"] and d["caught_up"])
                    # The message counter counts redeliveries too, so it can reach
                    # the target before the last rows are in: wait for the rows.
                    sent = int(s["readings_sent"] + d["readings_sent"])
                    stored = settled(lambda: stored_since(url, began), sent, a.catch_up_s)
                    redelivered = metric(port, "commtwin_ingest_duplicate_readings_total")
        finally:
            broker.stop()
            if a.profile:  # dropped messages, disconnects: the broker's side
                shutil.copy(broker.log_path, Path(a.profile) / "mosquitto.log")
            broker.close()
    emit("link_cuts", cuts, "cuts", f"report: every {a.cut_every:g} s (0: never)")
    emit("redelivered_readings_skipped", redelivered, "readings", "report: duplicates")
    emit("lost_readings", max(0, sent - stored), "readings",
         f"0 ({stored:,} of {sent:,} stored; drained: {drained})")  # fmt: skip
    emit("doubled_readings", max(0, stored - sent), "readings", "0")
    report(a, {"district": (d, devices), "single": (s, one)})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
