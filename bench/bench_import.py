#!/usr/bin/env python3
"""Import of real city models: the shared 3D BAG tile, and a 10,000-building city built from it.

Tile (443 buildings): ``total_s`` is what ``commtwin community import
3dbag-delft.city.json --community delft`` spends on the model: decode + build
every footprint, height and storey (``parse_s``), then the first import into
a fresh community in one transaction (``db_import_s``). A re-import of the
unchanged tile compares every row and writes nothing (``reimport_s``).

City (10,000 buildings): the tile replicated side by side with offsets (new
ids, every vertex moved by whole tiles; parts, attributes and all LoD0 and
LoD1.2/1.3/2.2 solids kept), written as one ``.city.json`` and as a
``.city.jsonl``. Each is imported by the real command in its own process
(``commtwin community import FILE --community ID``): wall time and that
process's peak RSS (``wait4``), first into a fresh community, then again
unchanged. Targets: ≤ 10 s and ≤ 1 GiB. Uses a scratch database on
``COMMTWIN_BENCH_SERVER_URL`` (default: local postgres), dropped afterwards.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import orjson
import psycopg

from api.community_store import import_community
from commtwin import db
from twin.community.file import read_geometry, read_json_file
from twin.model.community import Community

SERVER_URL = os.environ.get(
    "COMMTWIN_BENCH_SERVER_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
ROOT = Path(__file__).resolve().parents[1]
DELFT = Path("/work/shared/data/3dbag-delft.city.json")
if not DELFT.exists():
    DELFT = ROOT.parent / "shared" / "data" / DELFT.name
HEFEI = DELFT.with_name("osm-hfut-hefei.geojson")
CITY_BUILDINGS = 10_000


def parse(path: Path) -> Community:
    found = read_geometry(read_json_file(path), path.name)
    cid = "delft" if path == DELFT else "hefei"
    return Community(cid, cid, found.frame.crs, found.frame.offset, buildings=found.buildings)


def best_of(runs: int, fn: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def emit(metric: str, value: float, unit: str, ref: str) -> None:
    line = {"bench": "import", "metric": metric, "value": round(value, 4), "unit": unit, "ref": ref}
    print(json.dumps(line), flush=True)


def city(tile: dict[str, Any], buildings: int) -> dict[str, Any]:
    """``buildings`` buildings: copies of the tile side by side, each moved by one tile width."""
    objects: dict[str, Any] = tile["CityObjects"]
    vertices: list[list[int]] = tile["vertices"]
    xs = [v[0] for v in vertices]
    width = max(xs) - min(xs) + 50_000  # integer units (mm): 50 m between copies
    tops = [k for k, o in objects.items() if not o.get("parents")]
    out_objects: dict[str, Any] = {}
    out_vertices: list[list[int]] = []
    made, copy = 0, 0
    while made < buildings:
        base = len(out_vertices)
        out_vertices.extend([[x + copy * width, y, z] for x, y, z in vertices])
        for top in tops[: buildings - made]:
            family, stack = [top], list(objects[top].get("children", []))
            while stack:
                child = stack.pop()
                family.append(child)
                stack.extend(objects[child].get("children", []))
            for oid in family:
                out_objects[f"{oid}-c{copy}"] = _moved(objects[oid], copy, base)
            made += 1
        copy += 1
    return {**tile, "CityObjects": out_objects, "vertices": out_vertices}


def _count(objects: dict[str, Any]) -> int:
    return sum(1 for o in objects.values() if not o.get("parents"))


def _moved(obj: dict[str, Any], copy: int, base: int) -> dict[str, Any]:
    moved: dict[str, Any] = orjson.loads(orjson.dumps(obj))
    for key in ("children", "parents"):
        if key in moved:
            moved[key] = [f"{c}-c{copy}" for c in moved[key]]
    for geometry in moved.get("geometry", []):
        geometry["boundaries"] = _shift(geometry["boundaries"], base)
    return moved


def _shift(node: Any, by: int) -> Any:
    if isinstance(node, list):
        return [_shift(child, by) for child in node]
    return node + by


def seq_lines(data: dict[str, Any]) -> bytes:
    """The same city as CityJSONSeq: a header line, one feature per building."""
    header = {k: v for k, v in data.items() if k not in ("CityObjects", "vertices")}
    lines = [orjson.dumps({**header, "CityObjects": {}, "vertices": []})]
    objects = data["CityObjects"]
    for top, obj in objects.items():
        if obj.get("parents"):
            continue
        family = {top: obj, **{c: objects[c] for c in obj.get("children", [])}}
        numbers: dict[int, int] = {}
        renumbered = {}
        for oid, member in family.items():
            copied = dict(member)
            copied["geometry"] = [
                {**g, "boundaries": _renumber(g["boundaries"], numbers)}
                for g in member.get("geometry", [])
            ]
            renumbered[oid] = copied
        points = [data["vertices"][i] for i in sorted(numbers, key=numbers.__getitem__)]
        feature = {
            "type": "CityJSONFeature",
            "id": top,
            "CityObjects": renumbered,
            "vertices": points,
        }
        lines.append(orjson.dumps(feature))
    return b"\n".join(lines) + b"\n"


def _renumber(node: Any, numbers: dict[int, int]) -> Any:
    if isinstance(node, list):
        return [_renumber(child, numbers) for child in node]
    return numbers.setdefault(node, len(numbers))


def run_import(url: str, path: Path, cid: str) -> tuple[float, float, str]:
    """Wall seconds and peak RSS (MiB) of one ``commtwin community import`` process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMMTWIN_")}
    env["COMMTWIN_DATABASE_URL"] = url
    command = [sys.executable, "-m", "commtwin", "community", "import", str(path)]
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            [*command, "--community", cid], cwd=ROOT, env=env, stdout=out, stderr=err
        )
        # wait4, not proc.wait(): it gives this child's own peak RSS.
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    if proc.returncode != 0:
        raise RuntimeError(f"import of {path.name} failed: {stderr.strip()}")
    return elapsed, usage.ru_maxrss / 1024, stdout


