"""Change-to-visible latency of the live state, for bench/bench_api_live.py.

Device status messages are published over MQTT one every 150 ms; the commit
time of each is the arrival of its ``commtwin_changes`` NOTIFY at this
process; it is visible when ``/stream`` sends its event and when ``/live``
(polled every 5 ms with If-None-Match) first answers a version holding it.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion

from tests.services import Broker

CID = "bench"


def emit(metric: str, value: float, unit: str, ref: str) -> None:
    line = {"bench": "api_live", "metric": metric, "value": round(value, 2), "unit": unit}
    print(json.dumps({**line, "ref": ref}), flush=True)


def log(message: str) -> None:
    print(f"[bench_api_live] {message}", file=sys.stderr, flush=True)


class Visibility:
    """Commit (NOTIFY), /stream and /live arrival times per change sequence."""

    def __init__(self, url: str, base: str, key: str) -> None:
        self.commit: dict[int, float] = {}
        self.ref: dict[str, int] = {}
        self.sse: dict[int, float] = {}
        self.polls: list[tuple[float, int]] = []  # (time, version) of each new /live
        self.stop = threading.Event()
        self.auth = {"Authorization": f"Bearer {key}"}
        self.base = base
        for target in (lambda: self._listen(url), self._stream, self._poll):
            threading.Thread(target=self._quietly, args=(target,), daemon=True).start()

    def _quietly(self, target: Callable[[], None]) -> None:
        try:
            target()
        except (httpx.HTTPError, psycopg.Error):
            if not self.stop.is_set():  # the servers stop under our feet at the end
                raise

    def _listen(self, url: str) -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("LISTEN commtwin_changes")
            for note in conn.notifies():
                t = time.monotonic()
                doc = json.loads(note.payload)
                # One notification per commit: its rows' sequences lie in first..seq.
                for seq in range(int(doc["first"]), int(doc["seq"]) + 1):
                    self.commit.setdefault(seq, t)
                if self.stop.is_set():
                    return

    def _stream(self) -> None:
        with (
            httpx.Client(timeout=httpx.Timeout(10, read=None)) as client,
            client.stream(
                "GET", f"{self.base}/v1/communities/{CID}/stream", headers=self.auth
            ) as response,
        ):
            for line in response.iter_lines():
                if line.startswith("id: "):
                    self.sse.setdefault(int(line[4:]), time.monotonic())
                if self.stop.is_set():
                    return

    def _poll(self) -> None:
        etag = None
        with httpx.Client(timeout=10) as client:
            while not self.stop.is_set():
                headers = dict(self.auth)
                if etag:
                    headers["If-None-Match"] = etag
                r = client.get(f"{self.base}/v1/communities/{CID}/live", headers=headers)
                if r.status_code == 200:
                    self.polls.append((time.monotonic(), int(r.json()["version"])))
                    etag = r.headers["etag"]
                time.sleep(0.005)

    def live_at(self, seq: int) -> float | None:
        """When /live first answered a version holding ``seq``."""
        return next((t for t, version in self.polls if version >= seq), None)


def change_latency(url: str, base: str, key: str, broker: Broker, n: int) -> None:
    vis = Visibility(url, base, key)
    time.sleep(1.0)
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-{os.getpid()}")
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    published: dict[str, float] = {}
    for i in range(n):
        device = f"d{i:04d}"
        payload = json.dumps({"online": False, "ts": datetime.now(UTC).isoformat()})
        published[device] = time.monotonic()
        client.publish(f"commtwin/v1/{CID}/devices/{device}/status", payload, qos=1)
        time.sleep(0.15)
    time.sleep(2.0)
    vis.stop.set()
    client.loop_stop()
    client.disconnect()
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT ref, max(seq) FROM change_log WHERE kind = 'device' GROUP BY ref"
        ).fetchall()
    vis.ref = {str(ref): int(seq) for ref, seq in rows}
    seqs = {d: vis.ref[d] for d in published if d in vis.ref and vis.ref[d] in vis.commit}
    if len(seqs) < n:
        log(f"only {len(seqs)} of {n} changes committed")
    to_sse = [max(0.0, (vis.sse[s] - vis.commit[s]) * 1e3) for s in seqs.values() if s in vis.sse]
    # Clamped at 0: the API may see a commit a moment before this process does.
    live_at = {s: vis.live_at(s) for s in seqs.values()}
    to_live = [max(0.0, (t - vis.commit[s]) * 1e3) for s, t in live_at.items() if t is not None]
    pub = [(vis.sse[s] - published[d]) * 1e3 for d, s in seqs.items() if s in vis.sse]
    for name, samples in (("commit_to_stream", to_sse), ("commit_to_live", to_live),
                          ("publish_to_stream", pub)):  # fmt: skip
        if len(samples) < len(seqs):
            log(f"{name}: {len(seqs) - len(samples)} changes never seen")
        q = statistics.quantiles(samples, n=100, method="inclusive")
        load = f"load avg {os.getloadavg()[0]:.1f}"
        target = f"<= 1000 ({load})" if name.startswith("commit") else "includes ingest batching"
        emit(f"change_{name}_p50_ms", statistics.median(samples), "ms", "report")
        emit(f"change_{name}_p99_ms", q[98], "ms", target)
        emit(f"change_{name}_missed", float(n - len(samples)), "changes", "0")
