#!/usr/bin/env python3
"""Import of the shared 3D BAG tile (443 buildings): parse, then load into PostgreSQL.

``total_s`` is what ``commtwin community import 3dbag-delft.city.json
--community delft`` spends on the model: decode + build every footprint,
height and storey (``parse_s``), then the first import into a fresh community
in one transaction (``db_import_s``). A re-import of the unchanged tile
compares every row and writes nothing (``reimport_s``). Uses a scratch
database on ``COMMTWIN_BENCH_SERVER_URL`` (default: local postgres), dropped
afterwards.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

from api.community_store import import_community
from commtwin import db
from twin.community_file import read_geometry, read_json_file
from twin.model import Community

SERVER_URL = os.environ.get(
    "COMMTWIN_BENCH_SERVER_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
ROOT = Path(__file__).resolve().parents[1]
DELFT = Path("/work/shared/data/3dbag-delft.city.json")
if not DELFT.exists():
    DELFT = ROOT.parent / "shared" / "data" / DELFT.name
HEFEI = DELFT.with_name("osm-hfut-hefei.geojson")


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
    finally:
        with psycopg.connect(SERVER_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())
    emit("total_s", parse_s + import_s, "s", "<= 2 (3D BAG tile, 443 buildings)")
    emit("parse_s", parse_s, "s", "(decode, footprints, heights, storeys)")
    emit("db_import_s", import_s, "s", "(one transaction, fresh community)")
    emit("reimport_s", reimport_s, "s", "(unchanged: compare, write nothing)")
    emit("geojson_parse_s", hefei_s, "s", "(OSM Hefei, 101 buildings, reprojected)")


if __name__ == "__main__":
    main()
