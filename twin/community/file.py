"""The community model file (docs/DESIGN.md): read, validate, export.

:func:`read_community_file` turns a model file and the geometry files it
references into a checked :class:`~twin.model.community.Community`; any problem is a
:class:`~twin.errors.ModelError` naming the object (``device smoke-1:
building 'b9' does not exist``). :func:`community_to_json` writes a community
back as one self-contained model file (``twin/community/export.py``), which
reads back into an equal community.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson

from twin.errors import ModelError
from twin.geometry.bulk_decode import cycle_collector_paused
from twin.geometry.cityjson import read_cityjson
from twin.geometry.geojson import (
    HEIGHT_DEFAULTED,
    footprint_from_geojson,
)
from twin.geometry.geojson_buildings import read_geojson_buildings
from twin.model import fields as f
from twin.model.community import (
    Building,
    Community,
    Device,
    GeometryImport,
    Grid,
    Placement,
    Position,
    Storey,
    Unit,
)
from twin.model.crs import Frame, require_metric
from twin.model.households import household_from_json
from twin.model.roofs import roof_mesh
from twin.model.storeys import DEFAULT_STOREY_COUNT, DEFAULT_STOREY_HEIGHT, derive_storeys
from twin.services.file import SERVICE_KEYS, services_from_json

_TOP = (
    "id",
    "name",
    "crs",
    "offset",
    "storey_height",
    "geometry",
    "buildings",
    "grids",
    "devices",
    "attributes",
    *SERVICE_KEYS,
)
_BUILDING = (
    "id",
    "name",
    "footprint",
    "ground_z",
    "roof_z",
    "height",
    "storeys",
    "storey_count",
    "units",
    "flags",
    "attributes",
)
_STOREY = ("index", "floor_z", "height", "name")
_UNIT = ("id", "storey", "name", "footprint", "attributes", "household")
_GRID = ("id", "name", "polygon", "worker", "worker_name")
_DEVICE = (
    "id",
    "kind",
    "metrics",
    "building",
    "storey",
    "unit",
    "position",
    "mobile",
    "name",
    "attributes",
)
_POSITION = ("x", "y", "z")


def read_json_file(path: Path) -> Any:
    """Decode a JSON file; a missing or malformed file is a ModelError naming it."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ModelError(str(path), "file not found") from None
    except OSError as exc:
        raise ModelError(str(path), f"cannot be read: {exc.strerror}") from None
    try:
        with cycle_collector_paused():
            return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ModelError(str(path), f"is not valid JSON: {exc}") from None


def is_model_file(data: Any) -> bool:
    """A model file is a JSON object that is neither CityJSON nor GeoJSON.

    >>> is_model_file({"id": "x", "crs": "EPSG:7415"}), is_model_file({"type": "CityJSON"})
    (True, False)
    """
    return isinstance(data, Mapping) and data.get("type") not in (
        "CityJSON",
        "FeatureCollection",
        "Feature",
    )


def read_geometry(
    data: Any,
    source: str,
    *,
    frame: Frame | None = None,
    storey_height: float = DEFAULT_STOREY_HEIGHT,
) -> GeometryImport:
    """Buildings of a decoded CityJSON or GeoJSON document, told apart by ``type``."""
    kind = data.get("type") if isinstance(data, Mapping) else None
    if kind == "CityJSON":
        return read_cityjson(data, source, frame=frame, storey_height=storey_height)
    if kind in ("FeatureCollection", "Feature"):
        return read_geojson_buildings(data, source, frame=frame, storey_height=storey_height)
    raise ModelError(source, "is neither CityJSON nor a GeoJSON FeatureCollection")


def read_community_file(path: Path) -> Community:
    """Read and validate a model file and the geometry files it references."""
    return community_from_json(read_json_file(path), base_dir=path.parent, source=path.name)


