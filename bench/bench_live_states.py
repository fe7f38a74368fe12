#!/usr/bin/env python
"""The API's memory and start-up with a district's live states (issue 15, part 2).

A database holding one district of ``--communities`` generated communities
(``simulators.district_gen``, ``--buildings`` each: 21 buildings is ~2,000
devices, 200 communities ~400,000 devices), and ``commtwin api`` in its own
process. States are built lazily: nothing is held until asked for.

* ``district_cold_build_s``: from the first ``/overview`` request of a fresh
  API process (every member's state built from the database) to its answer;
  ``restart_to_overview_s``: from starting a new API process on the same
  database to its first full overview (process start included), target
  <= 30 s for the whole district.
* ``api_rss_mib``: resident memory of the API (its processes summed) with
  every member's state held and its ``/live`` rendered (identity and gzip),
  target <= 2048 MiB; ``api_rss_per_state_mib`` the increase per state.
* ``overview_p50_ms``/``p99``: the overview answered 200 (no ETag) with
  nothing changing, 50 requests.
* ``ingest_caches_mib``: Python memory (tracemalloc) of ingest's device-key
  registry and per-community places after resolving every device and
  loading every community (``--places-sample N``: N of them, scaled up), as
  an ingestor fed by the whole district holds.

Options: --communities, --buildings, --workers (of ``commtwin api``, default
1; each worker holds its own states), --database-url URL (use and keep a
database; one already holding the district is reused, so reruns skip the
import). Prints JSON lines (docs/CONTRIBUTING.md).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import psycopg  # noqa: E402

from api.db import run_once  # noqa: E402
from api.queries.districts import add_members, create_district, district_members  # noqa: E402
from api.queries.keys import create_key  # noqa: E402
from bench.cpu_split import TICKS, ticks_of  # noqa: E402
from commtwin import db  # noqa: E402
from commtwin.cmd_district import generate_and_import  # noqa: E402
from ingest.places import Places  # noqa: E402
from ingest.registry import Registry  # noqa: E402
from simulators.district_gen import DistrictSpec, community_ids  # noqa: E402
from tests.services import free_port, scratch_database  # noqa: E402

DISTRICT = "bench-district"
PAGE = os.sysconf("SC_PAGE_SIZE")


def emit(metric: str, value: float, unit: str, ref: str) -> None:
    line = {"bench": "live_states", "metric": metric, "value": round(value, 3), "unit": unit}
    print(json.dumps({**line, "ref": ref}), flush=True)


def log(message: str) -> None:
    print(f"[bench_live_states] {message}", file=sys.stderr, flush=True)


def load_note() -> str:
    return f"load avg {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"


def ensure_district(url: str, spec: DistrictSpec) -> list[str]:
    """The district's members, generating and importing them unless already there."""
    db.upgrade(url, prefer="plain")
    wanted = community_ids(spec)
    found = run_once(url, lambda c: district_members(c, DISTRICT))
    if found is not None and [m.id for m in found.members] == wanted:
        log(f"reusing the {len(wanted)} communities already in the database")
        return wanted
    log(f"generating and importing {spec.communities} communities of {spec.buildings} buildings")
    started = time.monotonic()
    ids = generate_and_import(url, spec, quiet=True)
    log(f"imported in {time.monotonic() - started:.0f} s")
    run_once(url, lambda c: create_district(c, DISTRICT, "Bench district"))
    run_once(url, lambda c: add_members(c, DISTRICT, ids))
    return ids


# A new connection per request: with several workers on one port (SO_REUSEPORT)
# requests then reach every worker, and each builds and holds its own states.
_FRESH = httpx.Limits(max_keepalive_connections=0)
_NO_LIMIT = ("--rate", "1000000", "--burst", "1000000")


def tree_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) used so far by ``pid`` and its descendants."""
    total = 0
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            total += ticks_of(p)
            with open(f"/proc/{p}/task/{p}/children") as f:
                todo.extend(int(c) for c in f.read().split())
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total / TICKS


def tree_rss_mib(pid: int) -> float:
    """Resident memory of ``pid`` and its descendants (several API workers summed)."""
    total = 0
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/statm") as f:
                total += int(f.read().split()[1]) * PAGE
            with open(f"/proc/{p}/task/{p}/children") as f:
                todo.extend(int(c) for c in f.read().split())
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total / 2**20


@contextmanager
def api_process(url: str, port: int, workers: int) -> Iterator[subprocess.Popen[bytes]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMMTWIN_")}
    env |= {"COMMTWIN_DATABASE_URL": url, "COMMTWIN_API_PORT": str(port),
            "COMMTWIN_LOG_LEVEL": "WARNING"}  # fmt: skip
    logfile = tempfile.TemporaryFile()  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        # No rate limit: the bench is one key asking for every community.
        [sys.executable, "-m", "commtwin", "api", "--workers", str(workers), *_NO_LIMIT],
        cwd=ROOT,
        env=env,
        stdout=logfile,
        stderr=subprocess.STDOUT,
    )
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.returncode not in (0, -15):
            logfile.seek(0)
            log(f"api exited {proc.returncode}: {logfile.read()[-2000:].decode(errors='replace')}")
        logfile.close()


def first_overview(client: httpx.Client, timeout_s: float = 300.0) -> dict[str, object]:
    """Ask until the whole overview is there (503 while states are built)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            r = client.get(f"/v1/districts/{DISTRICT}/overview")
        except httpx.TransportError:
            time.sleep(0.05)
            continue
        if r.status_code == 200:
            body: dict[str, object] = r.json()
            return body
        if r.status_code not in (502, 503):
            raise RuntimeError(f"overview answered {r.status_code}: {r.text[:300]}")
        time.sleep(0.05)
    raise RuntimeError("no overview in time")


