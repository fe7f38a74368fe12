#!/usr/bin/env python
"""Soak under faults (issue 16): the realistic feed for --seconds (default 600) while a
fault loop kills and restarts, at random, an ingestor (SIGKILL), the API process
(SIGKILL), the broker (stop and start) and the database (SIGKILL of the postmaster).

Everything runs here: a PostgreSQL cluster of its own (:mod:`tests.pgcluster`),
a private Mosquitto with the project's config, two ``commtwin ingest`` on one
shared subscription, one ``commtwin api`` process, a recorder (persistent
session, QoS 1: what the broker accepted) and a watcher on ``/stream``.
Afterwards the recorded feed is replayed into a fresh database through a fresh
broker and one ingestor (the clean replay), and the two databases are compared
table by table as :mod:`tests.simulators.test_end_to_end` does (readings,
statuses, positions, reading-driven alarms, incidents and their events, dead
letters; alarms raised by the clock (no-data, duration, care) are held out, as
are last-will statuses stored at their receive time). Reported: faults
injected, messages, rows lost (in the replay, not in the soak), duplicates (in
the soak, not in the replay), and partial versions seen (a ``/stream`` group
holding part of a commit).

Prints JSON lines (docs/CONTRIBUTING.md). ``--seconds 60`` for a quick look.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import paho.mqtt.client as mqtt  # noqa: E402
import psycopg  # noqa: E402
from paho.mqtt.enums import CallbackAPIVersion  # noqa: E402

from api.db import run_once  # noqa: E402
from api.queries.keys import create_key  # noqa: E402
from commtwin import db  # noqa: E402
from simulators.broker import BrokerConfig  # noqa: E402
from simulators.community_gen import CommunitySpec, generate_community  # noqa: E402
from simulators.realistic import RealisticRun, run_realistic_async  # noqa: E402
from simulators.recording import encode_line, read_recording, replay  # noqa: E402
from simulators.scenario import FeedOptions  # noqa: E402
from tests.ingest.helpers import IngestProcess  # noqa: E402
from tests.pgcluster import PgCluster  # noqa: E402
from tests.services import Broker, free_port  # noqa: E402
from tests.simulators.test_end_to_end import SNAPSHOT, _import, _settled, _snapshot  # noqa: E402
from twin.rules.care import CARE_RULE_IDS  # noqa: E402

PY = sys.executable
CID = "soak"
FAULTS = ["ingestor", "api", "broker", "database"]
INGESTORS = [2]  # on one shared subscription


def emit(metric: str, value: float, unit: str, ref: str) -> None:
    line = {"bench": "soak", "metric": metric, "value": value, "unit": unit, "ref": ref}
    print(json.dumps(line), flush=True)


def log(message: str) -> None:
    print(f"[bench_soak] {message}", file=sys.stderr, flush=True)


class Recorder:
    """What the broker accepted, in its order: a persistent QoS 1 session that
    resubscribes after a broker restart and gets what was queued meanwhile."""

    def __init__(self, port: int, topic: str, out: Path) -> None:
        self.fh = out.open("w", encoding="utf-8")
        self.count = 0
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"soak-rec-{os.getpid()}", clean_session=False
        )
        self.client.on_connect = lambda c, *_: c.subscribe(topic, qos=1)
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(1, 2)
        self.client.connect("127.0.0.1", port, keepalive=10)
        self.client.loop_start()

    def _on_message(self, _c: object, _u: object, msg: mqtt.MQTTMessage) -> None:
        line = encode_line(time.time(), msg.topic, bytes(msg.payload), qos=1, retain=msg.retain)
        self.fh.write(line + "\n")
        self.count += 1

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
        self.fh.close()


class Watcher:
    """Reads /stream (reconnecting) and keeps each group of events before a version."""

    def __init__(self, base: str, key: str) -> None:
        self.url = f"{base}/v1/communities/{CID}/stream"
        self.headers = {"Authorization": f"Bearer {key}"}
        self.groups: list[list[dict[str, Any]]] = []
        self.resets = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.is_set():
            group: list[dict[str, Any]] = []
            try:
                with (
                    httpx.Client(timeout=httpx.Timeout(5, read=30)) as client,
                    client.stream("GET", self.url, headers=self.headers) as r,
                ):
                    event = ""
                    for line in r.iter_lines():
                        if line.startswith("event: "):
                            event = line[7:]
                        elif line.startswith("data: ") and event == "version":
                            self.groups.append(group)
                            group = []
                        elif line.startswith("data: ") and event == "reset":
                            self.resets += 1
                            group = []  # a reset: the client refetches, the group is void
                        elif line.startswith("data: ") and event:
                            group.append(json.loads(line[6:]))
                        if self.stop.is_set():
                            return
            except (httpx.HTTPError, OSError):
                time.sleep(0.5)  # the API or its database is down: a screen retries

    def partial_groups(self, url: str) -> int:
        with psycopg.connect(url) as conn:
            rows = conn.execute(
                "SELECT tx::text, count(*) FROM change_log WHERE community_id = %s GROUP BY tx",
                (CID,),
            ).fetchall()
        size = {str(tx): int(n) for tx, n in rows}
        partial = 0
        for group in self.groups:
            seen = Counter(str(e.get("commit")) for e in group)
            partial += any(n != size.get(tx, -1) for tx, n in seen.items())
        return partial


class Services:
    def __init__(self, pg: PgCluster, url: str, broker: Broker, root: str, logs: Path) -> None:
        self.pg, self.url, self.broker, self.root, self.logs = pg, url, broker, root, logs
        self.api_port = free_port()
        self.base = f"http://127.0.0.1:{self.api_port}"
        self.ingestors = [self._ingestor(i) for i in range(INGESTORS[0])]
        self.api = self._api()

    def _ingestor(self, n: int) -> IngestProcess:
        p = IngestProcess(
            self.url,
            self.broker.url,
            self.logs,
            client_id=f"soak-ingest-{n}",
            root=self.root,
            extra=("--linger-ms", "50"),
        )
        p.wait_connected(60)
        return p

    def _api(self) -> subprocess.Popen[bytes]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("COMMTWIN_")}
        env |= {"COMMTWIN_DATABASE_URL": self.url, "COMMTWIN_LOG_LEVEL": "WARNING"}
        cmd = [PY, "-m", "commtwin", "api", "--port", str(self.api_port), "--workers", "1"]
        cmd += ["--rate", "1e9", "--burst", "1e9"]
        with (self.logs / "api.log").open("ab") as log_file:  # the child keeps its own copy
            return subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=log_file, stderr=log_file)

    def fault(self, kind: str, rng: random.Random) -> None:
        if kind == "ingestor":
            n = rng.randrange(len(self.ingestors))
            self.ingestors[n].kill()
            time.sleep(rng.uniform(0.5, 3.0))
            self.ingestors[n] = self._ingestor(n)
        elif kind == "api":
            self.api.kill()
            self.api.wait(10)
            time.sleep(rng.uniform(0.5, 2.0))
            self.api = self._api()
        elif kind == "broker":
            self.broker.stop()
            time.sleep(rng.uniform(0.5, 3.0))
            self.broker.start()
        else:
            self.pg.kill()
            time.sleep(rng.uniform(0.5, 3.0))
            self.pg.start()

    def close(self) -> None:
        for p in self.ingestors:
            if p.proc.poll() is None:
                p.terminate()
        self.api.terminate()
        self.api.wait(20)


def wait_ready(base: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/readyz", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"the API at {base} is not ready")


def feed_run(model: Path, root: str, seconds: float, seed: int) -> RealisticRun:
    return RealisticRun(
        model=model,
        topic_root=root,
        speed=60.0,
        duration=seconds,
        options=FeedOptions(
            # No gateway outages: a last will carries no timestamp, so its row
            # holds the receive time, which a replay cannot reproduce.
            seed=seed,
            event_rate=30.0,
            incidents_per_day=200.0,
            outages=False,
            bad_fraction=0.002,
        ),
        progress=False,
    )


def soak(seconds: float, seed: int, work: Path, ingestors: int | None = None) -> dict[str, Any]:
    """One soak; ``ingestors`` (default: --ingestors) share one subscription."""
    if ingestors is not None:
        INGESTORS[0] = ingestors
    rng = random.Random(seed)
    root = f"soak-{secrets.token_hex(3)}/v1"
    model = generate_community(CommunitySpec(buildings=4, seed=seed, id=CID))
    model_path = work / "model.json"
    recording = work / "feed.jsonl"
    faults: Counter[str] = Counter()
    with PgCluster() as pg:
        soaked = pg.create_database("soaked")
        clean = pg.create_database("clean")
        for url in (soaked, clean):
            db.upgrade(url, prefer="plain")
            _import(url, model, model_path)
        key = run_once(soaked, lambda c: create_key(c, ["cockpit:read"], [CID], "soak")).key
        broker = Broker().start()
        recorder = Recorder(broker.port, f"{root}/#", recording)
        services = Services(pg, soaked, broker, root, work)
        wait_ready(services.base)
        watcher = Watcher(services.base, key)
        done = threading.Event()

        def fault_loop() -> None:
            while not done.wait(rng.uniform(15.0, 40.0)):
                kind = rng.choice(FAULTS)
                log(f"fault: {kind}")
                services.fault(kind, rng)
                faults[kind] += 1

        looper = threading.Thread(target=fault_loop, daemon=True)
        looper.start()
        fed = asyncio.run(_feed(feed_run(model_path, root, seconds, seed), broker.url))
        done.set()
        looper.join(120)
        wait_ready(services.base)
        time.sleep(3.0)  # the recorder's and ingestors' queues drain
        _settled(soaked, timeout=120)
        recorder.close()
        last = _scalar(soaked, "SELECT max(seq) FROM change_log")
        _wait(lambda: _version(services.base, key) >= last, 60)
        watcher.stop.set()
        partial = watcher.partial_groups(soaked)
        services.close()
        broker.close()
        log(f"replaying {recorder.count} recorded messages into a clean database")
        clean_replay(clean, root, recording, work)
        a, b = _snapshot(soaked), _snapshot(clean)
    lost, dups, unstamped = compare(a, b, stamped_statuses(recording))
    return {
        "faults": dict(faults),
        "published": int(fed.get("sent", 0)) + sum(fed.get("bad", {}).values()),
        "recorded": recorder.count,
        "rows": {t: len(rows) for t, rows in a.items()},
        "lost": lost,
        "duplicates": dups,
        "receive_time_statuses": unstamped,
        "partial_versions": partial,
        "stream_groups": len(watcher.groups),
        "stream_resets": watcher.resets,
        "feed_errors": int(fed.get("errors", 0)),
    }


def clean_replay(url: str, root: str, recording: Path, work: Path) -> None:
    """The recorded feed into ``url`` through a fresh broker and one ingestor, no faults."""
    fresh = Broker().start()
    try:
        ingestor = IngestProcess(url, fresh.url, work, client_id="soak-clean", root=root)
        ingestor.wait_connected(60)
        asyncio.run(
            replay(BrokerConfig.from_url(fresh.url), recording, speed=0, show_progress=False)
        )
        _settled(url, timeout=300)
        ingestor.terminate()
    finally:
        fresh.close()


def stamped_statuses(recording: Path) -> set[str]:
    """Devices' status messages that carry no ``ts`` (last wills) are stored at
    their receive time, which no replay reproduces; the rest carry their time."""
    wills: set[str] = set()
    for r in read_recording(recording):
        if r.topic.endswith("/status") and b'"ts"' not in r.payload:
            wills.add(r.topic.rsplit("/", 2)[-2])
    return wills


Snapshot = dict[str, list[tuple[Any, ...]]]


def compare(
    a: Snapshot, b: Snapshot, wills: set[str]
) -> tuple[dict[str, int], dict[str, int], int]:
    """Rows only in the replay (lost), only in the soak (duplicates), per table;
    and the number of offline statuses held out of the comparison because a last
    will (stored at its receive time: a retained will comes again after every
    reconnect of the recorder) may have made them."""

    def will_row(row: tuple[Any, ...]) -> bool:
        return row[0] in wills and row[2] is False and row[3] is None

    unstamped = sum(1 for row in a["device_status"] if will_row(row))
    for snap in (a, b):
        snap["device_status"] = [r for r in snap["device_status"] if not will_row(r)]
        # Care alarms are raised by the ingestor's clock ticks (like no-data and
        # duration ones), so they, their incidents and events depend on when
        # ticks ran relative to the data, which a replay at full speed changes.
        for t in ("alarms", "incidents", "incident_events"):
            snap[t] = [r for r in snap[t] if not any(c in repr(r) for c in CARE_RULE_IDS)]
    lost = {t: sum((Counter(b[t]) - Counter(a[t])).values()) for t in SNAPSHOT}
    dups = {t: sum((Counter(a[t]) - Counter(b[t])).values()) for t in SNAPSHOT}
    for t in SNAPSHOT:
        for name, diff in (("only in replay", Counter(b[t]) - Counter(a[t])),
                           ("only in soak", Counter(a[t]) - Counter(b[t]))):  # fmt: skip
            for row in list(diff)[:4]:
                log(f"{t}: {name}: {row}")
    return lost, dups, unstamped


async def _feed(run: RealisticRun, url: str) -> dict[str, Any]:
    return await run_realistic_async(run, BrokerConfig.from_url(url))


def _scalar(url: str, query: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(query.encode()).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def _version(base: str, key: str) -> int:
    try:
        r = httpx.get(
            f"{base}/v1/communities/{CID}/live",
            headers={"Authorization": f"Bearer {key}"},
            timeout=5,
        )
    except httpx.HTTPError:
        return -1
    return int(r.json()["version"]) if r.status_code == 200 else -1


def _wait(check: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.5)
    return bool(check())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=600.0, help="feed duration (real s)")
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--ingestors", type=int, default=2, help="on one shared subscription")
    parser.add_argument("--faults", default=",".join(FAULTS), help="kinds of fault to inject")
    a = parser.parse_args(argv)
    FAULTS[:] = [f for f in a.faults.split(",") if f]
    INGESTORS[0] = a.ingestors
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="commtwin-soak-") as tmp:
        result = soak(a.seconds, a.seed, Path(tmp))
    log(json.dumps(result))
    note = f"{a.seconds:.0f} s, load avg {load:.1f}-{os.getloadavg()[0]:.1f}"
    emit("faults_injected", sum(result["faults"].values()), "faults", f"{result['faults']}")
    emit("messages", result["recorded"], "messages", f"{result['rows']['readings']} readings")
    lost = {t: n for t, n in result["lost"].items() if n}
    dups = {t: n for t, n in result["duplicates"].items() if n}
    emit("rows_lost", sum(lost.values()), "rows", f"= 0 ({note}; by table: {lost})")
    emit("duplicates", sum(dups.values()), "rows", f"= 0 (by table: {dups})")
    emit("receive_time_statuses", result["receive_time_statuses"], "rows",
         "report (last wills: stored at their receive time, held out)")  # fmt: skip
    emit("partial_versions_seen", result["partial_versions"], "versions",
         f"= 0 of {result['stream_groups']} /stream groups")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
