"""The simulator's view of a community model file: who is where.

Reads the model file format of docs/DESIGN.md (and the CityJSON files it
references, roughly) into frozen dataclasses holding what the feed needs:
each device's kind, metrics, gateway and home position, the buildings'
floors, the grids with their workers, and the canteen the elderly walk to.
Validation proper is the twin's job (``commtwin community import``); this
view only refuses what it cannot simulate.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shapely.geometry import Point, shape

from simulators.real_buildings import GeometryFileError, read_cityjson

STOREY_HEIGHT = 3.0
DIRECT = "lte"  # wearables talk to the broker over their own cellular link
PLAIN = "gw-sim"  # devices without a modelled gateway share a plain connection


class ModelViewError(ValueError):
    """The model file cannot drive a simulation."""


@dataclass(frozen=True, slots=True)
class Point3:
    x: float
    y: float
    z: float

    def as_dict(self) -> dict[str, float]:
        return {"x": round(self.x, 2), "y": round(self.y, 2), "z": round(self.z, 2)}


@dataclass(frozen=True, slots=True)
class SimBuilding:
    id: str
    centre: Point3  # ground level
    storey_floor: tuple[tuple[int, float], ...]  # (index, floor_z)
    units: tuple[tuple[str, int, float, float], ...]  # (id, storey, x, y)

    def floor_z(self, storey: int | None) -> float:
        for index, z in self.storey_floor:
            if index == storey:
                return z
        return self.centre.z + (max(storey or 1, 1) - 1) * STOREY_HEIGHT

    @property
    def storeys(self) -> int:
        return max((i for i, _ in self.storey_floor), default=1)


@dataclass(frozen=True, slots=True)
class SimDevice:
    id: str
    kind: str
    metrics: tuple[str, ...]
    building: str | None
    storey: int | None
    unit: str | None
    home: Point3  # fixed position, or a mobile device's home
    mobile: bool
    gateway: str  # connection it publishes through (a gateway id, "lte", "gw-sim")
    capacity: int | None  # parking spaces


@dataclass(frozen=True, slots=True)
class SimGrid:
    id: str
    worker: str | None
    polygon: Any  # shapely Polygon, local metres


@dataclass(frozen=True, slots=True)
class SimCommunity:
    id: str
    buildings: dict[str, SimBuilding]
    devices: tuple[SimDevice, ...]
    grids: tuple[SimGrid, ...]
    canteen: Point3
    bounds: tuple[float, float, float, float]

    def grid_at(self, x: float, y: float) -> SimGrid | None:
        p = Point(x, y)
        return next((g for g in self.grids if g.polygon.covers(p)), None)

    def gateways(self) -> list[SimDevice]:
        return [d for d in self.devices if d.kind == "gateway"]

    def households(self) -> int:
        return sum(len(b.units) for b in self.buildings.values()) or len(self.buildings)


def _centre(geom: dict[str, Any]) -> tuple[float, float]:
    c = shape(geom).centroid
    return float(c.x), float(c.y)


def _building(raw: dict[str, Any], storey_height: float) -> SimBuilding:
    x, y = _centre(raw["footprint"])
    ground = float(raw.get("ground_z", 0.0))
    floors = {int(s["index"]): float(s["floor_z"]) for s in raw.get("storeys", [])}
    count = raw.get("storey_count")
    if count is None and "roof_z" in raw:
        count = max(1, int((float(raw["roof_z"]) - ground) // storey_height))
    for i in range(1, int(count or 1) + 1):
        floors.setdefault(i, ground + (i - 1) * storey_height)
    units = []
    for u in raw.get("units", []):
        ux, uy = _centre(u["footprint"]) if "footprint" in u else (x, y)
        units.append((str(u["id"]), int(u["storey"]), ux, uy))
    return SimBuilding(
        id=str(raw["id"]),
        centre=Point3(x, y, ground),
        storey_floor=tuple(sorted(floors.items())),
        units=tuple(units),
    )


def _geometry_buildings(model: dict[str, Any], base: Path) -> list[SimBuilding]:
    out = []
    ox, oy, oz = (float(v) for v in model.get("offset", (0, 0, 0)))
    for ref in model.get("geometry", []):
        try:
            geo = read_cityjson(base / ref)
        except GeometryFileError as exc:
            raise ModelViewError(str(exc)) from None
        for b in geo.buildings:
            count = b.storeys
            floors = tuple(
                (i, b.ground_z - oz + (i - 1) * STOREY_HEIGHT) for i in range(1, count + 1)
            )
            out.append(SimBuilding(b.id, Point3(b.x - ox, b.y - oy, b.ground_z - oz), floors, ()))
    return out


def _home(d: dict[str, Any], buildings: dict[str, SimBuilding]) -> Point3:
    if "position" in d:
        p = d["position"]
        return Point3(float(p["x"]), float(p["y"]), float(p.get("z") or 0.0))
    b = buildings.get(d.get("building", ""))
    if b is None:
        raise ModelViewError(f"device {d.get('id')}: building {d.get('building')!r} is unknown")
    x, y = b.centre.x, b.centre.y
    for uid, _, ux, uy in b.units:
        if uid == d.get("unit"):
            x, y = ux, uy
    return Point3(x, y, b.floor_z(d.get("storey")) + 1.2)  # sensors sit above the floor


def view_of(model: dict[str, Any], base: Path = Path()) -> SimCommunity:
    """The simulation view of a decoded model file (geometry read from ``base``)."""
    try:
        return _view(model, base)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        if isinstance(exc, ModelViewError):
            raise
        raise ModelViewError(f"model file is malformed: {exc!r}") from None


def _view(model: dict[str, Any], base: Path) -> SimCommunity:
    storey_height = float(model.get("storey_height", STOREY_HEIGHT))
    listed = [_building(b, storey_height) for b in model.get("buildings", [])]
    buildings = {b.id: b for b in listed + _geometry_buildings(model, base)}
    raw_devices = model.get("devices", [])
    gw_of_building = {
        d["building"]: d["id"]
        for d in raw_devices
        if d.get("kind") == "gateway" and d.get("building")
    }
    site_gw = next(
        (d["id"] for d in raw_devices if d.get("kind") == "gateway" and "position" in d), PLAIN
    )
    devices = []
    for d in raw_devices:
        kind = str(d.get("kind") or "unknown")
        mobile = bool(d.get("mobile", False))
        if kind == "gateway":
            gateway = str(d["id"])
        elif mobile:
            gateway = DIRECT
        else:
            gateway = gw_of_building.get(d.get("building"), site_gw)
        capacity = (d.get("attributes") or {}).get("capacity")
        devices.append(
            SimDevice(
                id=str(d["id"]),
                kind=kind,
                metrics=tuple(d.get("metrics", ())),
                building=d.get("building"),
                storey=d.get("storey"),
                unit=d.get("unit"),
                home=_home(d, buildings),
                mobile=mobile,
                gateway=gateway,
                capacity=int(capacity) if isinstance(capacity, int | float) else None,
            )
        )
    if not devices:
        raise ModelViewError("the model has no devices to simulate")
    grids = tuple(
        SimGrid(str(g["id"]), g.get("worker"), shape(g["polygon"])) for g in model.get("grids", [])
    )
    xs = [p.home.x for p in devices] + [b.centre.x for b in buildings.values()]
    ys = [p.home.y for p in devices] + [b.centre.y for b in buildings.values()]
    bounds = (min(xs), min(ys), max(xs), max(ys))
    return SimCommunity(
        id=str(model["id"]),
        buildings=buildings,
        devices=tuple(devices),
        grids=grids,
        canteen=_canteen(model, buildings, bounds),
        bounds=bounds,
    )


def _canteen(
    model: dict[str, Any], buildings: dict[str, SimBuilding], bounds: tuple[float, ...]
) -> Point3:
    for raw in model.get("buildings", []):
        name = str(raw.get("name", ""))
        if "食堂" in name or "canteen" in name.lower():
            c = buildings[str(raw["id"])].centre
            return Point3(c.x, c.y, c.z + 1.0)
    # No canteen modelled: the elderly meet in the middle of the site.
    return Point3((bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2, 0.0)


def load_view(path: Path) -> SimCommunity:
    try:
        model = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelViewError(f"{path}: cannot read the model: {exc}") from None
    if not isinstance(model, dict) or "devices" not in model:
        raise ModelViewError(f"{path}: not a community model file (no devices)")
    return view_of(model, path.parent)
