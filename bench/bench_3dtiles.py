#!/usr/bin/env python3
"""3D Tiles export and the cockpit's glb, on LoD2 buildings with real roofs.

The city is bench/bench_import.py's: the shared 3D BAG tile (LoD2.2 roofs and
walls) copied side by side until it holds 10,000 buildings. It is imported
(meshes triangulated and stored), then ``commtwin community export ID
--format 3dtiles DIR`` runs in its own process: wall and CPU seconds (the
machine is shared, so CPU time tells what the export costs when wall time is
stretched by load). Target ≤ 60 s. The glb the cockpit gets
(``GET /v1/communities/{cid}/buildings.glb``, ``twin.geometry.gltf``) for the
first 2,000 buildings: size (target ≤ 15 MB) and build time. Uses a scratch
database on ``COMMTWIN_BENCH_SERVER_URL`` (default: local postgres), dropped
afterwards.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import orjson
import psycopg

from api.community_store import import_community, load_meshes
from bench.bench_import import DELFT, ROOT, SERVER_URL, city
from commtwin import db
from twin.geometry.building_file import read_geometry_report
from twin.geometry.gltf import buildings_glb
from twin.model.community import Community

CITY_BUILDINGS = 10_000
GLB_BUILDINGS = 2_000


def emit(metric: str, value: float, unit: str, ref: str) -> None:
    line = {"bench": "3dtiles", "metric": metric, "value": round(value, 4), "unit": unit}
    print(json.dumps({**line, "ref": ref}), flush=True)


def load_avg() -> str:
    return f"load avg {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"


def imported(conn: psycopg.Connection[tuple[object, ...]], cid: str, buildings: int) -> int:
    data = city(orjson.loads(DELFT.read_bytes()), buildings)
    found = read_geometry_report(data, f"{cid}.city.json").found
    assert all(b.mesh is not None and b.mesh.lod == "2.2" for b in found.buildings)
    community = Community(cid, cid, found.frame.crs, found.frame.offset, 3.0).with_buildings(
        found.buildings
    )
    import_community(conn, community)
    return sum(b.mesh.triangle_count for b in found.buildings if b.mesh is not None)


def export(url: str, cid: str, target: Path) -> tuple[float, float, str]:
    """Wall and CPU seconds of one ``commtwin community export`` process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMMTWIN_")}
    env["COMMTWIN_DATABASE_URL"] = url
    command = [sys.executable, "-m", "commtwin", "community", "export", cid]
    start = time.perf_counter()
    proc = subprocess.Popen(
        [*command, "--format", "3dtiles", str(target)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = proc.communicate()
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"export failed: {err.decode().strip()}")
    return elapsed, _child_cpu(), out.decode().strip()


_CPU_BEFORE = [0.0]


def _child_cpu() -> float:
    """CPU seconds of children reaped since the last call (the export process)."""
    times = os.times()
    total = times.children_user + times.children_system
    spent, _CPU_BEFORE[0] = total - _CPU_BEFORE[0], total
    return spent


def main() -> None:
    name = f"commtwin_bench_3dtiles_{secrets.token_hex(4)}"
    url = urlunsplit(urlsplit(SERVER_URL)._replace(path="/" + name))
    with psycopg.connect(SERVER_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"'.encode())
    try:
        db.upgrade(url, prefer="plain")
        with psycopg.connect(url, autocommit=True) as conn:
            triangles = imported(conn, "city", CITY_BUILDINGS)
            imported(conn, "glb", GLB_BUILDINGS)
            start = time.perf_counter()
            meshes = load_meshes(conn, "glb")
            glb = buildings_glb(list(meshes), list(meshes.values()))
            glb_s = time.perf_counter() - start
        _child_cpu()
        with tempfile.TemporaryDirectory(prefix="commtwin-bench-") as tmp:
            target = Path(tmp) / "tiles"
            wall, cpu, line = export(url, "city", target)
            files = list(target.rglob("*.glb"))
            size = sum(f.stat().st_size for f in files) / 2**20
        what = f"{CITY_BUILDINGS:,} LoD2.2 buildings, {triangles:,} triangles"
        emit("export_s", wall, "s", f"<= 60 ({what}; {len(files)} tiles; {load_avg()})")
        emit("export_cpu_s", cpu, "s", "(CPU seconds of the export process)")
        emit("tileset_mb", size, "MiB", f"(glb tiles; {line})")
        emit("glb_2000_mb", len(glb) / 1e6, "MB", f"<= 15 ({GLB_BUILDINGS:,} LoD2.2 buildings)")
        emit("glb_2000_build_s", glb_s, "s", f"(read meshes + write glb; {load_avg()})")
    finally:
        with psycopg.connect(SERVER_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())


if __name__ == "__main__":
    main()