def community_from_json(
    data: Any, *, base_dir: Path | None = None, source: str = "model"
) -> Community:
    """A validated Community from a decoded model file.

    ``geometry`` entries are read relative to ``base_dir`` and converted into
    the community frame; every id is checked for duplicates and every device
    placement against the buildings.
    """
    f.mapping(data, source, "a community model file")
    f.check_keys(data, _TOP, source)
    cid = f.identifier(data.get("id"), f"{source} id", pattern=f.COMMUNITY_ID)
    owner = f"community {cid}"
    crs = data.get("crs")
    if crs is None:
        raise ModelError(owner, "crs is required (e.g. EPSG:7415 or a +proj=tmerc string)")
    require_metric(crs, owner)
    offset = _offset(data.get("offset", [0, 0, 0]), owner)
    storey_height = f.positive(
        data.get("storey_height", DEFAULT_STOREY_HEIGHT), owner, "storey_height"
    )
    frame = Frame(str(crs), offset)
    origin: dict[str, str] = {}
    buildings: list[Building] = []
    for raw in f.object_list(data, "buildings", owner):
        building = building_from_json(raw, storey_height, offset[2])
        _claim(origin, building.id, source)
        buildings.append(building)
    for ref in f.object_list(data, "geometry", owner):
        if not isinstance(ref, str) or not ref:
            raise ModelError(owner, f"geometry entries are file names, got {ref!r}")
        path = (base_dir or Path.cwd()) / ref
        found = read_geometry(read_json_file(path), ref, frame=frame, storey_height=storey_height)
        for building in found.buildings:
            _claim(origin, building.id, ref)
        buildings.extend(found.buildings)
    grids = [_grid(g) for g in f.object_list(data, "grids", owner)]
    _check_unique([g.id for g in grids], "grid")
    by_id = {b.id: b for b in buildings}
    devices = [device_from_json(d, by_id) for d in f.object_list(data, "devices", owner)]
    _check_unique([d.id for d in devices], "device")
    facilities, paths, entrances = services_from_json(
        data, owner, frame, buildings=buildings, base_dir=base_dir, read_json=read_json_file
    )
    return Community(
        id=cid,
        name=f.optional_str(data.get("name"), owner, "name") or cid,
        crs=str(crs),
        offset=offset,
        storey_height=storey_height,
        buildings=tuple(buildings),
        grids=tuple(grids),
        devices=tuple(devices),
        attributes=f.attributes(data, owner),
        facilities=facilities,
        paths=paths,
        entrances=entrances,
    )


def building_from_json(data: Any, storey_height: float, offset_z: float = 0.0) -> Building:
    """One inline building of a model file (local coordinates).

    Height: ``roof_z``, else ``ground_z + height``, else ``storey_count ×
    storey_height``, else the top of the given storeys, else the default
    storey count (flag ``height_defaulted``).
    """
    f.mapping(data, "building", "a building")
    bid = f.identifier(data.get("id"), "building id")
    owner = f"building {bid}"
    f.check_keys(data, _BUILDING, owner)
    if "footprint" not in data:
        raise ModelError(owner, "footprint is required")
    footprint = footprint_from_geojson(data["footprint"], owner)
    ground_z = f.number(data.get("ground_z", 0.0 - offset_z), owner, "ground_z")
    explicit = [_storey(s, owner, storey_height) for s in f.object_list(data, "storeys", owner)]
    count = data.get("storey_count")
    count = f.integer(count, owner, "storey_count") if count is not None else None
    flags = list(f.string_list(data.get("flags", []), owner, "flags"))
    if "roof_z" in data and "height" in data:
        raise ModelError(owner, "give roof_z or height, not both")
    if "roof_z" in data:
        roof_z = f.number(data["roof_z"], owner, "roof_z")
    elif "height" in data:
        roof_z = ground_z + f.positive(data["height"], owner, "height")
    elif count is not None:
        roof_z = ground_z + count * storey_height
    elif any(s.index > 0 for s in explicit):
        roof_z = max(s.top_z for s in explicit)
    else:
        roof_z = ground_z + DEFAULT_STOREY_COUNT * storey_height
        flags = [*flags, HEIGHT_DEFAULTED] if HEIGHT_DEFAULTED not in flags else flags
    if roof_z <= ground_z:
        raise ModelError(owner, f"roof_z ({roof_z}) must be above ground_z ({ground_z})")
    storeys = derive_storeys(
        owner, ground_z, roof_z, storey_height=storey_height, explicit=explicit, count=count
    )
    units = tuple(_unit(u, owner, storeys) for u in f.object_list(data, "units", owner))
    seen: set[str] = set()
    for unit in units:
        if unit.id in seen:
            raise ModelError(f"unit {unit.id} of {owner}", "duplicate id")
        seen.add(unit.id)
    attributes = f.attributes(data, owner)
    return Building(
        id=bid,
        name=f.optional_str(data.get("name"), owner, "name"),
        footprint=footprint,
        ground_z=ground_z,
        roof_z=roof_z,
        storeys=storeys,
        units=units,
        flags=tuple(flags),
        attributes=attributes,
        # A generated building's LoD2 roof (twin/model/roofs.py); else extruded at import.
        mesh=roof_mesh(footprint, ground_z=ground_z, roof_z=roof_z, attributes=attributes),
    )


def device_from_json(data: Any, buildings: Mapping[str, Building]) -> Device:
    """One device, its placement checked against ``buildings``."""
    f.mapping(data, "device", "a device")
    did = f.identifier(data.get("id"), "device id")
    owner = f"device {did}"
    f.check_keys(data, _DEVICE, owner)
    kind = f.name_pattern(data.get("kind"), owner, "kind")
    metrics = f.string_list(data.get("metrics", []), owner, "metrics")
    for metric in metrics:
        f.name_pattern(metric, owner, "metric")
    mobile = data.get("mobile", False)
    if not isinstance(mobile, bool):
        raise ModelError(owner, f"mobile must be true or false, got {mobile!r}")
    return Device(
        id=did,
        kind=kind,
        metrics=metrics,
        placement=_placement(data, owner, buildings),
        mobile=mobile,
        name=f.optional_str(data.get("name"), owner, "name"),
        attributes=f.attributes(data, owner),
    )


