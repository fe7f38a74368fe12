#!/usr/bin/env python
"""People's reports with photos, and the workers' task lists, under load (issue 22).

Everything runs on this machine, on loopback: a scratch database holding the
simulators' generated community (20 buildings, ~4,000 homes, ~2,700 devices),
a private Mosquitto, ``commtwin ingest``, ``commtwin api`` (``--api-workers``)
and the realistic feed (``commtwin simulate run``) in their own processes,
``wrk`` (Debian package) polling the task lists, and this process playing the
residents' phones. Who the people are and how they sign in: bench/people_world.py
(``--residents`` homes, ``--joins`` of them through invite + join, the rest
inserted with one precomputed argon2 hash; every session through
``POST /v1/session``).

The peak is 300 reports per hour. The hour is compressed: ``--rate`` reports
per hour (default 3,000, ten times the peak) for ``--minutes`` (default 5),
and the device feed runs ``--rate / 300`` times faster than real time too.
Reports are sent on schedule (open loop, one every 3600/rate s, each from
another resident, at home), each followed by its photo (a ~2 MB, 12 MP JPEG):

* ``report_p50/p99_ms``: ``POST /v1/me/incidents`` until its 201 (committed
  by the ingestor, auto-dispatch included), target p99 <= 300 ms; the photo
  is not part of it;
* ``photo_upload_p50/p99_ms``: the whole upload request, transfer included;
  ``photo_after_sent_*``: from its last byte handed to the socket to the 201
  (the server's checks, re-encoding, thumbnail and storing);
* ``task_list_p50/p99_ms``: ``GET /v1/me/incidents`` of ``--pollers`` grid
  workers (their sessions spread over wrk's connections), each polling every
  ``--poll-s``, for the whole run, target p99 <= 100 ms.

``--quick``: a smoke run (200 residents, 10 workers, 30 s). Every figure says
the load average it was measured under (the machine may be shared). Stops by
itself; prints JSON lines (docs/CONTRIBUTING.md).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import psycopg  # noqa: E402

from api.db import run_once  # noqa: E402
from api.queries.keys import create_key  # noqa: E402
from bench import people_world as world  # noqa: E402
from bench.bench_api_live import base_env, process, wrk  # noqa: E402
from bench.people_figures import PEAK_PER_HOUR, Samples, emit, percentile, report  # noqa: E402
from commtwin import db  # noqa: E402
from commtwin.api_workers import default_workers  # noqa: E402
from tests.services import Broker, free_port, scratch_database  # noqa: E402
from twin.incidents.categories import RESIDENT_CATEGORIES  # noqa: E402

PY = sys.executable


def log(message: str) -> None:
    print(f"[bench_people] {message}", file=sys.stderr, flush=True)


def multipart(photo: bytes, client_id: str) -> tuple[bytes, str]:
    """A phone's upload form: the photo and its client id."""
    boundary = os.urandom(12).hex()
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="client_id"\r\n\r\n'
        f"{client_id}\r\n--{boundary}\r\n"
        'Content-Disposition: form-data; name="file"; filename="IMG_0001.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n"
    ).encode()
    return (
        head + photo + f"\r\n--{boundary}--\r\n".encode(),
        f"multipart/form-data; boundary={boundary}",
    )


def chunks(data: bytes, sent: list[float]) -> Iterator[bytes]:
    """The body in 64 KiB pieces; ``sent`` gets the time the last one was taken."""
    for start in range(0, len(data), 65536):
        yield data[start : start + 65536]
    sent.append(time.perf_counter())