def load_avg() -> str:
    return f"load avg {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"


def main() -> None:
    name = f"commtwin_bench_import_{secrets.token_hex(4)}"
    url = urlunsplit(urlsplit(SERVER_URL)._replace(path="/" + name))
    with psycopg.connect(SERVER_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"'.encode())
    try:
        db.upgrade(url, prefer="plain")
        parse_s = best_of(3, lambda: parse(DELFT))
        hefei_s = best_of(3, lambda: parse(HEFEI))
        community = parse(DELFT)
        with psycopg.connect(url, autocommit=True) as conn:
            start = time.perf_counter()
            report = import_community(conn, community)
            import_s = time.perf_counter() - start
            assert len(report.changes["buildings"].added) == 443
            reimport_s = best_of(2, lambda: import_community(conn, community))
        emit("total_s", parse_s + import_s, "s", "<= 2 (3D BAG tile, 443 buildings)")
        emit("parse_s", parse_s, "s", "(decode, footprints, heights, storeys)")
        emit("db_import_s", import_s, "s", "(one transaction, fresh community)")
        emit("reimport_s", reimport_s, "s", "(unchanged: compare, write nothing)")
        emit("geojson_parse_s", hefei_s, "s", "(OSM Hefei, 101 buildings, reprojected)")
        city_runs(url)
    finally:
        with psycopg.connect(SERVER_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())


def build_city(directory: Path) -> tuple[Path, Path]:
    """Write the city as .city.json and .city.jsonl (run in its own process, see city_runs)."""
    big = city(orjson.loads(DELFT.read_bytes()), CITY_BUILDINGS)
    assert _count(big["CityObjects"]) == CITY_BUILDINGS
    whole = directory / "city10k.city.json"
    whole.write_bytes(orjson.dumps(big))
    seq = directory / "city10k.city.jsonl"
    seq.write_bytes(seq_lines(big))
    return whole, seq


def city_runs(url: str) -> None:
    with tempfile.TemporaryDirectory(prefix="commtwin-bench-") as tmp:
        # Built in another process: Linux carries a parent's peak RSS over
        # fork + exec into the child's ru_maxrss, so this process stays small.
        subprocess.run([sys.executable, __file__, "--build", tmp], check=True, cwd=ROOT)
        whole = Path(tmp) / "city10k.city.json"
        seq = Path(tmp) / "city10k.city.jsonl"
        size = whole.stat().st_size / 2**20
        for label, path in (("json", whole), ("jsonl", seq)):
            cid = f"city-{label}"
            first_s, first_rss, out = run_import(url, path, cid)
            assert f"{CITY_BUILDINGS} buildings" in out, out
            again_s, again_rss, out = run_import(url, path, cid)
            assert f"community {cid}: unchanged" in out, out
            what = (
                f"{CITY_BUILDINGS:,} buildings, {size:.0f} MiB .city.json"
                if label == "json"
                else f"{CITY_BUILDINGS:,} buildings, .city.jsonl streamed"
            )
            emit(f"city_{label}_import_s", first_s, "s", f"<= 10 ({what}; {load_avg()})")
            emit(f"city_{label}_peak_rss_mb", max(first_rss, again_rss), "MiB", "<= 1024")
            emit(f"city_{label}_reimport_s", again_s, "s", f"(unchanged; {load_avg()})")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--build"]:
        build_city(Path(sys.argv[2]))
    else:
        main()
