#!/usr/bin/env python
"""Ingest throughput, latency and memory (issue 3), on this machine, end to end.

Everything runs here together, as in the issue: a private Mosquitto with
deploy/mosquitto/mosquitto.conf, the shared PostgreSQL (a scratch database per
scenario, plain storage mode with rollups), `commtwin ingest` processes, and
the publisher in a separate process (tests/ingest/publisher.py, raw-socket
QoS 1, > 20,000 msg/s). Acks happen after commit, as in production.

Scenarios (feed: 1,000 devices, 3 metrics per reading):
  versus    one ingestor and ``mosquitto_sub`` (the broker's own C client,
            Debian package mosquitto-clients: QoS 1, persistent session,
            one byte per message to a file in /dev/shm) subscribed to the same
            feed in the same run, counted over the same window, and the ratio
  single    one ingestor, single readings, offered faster than it can take
  shared    two ingestors on one shared subscription
  gateway   gateway batches of 100 readings (rows/s)
  latency   5,000 msg/s offered; publish -> commit, from the publisher's send
            times and the NOTIFY commtwin_batches arrival times (FIFO order
            maps cumulative rows back to messages)
The ingestor's resident memory (/proc) is sampled throughout; under overload
the broker holds the backlog and the ingestor's queue is bounded.

Rates are measured over a window after a warm-up, from the ingestor's own
Prometheus counters. Environment knobs:
BENCH_INGEST_SECONDS (window of single, feed length of versus, default 60),
BENCH_INGEST_SHORT_SECONDS (shared/gateway/latency, default 30),
BENCH_INGEST_ONLY=versus (only the mosquitto_sub comparison).
Prints one JSON line per figure (see docs/CONTRIBUTING.md).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from commtwin import db  # noqa: E402
from tests.ingest.helpers import add_community  # noqa: E402
from tests.services import Broker, free_port, scratch_database  # noqa: E402

LONG = float(os.environ.get("BENCH_INGEST_SECONDS", "60"))
SHORT = float(os.environ.get("BENCH_INGEST_SHORT_SECONDS", "30"))
WARMUP = 5.0
# Offered load: well above the targets, so the figures are capacities (the
# broker queues the excess for the persistent session), without letting the
# publisher eat the CPU the system under test needs on a 2-core machine.
OFFERED_SINGLE = 30_000
OFFERED_SHARED = 36_000
# Above what one ingestor takes: the broker, not the publisher, sets the pace.
OFFERED_VERSUS = 40_000
PY = sys.executable
rss_peak: dict[str, float] = {}


def emit(metric: str, value: float | None, unit: str, ref: str) -> None:
    row = {"bench": "ingest", "metric": metric, "value": value, "unit": unit, "ref": ref}
    print(json.dumps(row), flush=True)


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


@contextmanager
def environment() -> Iterator[tuple[Broker, str]]:
    broker = Broker().start()
    try:
        with scratch_database("commtwin_bench_ingest") as url:
            db.upgrade(url, prefer="plain")
            add_community(url, "bench")
            yield broker, url
    finally:
        broker.close()


def publisher(broker: Broker, count: int, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [PY, "-m", "tests.ingest.publisher", "--url", broker.url, "--count", str(count),
         "--community", "bench", *extra],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


class Ingestor:
    def __init__(self, broker: Broker, url: str, client_id: str, *extra: str) -> None:
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("COMMTWIN_")}
        env.update(
            COMMTWIN_DATABASE_URL=url,
            COMMTWIN_MQTT_URL=broker.url,
            COMMTWIN_METRICS_PORT=str(self.port),
            COMMTWIN_LOG_LEVEL="WARNING",
        )
        self.proc = subprocess.Popen(
            [PY, "-m", "commtwin", "ingest", "--client-id", client_id,
             "--metrics-host", "127.0.0.1", *extra],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        self.name = client_id
        self._stop = threading.Event()
        threading.Thread(target=self._sample_rss, daemon=True).start()

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if self.metric("commtwin_ingest_mqtt_connected") == 1.0:
                    time.sleep(0.5)  # let the broker register the new subscription
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"ingestor {self.name} not ready")

    def metric(self, name: str, labels: str = "") -> float:
        body = urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=5).read()
        pattern = re.escape(name + (f"{{{labels}}}" if labels else "")) + r" ([0-9.e+]+)"
        found = re.search(pattern.encode(), body)
        return float(found.group(1)) if found else 0.0

    def _sample_rss(self) -> None:
        while not self._stop.wait(0.5) and self.proc.poll() is None:
            try:
                status = Path(f"/proc/{self.proc.pid}/status").read_text()
            except OSError:
                return
            kb = int(re.search(r"VmRSS:\s+(\d+)", status).group(1))  # type: ignore[union-attr]
            rss_peak[self.name] = max(rss_peak.get(self.name, 0.0), kb / 1024)

    def stop(self) -> None:
        self._stop.set()
        self.proc.terminate()
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def windowed_rate(read: Callable[[], float], seconds: float) -> float:
    """Wait for the first counts, skip a warm-up, then measure over ``seconds``."""
    deadline = time.monotonic() + 30
    while read() == 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(WARMUP)
    c1, t1 = read(), time.monotonic()
    time.sleep(seconds)
    c2, t2 = read(), time.monotonic()
    return (c2 - c1) / (t2 - t1)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bench_versus_mosquitto_sub(seconds: float, offered: float) -> dict[str, float]:
    """Ingestor and mosquitto_sub receiving one feed together, same window:
    each one's msg/s and CPU µs per message (robust on a shared machine).

    mosquitto_sub prints one byte per message (``-F . -N``, stdio-buffered into
    4 KiB writes) into a file in /dev/shm: as cheap as /dev/null, and the
    file's size is its count (give or take the 4 KiB in its buffer).
    """
    with environment() as (broker, url), tempfile.TemporaryDirectory(dir="/dev/shm") as tmp:
        ing = Ingestor(broker, url, "bench-versus")
        ing.wait_ready()
        out = Path(tmp) / "mosquitto_sub.out"
        with out.open("wb") as sink:
            sub = subprocess.Popen(
                ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(broker.port), "-V", "mqttv5",
                 "-i", "bench-mosquitto-sub", "-c", "-x", "3600", "-q", "1",
                 "-t", "commtwin/v1/#", "-F", ".", "-N"],
                stdout=sink, stderr=subprocess.PIPE,
            )  # fmt: skip
        time.sleep(1.0)  # subscribed
        pub = publisher(broker, int(offered * (seconds + WARMUP + 15)), "--rate", str(offered))

        def counts() -> tuple[float, float, float, float, float]:
            received = ing.metric("commtwin_ingest_messages_total")
            cpu = cpu_seconds(ing.proc.pid), cpu_seconds(sub.pid)
            return received, float(out.stat().st_size), time.monotonic(), *cpu

        try:
            deadline = time.monotonic() + 30
            while counts()[1] == 0 and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(WARMUP)
            i1, s1, t1, ci1, cs1 = counts()
            time.sleep(seconds)
            i2, s2, t2, ci2, cs2 = counts()
        finally:
            pub.kill()
            pub.wait()
            sub.kill()
            _, errors = sub.communicate()
            ing.stop()
        if s2 == s1:
            raise RuntimeError(f"mosquitto_sub received nothing: {errors.decode()[-500:]}")
        return {
            "ingestor": (i2 - i1) / (t2 - t1),
            "mosquitto_sub": (s2 - s1) / (t2 - t1),
            "ingestor_cpu_us": (ci2 - ci1) / max(1.0, i2 - i1) * 1e6,
            "mosquitto_sub_cpu_us": (cs2 - cs1) / (s2 - s1) * 1e6,
        }


def bench_ingestors(
    n: int, seconds: float, offered: float, *extra: str, rows: bool = False
) -> float:
    with environment() as (broker, url):
        group = ("--group", "bench") if n > 1 else ()
        ingestors = [Ingestor(broker, url, f"bench-{i}", *group) for i in range(n)]
        for ing in ingestors:
            ing.wait_ready()
        count = int(offered * (seconds + WARMUP + 15))
        pub = publisher(broker, count, "--rate", str(offered), *extra)

        def read() -> float:
            if rows:
                return sum(i.metric("commtwin_ingest_rows_written_total", 'table="readings"')
                           for i in ingestors)  # fmt: skip
            return sum(i.metric("commtwin_ingest_messages_total") for i in ingestors)

        try:
            rate = windowed_rate(read, seconds)
        finally:
            pub.kill()
            pub.wait()
            for ing in ingestors:
                ing.stop()
        return rate


def bench_latency(seconds: float, rate: float = 5000.0) -> tuple[float, float]:
    with environment() as (broker, url):
        ing = Ingestor(broker, url, "bench-latency")
        ing.wait_ready()
        commits: list[tuple[float, int]] = []
        stop = threading.Event()

        def listen() -> None:
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("LISTEN commtwin_batches")
                total = 0
                while not stop.is_set():
                    for note in conn.notifies(timeout=0.5):
                        total += json.loads(note.payload)["rows"]
                        commits.append((time.time(), total))

        listener = threading.Thread(target=listen, daemon=True)
        listener.start()
        time.sleep(0.5)
        pub = publisher(broker, int(rate * seconds), "--rate", str(rate), "--live-ts",
                        "--timeline", "--chunk", "10")  # fmt: skip
        out, _err = pub.communicate(timeout=seconds + 120)
        expected = 3 * int(rate * seconds)
        deadline = time.monotonic() + 60
        while (not commits or commits[-1][1] < expected) and time.monotonic() < deadline:
            time.sleep(0.1)
        stop.set()
        ing.stop()
        timeline = json.loads(out)["timeline"]
    latencies = []
    ci = 0
    start = 0
    for sent_at, cumulative in timeline:
        for i in range(start, cumulative):
            need = 3 * (i + 1)
            while ci < len(commits) and commits[ci][1] < need:
                ci += 1
            if ci == len(commits):
                break
            latencies.append(commits[ci][0] - sent_at)
        start = cumulative
    skip = int(rate * 2)  # the first two seconds warm caches and JITs nothing: drop them
    latencies = sorted(latencies[skip:])
    if not latencies:
        return float("nan"), float("nan")
    p50 = latencies[len(latencies) // 2]
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    return p50 * 1000, p99 * 1000


def main() -> int:
    log(f"bench_ingest: window {LONG:.0f} s (single, versus), {SHORT:.0f} s (others)")
    v = bench_versus_mosquitto_sub(LONG, OFFERED_VERSUS)
    load = f"load avg {os.getloadavg()[0]:.1f}"
    log(f"  same feed: ingestor {v['ingestor']:,.0f} msg/s, "
        f"mosquitto_sub {v['mosquitto_sub']:,.0f} msg/s ({load})")  # fmt: skip
    same = f"same feed and window, offered {OFFERED_VERSUS:,} msg/s, {load}"
    emit("versus_ingestor_messages_per_s", round(v["ingestor"], 1), "msg/s", same)
    emit("versus_mosquitto_sub_messages_per_s", round(v["mosquitto_sub"], 1), "msg/s", same)
    emit("ratio_to_mosquitto_sub", round(v["ingestor"] / v["mosquitto_sub"], 3), "",
         f">= 0.8 ({load})")  # fmt: skip
    emit("versus_ingestor_cpu_us_per_msg", round(v["ingestor_cpu_us"], 2), "us", "report")
    emit("versus_mosquitto_sub_cpu_us_per_msg", round(v["mosquitto_sub_cpu_us"], 2), "us",
         "report")  # fmt: skip
    if os.environ.get("BENCH_INGEST_ONLY") == "versus":
        return 0
    single = bench_ingestors(1, LONG, OFFERED_SINGLE)
    log(f"  one ingestor: {single:,.0f} msg/s")
    offered = f"offered {OFFERED_SINGLE:,} msg/s"
    emit("single_ingestor_messages_per_s", round(single, 1), "msg/s", f">= 12000 ({offered})")
    shared = bench_ingestors(2, SHORT, OFFERED_SHARED)
    log(f"  two shared ingestors: {shared:,.0f} msg/s")
    emit(
        "two_shared_ingestors_messages_per_s",
        round(shared, 1),
        "msg/s",
        f">= 18000 (offered {OFFERED_SHARED:,} msg/s)",
    )
    gateway = bench_ingestors(1, SHORT, 1_000, "--gateway", "100", rows=True)
    log(f"  gateway batches: {gateway:,.0f} rows/s")
    emit("gateway_batch_rows_per_s", round(gateway, 1), "rows/s", ">= 100000")
    p50, p99 = bench_latency(SHORT)
    log(f"  latency at 5,000 msg/s: p50 {p50:.0f} ms, p99 {p99:.0f} ms")
    emit("latency_p50_ms_at_5000_msg_s", round(p50, 1), "ms", "report")
    emit("latency_p99_ms_at_5000_msg_s", round(p99, 1), "ms", "<= 500")
    peak = max(rss_peak.values()) if rss_peak else float("nan")
    log(f"  peak ingestor RSS: {peak:.0f} MB ({rss_peak})")
    emit("ingestor_peak_rss_mb_under_overload", round(peak, 1), "MB", "< 300")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