def wait_listening(client: httpx.Client, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if client.get("/readyz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise RuntimeError("commtwin api did not become ready")


def measure_api(url: str, ids: list[str], key: str, workers: int) -> None:
    port = free_port()
    headers = {"Authorization": f"Bearer {key}"}
    base = f"http://127.0.0.1:{port}"
    with (
        api_process(url, port, workers) as api,
        httpx.Client(base_url=base, headers=headers, timeout=120, limits=_FRESH) as client,
    ):
        wait_listening(client)
        idle = tree_rss_mib(api.pid)
        cpu0 = tree_cpu_s(api.pid)
        started = time.monotonic()
        body = first_overview(client)
        cold = time.monotonic() - started
        cpu = tree_cpu_s(api.pid) - cpu0
        assert len(body["communities"]) == len(ids)  # type: ignore[arg-type]
        target = f"<= 30 for {len(ids)} communities ({load_note()})"
        emit("district_cold_build_s", cold, "s", target)
        # Robust on a shared machine: what the build cost the API in CPU.
        emit("district_cold_build_cpu_s", cpu, "s", "report")
        for _ in range(8 * workers - 1):  # every worker builds the district
            first_overview(client)
        for cid in ids:  # every /live rendered, both encodings, as screens would ask
            client.get(f"/v1/communities/{cid}/live").raise_for_status()
            client.get(f"/v1/communities/{cid}/live", headers={"Accept-Encoding": "gzip"})
        times = []
        for _ in range(50):
            t = time.perf_counter()
            client.get(f"/v1/districts/{DISTRICT}/overview").raise_for_status()
            times.append((time.perf_counter() - t) * 1e3)
        times.sort()
        emit("overview_p50_ms", statistics.median(times), "ms", "report")
        emit("overview_p99_ms", times[int(len(times) * 0.99) - 1], "ms", f"<= 100 ({load_note()})")
        rss = tree_rss_mib(api.pid)
        emit("api_rss_idle_mib", idle, "MiB", "report")
        held = f"{len(ids)} live states in each of {workers} worker(s)"
        emit("api_rss_mib", rss, "MiB", f"<= 2048 with {held}")
        emit("api_rss_per_state_mib", (rss - idle) / len(ids) / workers, "MiB", "per worker")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    started = time.monotonic()
    with (
        api_process(url, port, workers),
        httpx.Client(base_url=base, headers=headers, timeout=120, limits=_FRESH) as client,
    ):
        first_overview(client)
        emit("restart_to_overview_s", time.monotonic() - started, "s", f"<= 30 ({load_note()})")


def measure_ingest_caches(url: str, ids: list[str], places_sample: int) -> None:
    """What an ingestor fed by every device of the district keeps in memory."""
    with psycopg.connect(url, autocommit=True) as conn:
        pairs = [
            (str(c), str(d))
            for c, d in conn.execute(
                "SELECT community_id, id FROM devices WHERE community_id = ANY(%s)", (ids,)
            ).fetchall()
        ]
        gc.collect()
        tracemalloc.start()
        registry = Registry()
        places = Places()
        started = time.monotonic()
        registry.resolve_communities(conn, ids, 0)
        for i in range(0, len(pairs), 5000):
            registry.resolve_devices(conn, pairs[i : i + 5000])
            registry.commit()
        gc.collect()
        registry_bytes, _ = tracemalloc.get_traced_memory()
        sample = ids[:places_sample] if places_sample else ids
        for cid in sample:
            places.get(conn, cid)
        elapsed = time.monotonic() - started
        gc.collect()
        used, _ = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    per_model = (used - registry_bytes) / len(sample)
    total = registry_bytes + per_model * len(ids)
    emit("ingest_devices", len(registry.devices), "devices", "report")
    emit("ingest_registry_mib", registry_bytes / 2**20, "MiB", f"{len(pairs)} device keys")
    emit("ingest_places_per_community_mib", per_model / 2**20, "MiB", f"{len(sample)} models")
    note = f"bounded; {len(pairs)} devices, {len(ids)} models"
    emit("ingest_caches_mib", total / 2**20, "MiB", note)
    emit("ingest_caches_load_s", elapsed, "s", "report")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--communities", type=int, default=200)
    parser.add_argument("--buildings", type=int, default=21)
    parser.add_argument("--database-url", help="use (and keep) this database")
    parser.add_argument("--skip-ingest", action="store_true", help="only the API figures")
    parser.add_argument("--skip-api", action="store_true", help="only the ingest figures")
    parser.add_argument("--workers", type=int, default=1, help="commtwin api --workers")
    parser.add_argument(
        "--places-sample", type=int, default=0, help="load this many models (0: all), scale up"
    )
    a = parser.parse_args()
    spec = DistrictSpec(communities=a.communities, buildings=a.buildings, prefix="bd")

    def run(url: str) -> None:
        ids = ensure_district(url, spec)
        with psycopg.connect(url, autocommit=True) as conn:
            devices = conn.execute("SELECT count(*) FROM devices").fetchone()
        emit("district_devices", float(devices[0] if devices else 0), "devices", "report")
        key = run_once(
            url, lambda c: create_key(c, ["district:read"], [], "bench", districts=[DISTRICT])
        )
        if not a.skip_api:
            measure_api(url, ids, key.key, a.workers)
        if not a.skip_ingest:
            measure_ingest_caches(url, ids, a.places_sample)

    if a.database_url:
        run(a.database_url)
    else:
        with scratch_database("commtwin_bench_live_states") as url:
            run(url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