def _placement(data: Mapping[str, Any], owner: str, buildings: Mapping[str, Building]) -> Placement:
    position = None
    if data.get("position") is not None:
        raw = f.mapping(data["position"], owner, "position")
        f.check_keys(raw, _POSITION, f"{owner} position")
        z = raw.get("z")
        position = Position(
            f.number(raw.get("x"), owner, "position x"),
            f.number(raw.get("y"), owner, "position y"),
            f.number(z, owner, "position z") if z is not None else None,
        )
    bid, storey, uid = data.get("building"), data.get("storey"), data.get("unit")
    if bid is not None and not isinstance(bid, str):
        raise ModelError(owner, f"building must be a building id, got {bid!r}")
    if uid is not None and not isinstance(uid, str):
        raise ModelError(owner, f"unit must be a unit id, got {uid!r}")
    if storey is not None:
        storey = f.storey_index(storey, owner)
    return check_placement(owner, Placement(bid, storey, uid, position), buildings)


def check_placement(
    owner: str, placement: Placement, buildings: Mapping[str, Building]
) -> Placement:
    """The placement if its building/storey/unit exist (storey filled from the unit)."""
    bid, storey, uid = placement.building, placement.storey, placement.unit
    if bid is None:
        if storey is not None or uid is not None:
            raise ModelError(owner, "a storey or unit needs a building")
        return placement
    building = buildings.get(bid)
    if building is None:
        raise ModelError(owner, f"building {bid!r} does not exist")
    if storey is not None and building.storey(storey) is None:
        raise ModelError(owner, f"storey {storey} does not exist in building {bid}")
    if uid is not None:
        unit = building.unit(uid)
        if unit is None:
            raise ModelError(owner, f"unit {uid!r} does not exist in building {bid}")
        if storey is not None and storey != unit.storey:
            raise ModelError(owner, f"unit {uid} is on storey {unit.storey}, not {storey}")
        storey = unit.storey
    return Placement(bid, storey, uid, placement.position)


def check_devices(community: Community) -> None:
    """Every device's placement exists in the community's buildings (e.g. after
    replacing the buildings with a new geometry file), else a ModelError."""
    buildings = community.buildings_by_id()
    for device in community.devices:
        check_placement(f"device {device.id}", device.placement, buildings)


def _storey(data: Any, owner: str, storey_height: float) -> Storey:
    f.mapping(data, owner, "a storey")
    f.check_keys(data, _STOREY, f"{owner} storey")
    index = f.storey_index(data.get("index"), owner, "storey index")
    where = f"{owner} storey {index}"
    return Storey(
        index,
        f.number(data.get("floor_z"), where, "floor_z"),
        f.positive(data.get("height", storey_height), where, "height"),
        f.optional_str(data.get("name"), where, "name"),
    )


def _unit(data: Any, owner: str, storeys: tuple[Storey, ...]) -> Unit:
    f.mapping(data, owner, "a unit")
    uid = f.identifier(data.get("id"), f"unit id in {owner}")
    where = f"unit {uid} of {owner}"
    f.check_keys(data, _UNIT, where)
    storey = f.storey_index(data.get("storey"), where)
    if all(s.index != storey for s in storeys):
        raise ModelError(where, f"storey {storey} does not exist")
    footprint = data.get("footprint")
    household = data.get("household")
    return Unit(
        uid,
        storey,
        f.optional_str(data.get("name"), where, "name"),
        footprint_from_geojson(footprint, where) if footprint is not None else None,
        f.attributes(data, where),
        household_from_json(household, where) if household is not None else None,
    )


def _grid(data: Any) -> Grid:
    f.mapping(data, "grid", "a grid")
    gid = f.identifier(data.get("id"), "grid id")
    owner = f"grid {gid}"
    f.check_keys(data, _GRID, owner)
    if "polygon" not in data:
        raise ModelError(owner, "polygon is required")
    return Grid(
        gid,
        f.optional_str(data.get("name"), owner, "name"),
        footprint_from_geojson(data["polygon"], owner),
        f.optional_str(data.get("worker"), owner, "worker"),
        f.optional_str(data.get("worker_name"), owner, "worker_name"),
    )


def _offset(value: Any, owner: str) -> tuple[float, float, float]:
    if not isinstance(value, list) or len(value) != 3:
        raise ModelError(owner, f"offset must be [x, y, z], got {value!r}")
    x, y, z = (f.number(v, owner, "offset") for v in value)
    return (x, y, z)


def _claim(origin: dict[str, str], building_id: str, source: str) -> None:
    if building_id in origin:
        where = origin[building_id]
        also = f"in {where} and {source}" if where != source else f"twice in {source}"
        raise ModelError(f"building {building_id}", f"duplicate id ({also})")
    origin[building_id] = source


def _check_unique(ids: list[str], kind: str) -> None:
    seen: set[str] = set()
    for i in ids:
        if i in seen:
            raise ModelError(f"{kind} {i}", "duplicate id")
        seen.add(i)