def report_once(base: str, phone: world.Phone, n: int, photo: bytes, out: Samples) -> None:
    """One resident's report from home, then its photo."""
    body = {
        "client_id": f"bench-{n}",
        "category": RESIDENT_CATEGORIES[n % len(RESIDENT_CATEGORIES)],
        "description": f"bench report {n}: water on the landing by the lift",
        "place": {"kind": "home"},
    }
    with httpx.Client(base_url=base, headers=phone.headers(), timeout=60) as http:
        started = time.perf_counter()
        r = http.post("/v1/me/incidents", json=body)
        with out.lock:
            out.report_ms.append((time.perf_counter() - started) * 1000)
        out.count(f"report {r.status_code}")
        if r.status_code not in (200, 201):
            log(f"report {n}: {r.status_code} {r.text[:200]}")
            return
        form, content_type = multipart(photo, f"photo-{n}")
        sent: list[float] = []
        started = time.perf_counter()
        r = http.post(
            f"/v1/me/incidents/{r.json()['id']}/photos",
            content=chunks(form, sent),
            headers={"Content-Type": content_type, "Content-Length": str(len(form))},
        )
        done = time.perf_counter()
        out.count(f"photo {r.status_code}")
        if r.status_code != 201:
            log(f"photo {n}: {r.status_code} {r.text[:200]}")
            return
        with out.lock:
            out.upload_ms.append((done - started) * 1000)
            out.after_sent_ms.append((done - sent[-1]) * 1000)


def send_reports(base: str, phones: list[world.Phone], photos: list[bytes], a: argparse.Namespace,
                 out: Samples) -> None:  # fmt: skip
    """Reports on schedule (open loop): a slow one never delays the next."""
    total = len(phones)
    gap = 3600.0 / a.rate
    t0 = time.monotonic()
    with ThreadPoolExecutor(32) as pool:
        for n in range(total):
            due = t0 + n * gap
            time.sleep(max(0.0, due - time.monotonic()))
            out.late_ms.append(max(0.0, time.monotonic() - due) * 1000)
            pool.submit(report_once, base, phones[n], n, photos[n % len(photos)], out)


def task_list_script(workers: list[world.Phone], poll_s: float) -> str:
    cookies = ",".join(f'"{w.cookie}"' for w in workers)
    script = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)  # noqa: SIM115
    script.write(
        f"cookies = {{{cookies}}}\n"
        "n = 0\n"
        "init = function(args) n = math.random(#cookies) end\n"
        "request = function()\n"
        "  n = n % #cookies + 1\n"
        '  return wrk.format("GET", "/v1/me/incidents",'
        ' {["Cookie"] = "commtwin_session=" .. cookies[n]})\n'
        "end\n"
        f"delay = function() return {poll_s * 1000:.0f} end\n"
    )
    script.close()
    return script.name


def sample_load(out: Samples, stop: threading.Event) -> None:
    while not stop.wait(5.0):
        out.loads.append(os.getloadavg()[0])


@contextmanager
def logged_api(args: list[str], env: dict[str, str], path: Path) -> Iterator[None]:
    """``commtwin api`` writing its log to ``path`` (read after the run: why a 503)."""
    with path.open("wb") as logfile:
        proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=logfile, stderr=subprocess.STDOUT)
        try:
            yield
        finally:
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def unavailable(path: Path) -> dict[str, dict[str, int]]:
    """The API's 503s by cause (app.py's warnings), and by route."""
    found: dict[str, dict[str, int]] = {"pool timeout": {}, "database error": {}}
    for line in path.read_text(errors="replace").splitlines():
        for cause, mark in (("pool timeout", "no database connection for "),
                            ("database error", "database error on ")):  # fmt: skip
            if mark in line:
                route = line.split(mark, 1)[1].split(":", 1)[0]
                route = "photos" if route.endswith("/photos") else route
                found[cause][route] = found[cause].get(route, 0) + 1
    return found


