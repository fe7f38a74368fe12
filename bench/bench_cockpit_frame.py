#!/usr/bin/env python3
"""The cockpit's first frame with 2,000 LoD2 buildings, in headless Chromium.

The city is bench/bench_3dtiles.py's (the shared 3D BAG tile copied side by
side, LoD2.2 roofs and walls), 2,000 buildings imported into a scratch
database; the real API (tests/web/server.py) serves the cockpit and its
``buildings.glb``; Debian's Chromium (SwiftShader: WebGL on the CPU) opens
the page. Measured from navigation: the page ready with the buildings drawn
as modelled (``data-buildings="model"``, the glb fetched, parsed, merged into
a roof mesh and a wall mesh with storey colours) and the next two animation
frames rendered. Target ≤ 3 s. The median run's page marks (``cockpit:*``,
ms from navigation: modules loaded, view made, collection in, glb in,
scene built, buildings drawn) say where its time went.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from urllib.parse import urlsplit, urlunsplit

import psycopg
from playwright.sync_api import sync_playwright

from bench.bench_3dtiles import imported
from bench.bench_import import SERVER_URL
from commtwin import db
from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.web.seed import create_key
from tests.web.server import ApiServer

BUILDINGS = 2_000
RUNS = 3


def emit(metric: str, value: float, unit: str, ref: str) -> None:
    line = {"bench": "cockpit_frame", "metric": metric, "value": round(value, 3), "unit": unit}
    print(json.dumps({**line, "ref": ref}), flush=True)


MARKS = (
    "Object.fromEntries(performance.getEntriesByType('mark')"
    ".map(m => [m.name, Math.round(m.startTime)]))"
)


def first_frame_s(page_url: str) -> tuple[float, dict[str, int]]:
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(viewport={"width": 1920, "height": 1080}).new_page()
            start = time.perf_counter()
            page.goto(page_url)
            page.wait_for_function(
                "document.body.dataset.buildings === 'model'", timeout=120_000, polling=50
            )
            page.evaluate(
                "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
            )
            took = time.perf_counter() - start
            return took, page.evaluate(MARKS)
        finally:
            browser.close()


def main() -> None:
    name = f"commtwin_bench_frame_{secrets.token_hex(4)}"
    url = urlunsplit(urlsplit(SERVER_URL)._replace(path="/" + name))
    with psycopg.connect(SERVER_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"'.encode())
    server = None
    try:
        db.upgrade(url, prefer="plain")
        with psycopg.connect(url, autocommit=True) as conn:
            triangles = imported(conn, "frame", BUILDINGS)
            key = create_key(conn, ["cockpit:read"], ["frame"])
        server = ApiServer(url).start()
        page_url = f"{server.base_url}/cockpit/frame?key={key}"
        first_frame_s(page_url)  # warms the API's glb cache and the OS caches
        runs = sorted((first_frame_s(page_url) for _ in range(RUNS)), key=lambda r: r[0])
        times = [t for t, _ in runs]
        load = f"load avg {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
        what = f"{BUILDINGS:,} LoD2.2 buildings, {triangles:,} triangles, 1920x1080"
        emit(
            "first_frame_s", times[len(times) // 2], "s", f"<= 3 (median of {RUNS}; {what}; {load})"
        )
        emit("first_frame_best_s", times[0], "s", f"(best of {RUNS})")
        marks = runs[len(runs) // 2][1]
        emit("median_run_marks", len(marks), "marks", json.dumps(marks))
    finally:
        if server is not None:
            server.stop()
        with psycopg.connect(SERVER_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())


if __name__ == "__main__":
    main()
