"""Generate a community model file (docs/DESIGN.md format) from a seed.

>>> model = generate_community(CommunitySpec(buildings=3, seed=5))
>>> model["id"], len(model["buildings"]), sorted({d["kind"] for d in model["devices"]})[:3]
('lanting', 4, ['air_quality', 'door', 'elevator'])
>>> generate_community(CommunitySpec(buildings=3, seed=5)) == model
True
"""

from __future__ import annotations

import itertools
import random
import zlib
from dataclasses import dataclass
from typing import Any

from simulators import names
from simulators.device_plan import Host, Site, plan_devices
from simulators.households import care_devices, plan_households
from simulators.service_plan import plan_services
from simulators.site_plan import BASEMENT_HEIGHT, STOREY_HEIGHT, BuildingPlan, SitePlan, plan_site
from simulators.wire import COMMUNITY_ID

# A local transverse Mercator frame on Hangzhou's West Lake district: metres,
# x east, y north, origin at the site's south-west corner.
HANGZHOU_CRS = (
    "+proj=tmerc +lat_0=30.2741 +lon_0=120.1551 +k=1 +x_0=0 +y_0=0 +ellps=WGS84 +units=m +no_defs"
)


class GenerationError(ValueError):
    """The requested community cannot be generated (bad parameters)."""


@dataclass(frozen=True, slots=True)
class CommunitySpec:
    buildings: int = 20
    seed: int = 1
    id: str = "lanting"
    name: str = "兰亭社区 Lanting"
    grids: int | None = None  # default: one per ~5 buildings, 3 to 6


def _rect(x0: float, y0: float, x1: float, y1: float) -> dict[str, Any]:
    ring = [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]
    return {"type": "Polygon", "coordinates": [ring]}


def roof_of(b: BuildingPlan) -> tuple[str, float]:
    """The building's LoD2 roof: shape and height from the eaves to the ridge.

    High-rises have flat roofs (machine rooms, water tanks), mid-rises a gable
    or hip roof of ~27° (Zhejiang's pitched-roof renovation of the 2000s),
    the neighbourhood centre a hip roof. Chosen from the id, not the
    community's random stream, so the rest of the community is unchanged.

    >>> mid = BuildingPlan("b03", "3幢", "residential", 0, 0, 40, 12, 6, False, ())
    >>> roof_of(mid)
    ('hip', 3.0)
    """
    if b.high_rise:
        return "flat", 0.0
    half_depth = min(b.x1 - b.x0, b.y1 - b.y0) / 2
    rise = round(half_depth * 0.5, 1)  # tan 27° ≈ 0.5
    if b.use != "residential":
        return "hip", rise
    return ("gable" if zlib.crc32(b.id.encode()) % 5 < 3 else "hip"), rise


def _building_entry(b: BuildingPlan) -> dict[str, Any]:
    shape, rise = roof_of(b)
    entry: dict[str, Any] = {
        "id": b.id,
        "name": b.name,
        "footprint": _rect(b.x0, b.y0, b.x1, b.y1),
        "ground_z": 0.0,
        "roof_z": b.roof_z,
        "storey_count": b.storeys,
        # roof_z is the eaves (the top storey's ceiling); the ridge is roof_height above.
        "attributes": {"roof_shape": shape, "roof_height": rise},
    }
    if b.basement:
        entry["storeys"] = [
            {"index": -1, "floor_z": -BASEMENT_HEIGHT, "height": BASEMENT_HEIGHT, "name": "B1"}
        ]
    if b.sections:
        entry["units"] = [
            {"id": u.id, "storey": u.storey, "name": u.name, "footprint": _rect(*u.rect)}
            for u in b.units()
        ]
    return entry


def _grid_bands(plan: SitePlan, count: int) -> list[tuple[float, float]]:
    """Split the site into ``count`` south-to-north bands along row gaps."""
    cuts = list(plan.row_bounds[1:])  # the first bound is in front of row 1
    count = max(1, min(count, len(cuts) + 1))
    # Spread the chosen cuts evenly over the available gaps.
    chosen = [cuts[round((i + 1) * len(cuts) / count) - 1] for i in range(count - 1)]
    edges = [0.0, *sorted(set(chosen)), plan.depth]
    return list(itertools.pairwise(edges))


def _column_cuts(plan: SitePlan) -> list[float]:
    """x of the gaps between buildings of the fullest row (small sites)."""
    rows: dict[int, list[BuildingPlan]] = {}
    for b in plan.residential():
        rows.setdefault(sum(b.y0 > y for y in plan.row_bounds), []).append(b)
    counts = {k: len(v) for k, v in rows.items()}
    fullest = sorted(rows[max(counts, key=counts.__getitem__)], key=lambda b: b.x0)
    return [round((a.x1 + b.x0) / 2, 2) for a, b in itertools.pairwise(fullest)]


