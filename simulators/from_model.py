"""Place simulated devices into an existing model: a real city, not a generated one.

Input is either a community model file (docs/DESIGN.md) whose buildings and
units are kept, or a bare CityJSON file (e.g. a 3D BAG tile). The output is a
community model file that references the geometry file and adds grids (when
the input has none), gateways and devices of every kind on real buildings.
"""

from __future__ import annotations

import itertools
import json
import os
import random
from pathlib import Path
from typing import Any

from simulators import names
from simulators.community_gen import GenerationError
from simulators.device_plan import Host, Site, plan_devices
from simulators.households import care_devices_without_units
from simulators.real_buildings import GeometryFileError, RealBuilding, read_cityjson
from simulators.wire import COMMUNITY_ID

HOME_AREA = 90.0  # m² of floor per household when a model has no units


def _rect(x0: float, y0: float, x1: float, y1: float) -> dict[str, Any]:
    ring = [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]
    return {"type": "Polygon", "coordinates": [ring]}


def band_grids(
    ys: list[float], bounds: tuple[float, float, float, float], count: int, rng: random.Random
) -> list[dict[str, Any]]:
    """``count`` south-to-north bands holding about equal numbers of buildings."""
    x0, y0, x1, y1 = bounds
    ys = sorted(ys)
    count = max(1, min(count, len(ys)))
    cuts = [
        round((ys[len(ys) * i // count - 1] + ys[len(ys) * i // count]) / 2, 2)
        for i in range(1, count)
    ]
    edges = [y0, *cuts, y1]
    workers = names.workers(rng, count)
    ordinal = "一二三四五六七八九十"
    return [
        {
            "id": f"g{i + 1}",
            "name": f"第{ordinal[i]}网格",
            "worker": wid,
            "worker_name": wname,
            "polygon": _rect(x0, lo, x1, hi),
        }
        for i, ((lo, hi), (wid, wname)) in enumerate(
            zip(itertools.pairwise(edges), workers, strict=True)
        )
    ]


def _from_cityjson(path: Path, out: Path, cid: str, name: str, seed: int) -> dict[str, Any]:
    geo = read_cityjson(path)
    if not geo.buildings:
        raise GenerationError(f"{path}: no buildings to place devices in")
    if geo.crs is None:
        raise GenerationError(f"{path}: no referenceSystem in the metadata")
    rng = random.Random(f"from-model/{seed}")
    xs = [b.x for b in geo.buildings]
    ys = [b.y for b in geo.buildings]
    # Keep local coordinates small: the origin sits at the south-west corner.
    ox, oy = round(min(xs) - 30), round(min(ys) - 30)
    local = [
        RealBuilding(b.id, b.x - ox, b.y - oy, b.area, b.ground_z, b.roof_z) for b in geo.buildings
    ]
    hosts = [
        Host(
            id=b.id,
            storeys=b.storeys,
            basement=False,
            sections=1 + int(b.area // 400),
            residential=True,
            homes_without_units=max(1, round(b.area * b.storeys / HOME_AREA)),
        )
        for b in local
    ]
    bounds = (0.0, 0.0, round(max(xs) - ox + 30, 2), round(max(ys) - oy + 30, 2))
    site = Site(*bounds)
    devices = plan_devices(hosts, site, rng)
    devices += care_devices_without_units(
        [(h.id, h.storeys, h.homes_without_units) for h in hosts], seed
    )
    model: dict[str, Any] = {
        "id": cid,
        "name": name,
        "crs": geo.crs,
        "offset": [ox, oy, 0],
        "storey_height": 3.0,
        "geometry": [os.path.relpath(path.resolve(), out.resolve().parent)],
        "buildings": [],
        "grids": band_grids([b.y for b in local], bounds, 4, rng),
        "devices": devices,
    }
    return model


def _hosts_of_model(model: dict[str, Any]) -> list[Host]:
    storey_height = float(model.get("storey_height", 3.0))
    hosts = []
    for b in model.get("buildings", []):
        units = tuple((u["id"], int(u["storey"])) for u in b.get("units", []))
        count = b.get("storey_count") or max(
            1, int((float(b["roof_z"]) - float(b.get("ground_z", 0))) // storey_height)
        )
        basement = any(int(s["index"]) < 0 for s in b.get("storeys", []))
        hosts.append(
            Host(
                id=b["id"],
                storeys=int(count),
                basement=basement,
                sections=max(1, len({u.split("-")[0] for u, _ in units})),
                residential=bool(units),
                units=units,
            )
        )
    return hosts


def _from_community_file(
    path: Path, model: dict[str, Any], out: Path, *, cid: str | None, name: str | None, seed: int
) -> dict[str, Any]:
    hosts = _hosts_of_model(model)
    if not hosts:
        raise GenerationError(f"{path}: place devices needs buildings listed in the model file")
    rng = random.Random(f"from-model/{seed}")
    pts = [
        xy for b in model["buildings"] for ring in b["footprint"]["coordinates"][:1] for xy in ring
    ]
    bounds = (
        min(p[0] for p in pts) - 30,
        min(p[1] for p in pts) - 30,
        max(p[0] for p in pts) + 30,
        max(p[1] for p in pts) + 30,
    )
    result = dict(model)
    result["id"] = cid or model["id"]
    result["name"] = name or model.get("name", result["id"])
    result["geometry"] = [
        os.path.relpath((path.parent / g).resolve(), out.resolve().parent)
        for g in model.get("geometry", [])
    ]
    if not model.get("grids"):
        centres = [
            sum(p[1] for p in ring) / len(ring)
            for b in model["buildings"]
            for ring in b["footprint"]["coordinates"][:1]
        ]
        result["grids"] = band_grids(centres, bounds, 4, rng)
    result["devices"] = plan_devices(hosts, Site(*bounds), rng)
    return result


def place_into(
    path: Path, out: Path, *, cid: str | None, name: str | None, seed: int
) -> dict[str, Any]:
    """A model with devices placed in the buildings of ``path`` (see module doc)."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise GenerationError(f"{path}: cannot read: {exc}") from None
    if cid is not None and not COMMUNITY_ID.match(cid):
        raise GenerationError(f"community id {cid!r} must match {COMMUNITY_ID.pattern}")
    try:
        if isinstance(doc, dict) and doc.get("type") == "CityJSON":
            if cid is None:
                raise GenerationError("--id is required when placing into a CityJSON file")
            return _from_cityjson(path, out, cid, name or cid, seed)
        if isinstance(doc, dict) and "buildings" in doc and "id" in doc:
            return _from_community_file(path, doc, out, cid=cid, name=name, seed=seed)
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, GenerationError | GeometryFileError):
            raise GenerationError(str(exc)) from None
        raise GenerationError(f"{path}: malformed model: {exc!r}") from None
    raise GenerationError(f"{path}: neither a CityJSON file nor a community model file")