def wait_ready(base: str, timeout_s: float = 180) -> None:
    """The API answering /readyz (slow to start on a busy machine: bench_api_live's 30 s
    were not enough at load 13)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/readyz", timeout=10).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"commtwin api did not become ready in {timeout_s:g} s")


def feed_started(url: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    with psycopg.connect(url, autocommit=True) as conn:
        while time.monotonic() < deadline:
            if conn.execute("SELECT EXISTS (SELECT FROM readings)").fetchone() == (True,):
                return
            time.sleep(0.5)
    raise RuntimeError("the realistic feed's readings never reached the database")


@dataclass(frozen=True, slots=True)
class Cast:
    """Who takes part, signed in: one resident per report (in order), the workers."""

    reporters: list[world.Phone]
    workers: list[world.Phone]
    grids: list[str]


def people(base: str, url: str, a: argparse.Namespace, *, cid: str, grids: list[str],
           reports: int) -> Cast:  # fmt: skip
    homes = world.homes(url, cid, a.residents)
    logins = [f"r{i:04d}" for i in range(len(homes))]
    world.insert_residents(url, cid, list(zip(logins, homes, strict=True))[a.joins :])
    key = run_once(url, lambda c: create_key(c, ["admin"], [cid], "bench-office")).key
    admin = {"Authorization": f"Bearer {key}"}
    workers = [f"w{i:03d}" for i in range(a.pollers)]
    with httpx.Client(base_url=base, timeout=60) as http, ThreadPoolExecutor(4) as pool:
        # A few at once, as argon2 hashes them: the setup is not what is measured.
        joins = [pool.submit(world.join, http, admin, cid, logins[i], homes[i])
                 for i in range(a.joins)]  # fmt: skip
        made = [pool.submit(world.make_worker, http, admin, cid, login, grids[i % len(grids)])
                for i, login in enumerate(workers)]  # fmt: skip
        for done in joins:
            done.result()
        for finished in made:
            finished.result()
    how = f"{a.joins} via invite + join, the rest inserted with one argon2 hash"
    emit("residents", len(homes), "accounts", how)
    chosen = random.Random(22).sample(logins, min(reports, len(logins)))
    reporters = (chosen * (reports // len(chosen) + 1))[:reports]
    load = os.getloadavg()[0]
    phones, took = world.sign_in_all(base, cid, sorted(set(reporters)) + workers)
    what = f"{len(took)} POST /v1/session, 4 at once, argon2id verify"
    emit("sign_in_p50_ms", statistics.median(took), "ms", f"report ({what})")
    emit("sign_in_p99_ms", percentile(took, 0.99), "ms", f"report (load avg {load:.1f})")
    by_login = {p.login: p for p in phones}
    return Cast([by_login[r] for r in reporters], [by_login[w] for w in workers], grids)


def measure(base: str, cast: Cast, photos: list[bytes], a: argparse.Namespace,
            seconds: float) -> tuple[Samples, dict[str, float], list[int]]:  # fmt: skip
    """The reports on schedule while the workers poll; their task lists at the end."""
    out = Samples()
    stop = threading.Event()
    threading.Thread(target=sample_load, args=(out, stop), daemon=True).start()
    script = task_list_script(cast.workers, a.poll_s)
    polled: dict[str, float] = {}

    def poll() -> None:
        url = f"{base}/v1/me/incidents"
        polled.update(wrk(url, {}, int(seconds) + 1, len(cast.workers), None, lua=script))

    poller = threading.Thread(target=poll, daemon=True)
    try:
        poller.start()
        send_reports(base, cast.reporters, photos, a, out)
        poller.join(seconds + 60)
    finally:
        stop.set()
        os.unlink(script)
    listed = _task_lists(base, cast.workers[: len(cast.grids)])
    out.loads.append(os.getloadavg()[0])
    return out, polled, listed


def run(url: str, a: argparse.Namespace, work: Path) -> None:
    db.upgrade(url, prefer="plain")
    started = time.monotonic()
    model = work / "community.json"
    cid, grids = world.import_community(url, model)
    reports = max(1, round(a.rate * a.minutes / 60))
    seconds = reports * 3600.0 / a.rate
    speed = a.rate / PEAK_PER_HOUR
    log(f"{cid}: {len(grids)} grids; {reports} reports in {seconds:.0f} s, feed at {speed:g}x")
    photos = world.phone_photos(4, a.megapixels, a.photo_bytes)
    mean_kb = statistics.mean(len(p) for p in photos) / 1024
    broker = Broker().start()
    try:
        env = base_env(url, broker) | {"COMMTWIN_PHOTO_DIR": str(work / "photos")}
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        api = [PY, "-m", "commtwin", "api", "--port", str(port), "--workers", str(a.api_workers)]
        ingest = [PY, "-m", "commtwin", "ingest", "--client-id", "bench-people"]
        feed_s = a.warmup + seconds + 15
        feed = [PY, "-m", "commtwin", "simulate", "run", "--model", str(model), "--speed",
                f"{speed:g}", "--duration", f"{feed_s:.0f}s", "--incident-history", "7d",
                "--quiet"]  # fmt: skip
        api_log = work / "api.log"
        with process(ingest, env, "ingest"), logged_api(api, env, api_log):
            wait_ready(base)
            cast = people(base, url, a, cid=cid, grids=grids, reports=reports)
            made = f"import, accounts, sessions, {len(photos)} photos of {mean_kb:,.0f} KiB"
            emit("setup_s", time.monotonic() - started, "s", made)
            with process(feed, env, "feed") as feed_proc:
                feed_started(url, 60)
                time.sleep(a.warmup)  # the history's burst ingested; the feed at its pace
                out, polled, listed = measure(base, cast, photos, a, seconds)
                try:  # the feed ends by itself; process() stops it if it has not
                    feed_proc.wait(max(5.0, feed_s - seconds - a.warmup + 30))
                except subprocess.TimeoutExpired:
                    log("the feed ran past its duration; stopped")
            report(out, polled, a=a, reports=reports, seconds=seconds, listed=listed,
                   mean_kb=mean_kb, url=url)  # fmt: skip
        for cause, routes in unavailable(api_log).items():  # the API stopped: its log is whole
            where = ", ".join(f"{r}: {n}" for r, n in sorted(routes.items())) or "none"
            emit(f"api_503_{cause.replace(' ', '_')}", sum(routes.values()), "answers", where)
    finally:
        broker.close()


def _task_lists(base: str, workers: list[world.Phone]) -> list[int]:
    """How many tasks one worker of each grid sees once the reports are in."""
    counts = []
    for w in workers:
        r = httpx.get(f"{base}/v1/me/incidents", headers=w.headers(), timeout=30)
        r.raise_for_status()
        counts.append(int(r.json()["count"]))
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=5.0, help="length of the report run")
    parser.add_argument("--rate", type=float, default=3000.0,
                        help="reports per hour (default 10x the peak of 300/h)")  # fmt: skip
    parser.add_argument("--residents", type=int, default=2000)
    parser.add_argument("--joins", type=int, default=20, help="residents made via invite + join")
    parser.add_argument("--pollers", type=int, default=50, help="grid workers polling")
    parser.add_argument("--poll-s", type=float, default=1.0, help="each worker's poll interval")
    parser.add_argument("--megapixels", type=float, default=12.0, help="each photo's size")
    parser.add_argument("--photo-bytes", type=int, default=2_000_000, help="each photo's weight")
    parser.add_argument("--warmup", type=float, default=20.0, help="feed seconds before the run")
    parser.add_argument("--api-workers", type=int, default=default_workers())
    parser.add_argument("--quick", action="store_true",
                        help="a smoke run: 200 residents, 10 workers, 30 s")  # fmt: skip
    a = parser.parse_args()
    if a.quick:
        a.residents, a.joins, a.pollers, a.minutes, a.warmup = 200, 2, 10, 0.5, 5.0
    log(f"load avg {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    with scratch_database("commtwin_bench_people") as url, tempfile.TemporaryDirectory() as tmp:
        run(url, a, Path(tmp))
    return 0


if __name__ == "__main__":
    sys.exit(main())