def _grid_cells(plan: SitePlan, count: int) -> list[tuple[float, float, float, float]]:
    bands = _grid_bands(plan, count)
    if len(bands) >= min(count, 3):
        return [(0.0, y0, plan.width, y1) for y0, y1 in bands]
    # Too few rows for bands: cut the site into columns between buildings.
    cuts = _column_cuts(plan)[: count - 1]
    edges = [0.0, *cuts, plan.width]
    return [(x0, 0.0, x1, plan.depth) for x0, x1 in itertools.pairwise(edges)]


def _grids(plan: SitePlan, count: int, rng: random.Random) -> list[dict[str, Any]]:
    cells = _grid_cells(plan, count)
    workers = names.workers(rng, len(cells))
    ordinal = "一二三四五六七八九十"
    return [
        {
            "id": f"g{i + 1}",
            "name": f"第{ordinal[i]}网格",
            "worker": wid,
            "worker_name": wname,
            "polygon": _rect(*cell),
        }
        for i, (cell, (wid, wname)) in enumerate(zip(cells, workers, strict=True))
    ]


def hosts_of(plan: SitePlan) -> list[Host]:
    return [
        Host(
            id=b.id,
            storeys=b.storeys,
            basement=b.basement,
            sections=len(b.sections),
            residential=b.use == "residential",
            units=tuple((u.id, u.storey) for u in b.units()),
        )
        for b in plan.buildings
    ]


def generate_community(spec: CommunitySpec) -> dict[str, Any]:
    """The whole model as a JSON-ready dict; the same spec gives the same dict."""
    if not COMMUNITY_ID.match(spec.id):
        raise GenerationError(f"community id {spec.id!r} must match {COMMUNITY_ID.pattern}")
    if not 1 <= spec.buildings <= 500:
        raise GenerationError("--buildings must be between 1 and 500")
    if spec.grids is not None and not 1 <= spec.grids <= 10:
        raise GenerationError("--grids must be between 1 and 10")
    rng = random.Random(f"community/{spec.seed}")
    plan = plan_site(rng, spec.buildings)
    grid_count = spec.grids or min(6, max(3, round(spec.buildings / 5)))
    site = Site(0.0, 0.0, plan.width, plan.depth)
    buildings = [_building_entry(b) for b in plan.buildings]
    grids = _grids(plan, grid_count, rng)
    devices = plan_devices(hosts_of(plan), site, rng)
    # Households and their care devices come last, from their own generators:
    # the rest of the community is the same with or without them.
    units = {
        b["id"]: [(u["id"], u["storey"]) for u in b["units"]] for b in buildings if "units" in b
    }
    storeys = {(bid, uid): s for bid, us in units.items() for uid, s in us}
    worn = {(d["building"], d["unit"]) for d in devices if d["kind"] == "wearable" and "unit" in d}
    homes = plan_households(units, worn, spec.seed)
    for b in buildings:
        for u in b.get("units", []):
            u["household"] = homes[(b["id"], u["id"])]
    devices += care_devices(homes, storeys, spec.seed)
    facilities, paths = plan_services(plan)
    return {
        "id": spec.id,
        "name": spec.name,
        "crs": HANGZHOU_CRS,
        "offset": [0, 0, 0],
        "storey_height": STOREY_HEIGHT,
        "buildings": buildings,
        "grids": grids,
        "devices": devices,
        "facilities": facilities,
        "paths": paths,
    }


def summary(model: dict[str, Any]) -> dict[str, Any]:
    """Counts worth printing after generation."""
    kinds: dict[str, int] = {}
    for d in model["devices"]:
        kinds[d["kind"]] = kinds.get(d["kind"], 0) + 1
    return {
        "community": model["id"],
        "buildings": len(model.get("buildings", [])),
        "households": sum(len(b.get("units", [])) for b in model.get("buildings", [])),
        "living_alone_elderly": sum(
            1
            for b in model.get("buildings", [])
            for u in b.get("units", [])
            if u.get("household", {}).get("living_alone")
            and (u["household"].get("age_band", "<60") != "<60" or u["household"].get("care_level"))
        ),
        "grids": len(model.get("grids", [])),
        "devices": len(model["devices"]),
        "devices_by_kind": dict(sorted(kinds.items())),
        "facilities": len(model.get("facilities", [])),
        "paths": len(model.get("paths", [])),
    }
