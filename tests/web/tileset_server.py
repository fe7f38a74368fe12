"""A small 3D Tiles tileset of the test's own, served over HTTP with CORS.

``good/tileset.json`` + ``good/tower.glb``: one tile placed by an
east-north-up transform at a given longitude/latitude, holding a magenta
tower (a colour nothing else on the cockpit has); ``bad/tileset.json`` is
malformed (no root); ``missing/…`` answers 404.
"""

from __future__ import annotations

import json
import math
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.web.glb import Node, Triangle, Vec3, write_glb
from twin.model.georef import geodetic_to_ecef

MAGENTA = [1.0, 0.0, 1.0, 1.0]


def box(x0: float, y0: float, x1: float, y1: float, top: float) -> list[Triangle]:
    """The sides and top of a box on the ground, local (east, north, up) metres."""
    c: list[Vec3] = [(x0, y0, 0), (x1, y0, 0), (x1, y1, 0), (x0, y1, 0)]
    up = [(x, y, top) for x, y, _ in c]
    tris: list[Triangle] = []
    for i in range(4):
        j = (i + 1) % 4
        tris += [(c[i], c[j], up[j]), (c[i], up[j], up[i])]
    return [*tris, (up[0], up[1], up[2]), (up[0], up[2], up[3])]


def enu_transform(lon: float, lat: float, h: float) -> list[float]:
    """3D Tiles ``transform`` (column-major 4×4): east-north-up at a place → ECEF."""
    lo, la = math.radians(lon), math.radians(lat)
    east = (-math.sin(lo), math.cos(lo), 0.0)
    north = (-math.sin(la) * math.cos(lo), -math.sin(la) * math.sin(lo), math.cos(la))
    up = (math.cos(la) * math.cos(lo), math.cos(la) * math.sin(lo), math.sin(la))
    return [*east, 0.0, *north, 0.0, *up, 0.0, *geodetic_to_ecef(lon, lat, h), 1.0]


def tileset(lon: float, lat: float, h: float, height: float) -> dict[str, Any]:
    return {
        "asset": {"version": "1.1"},
        "geometricError": 200,
        "root": {
            "transform": enu_transform(lon, lat, h),
            "boundingVolume": {"box": [0, 0, height / 2, 12, 0, 0, 0, 12, 0, 0, 0, height / 2]},
            "geometricError": 0,
            "refine": "ADD",
            "content": {"uri": "tower.glb"},
        },
    }


class _Handler(SimpleHTTPRequestHandler):
    def end_headers(self) -> None:
        self.send_header("Access-Control-Allow-Origin", "*")
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def serve_tilesets(lon: float, lat: float, h: float, height: float = 40.0) -> Iterator[str]:
    """Serve the tilesets; yields the base URL (``…/good/tileset.json`` etc.)."""
    with tempfile.TemporaryDirectory(prefix="commtwin-tiles-") as tmp:
        root = Path(tmp)
        (root / "good").mkdir()
        (root / "bad").mkdir()
        (root / "good" / "tileset.json").write_text(json.dumps(tileset(lon, lat, h, height)))
        tower = Node("tower", {"tower": box(-5, -5, 5, 5, height)}, {"tile": "tower"})
        (root / "good" / "tower.glb").write_bytes(write_glb([tower], colours={"tower": MAGENTA}))
        (root / "bad" / "tileset.json").write_text(json.dumps({"asset": {"version": "1.0"}}))
        server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Handler, directory=tmp))
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}"
        finally:
            server.shutdown()
            server.server_close()
