"""The service-circle parts of a community model file: facilities, paths, entrances.

Top-level keys (docs/twin.md):

* ``facilities``: ``[{"id", "type", "geometry", "name"?, "attributes"?}]``,
  geometry a GeoJSON Point/Polygon/MultiPolygon in local metres;
* ``paths``: ``[{"id", "geometry", "kind"?}]``, a LineString/MultiLineString
  in local metres;
* ``entrances``: ``[{"building", "x", "y"}]``, explicit building entrances;
* ``service_geometry``: GeoJSON files with OSM tags (``twin.services.geojson``)
  whose facilities, walkable ways and ``entrance=*`` nodes are added.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from twin.errors import ModelError
from twin.model import fields as f
from twin.model.community import Building, Community
from twin.model.crs import Frame
from twin.model.facilities import (
    Facility,
    facility_from_json,
    facility_to_json,
    geometry_from_json,
    geometry_to_json,
)
from twin.model.walk_network import Entrance, WalkPath
from twin.services.geojson import entrances_of, read_service_geojson

SERVICE_KEYS = ("facilities", "paths", "entrances", "service_geometry")
_PATH_KEYS = ("id", "geometry", "kind")
_ENTRANCE_KEYS = ("building", "x", "y")

Services = tuple[tuple[Facility, ...], tuple[WalkPath, ...], tuple[Entrance, ...]]


def services_from_json(
    data: Mapping[str, Any],
    owner: str,
    frame: Frame,
    *,
    buildings: Sequence[Building],
    base_dir: Path | None,
    read_json: Callable[[Path], Any],
) -> Services:
    """Facilities, paths and entrances of a model file (checked; ids unique)."""
    facilities = [facility_from_json(x) for x in f.object_list(data, "facilities", owner)]
    paths = [_path(x) for x in f.object_list(data, "paths", owner)]
    by_id = {b.id for b in buildings}
    entrances = [_entrance(x, by_id) for x in f.object_list(data, "entrances", owner)]
    for ref in f.object_list(data, "service_geometry", owner):
        if not isinstance(ref, str) or not ref:
            raise ModelError(owner, f"service_geometry entries are file names, got {ref!r}")
        found = read_service_geojson(read_json((base_dir or Path.cwd()) / ref), ref, frame)
        facilities.extend(found.facilities)
        paths.extend(found.paths)
        entrances.extend(entrances_of(found.entrance_points, buildings))
    _unique([x.id for x in facilities], "facility")
    _unique([x.id for x in paths], "path")
    return tuple(facilities), tuple(paths), tuple(entrances)


def services_to_json(community: Community) -> dict[str, Any]:
    """The model-file keys of a community's services (only those it has)."""
    out: dict[str, Any] = {}
    if community.facilities:
        out["facilities"] = [facility_to_json(x) for x in community.facilities]
    if community.paths:
        out["paths"] = [path_to_json(p) for p in community.paths]
    if community.entrances:
        out["entrances"] = [
            {"building": e.building, "x": e.x, "y": e.y} for e in community.entrances
        ]
    return out


def path_to_json(p: WalkPath) -> dict[str, Any]:
    out: dict[str, Any] = {"id": p.id, "geometry": geometry_to_json(p.geometry)}
    if p.kind is not None:
        out["kind"] = p.kind
    return out


def _path(data: Any) -> WalkPath:
    f.mapping(data, "path", "a path")
    pid = f.identifier(data.get("id"), "path id")
    owner = f"path {pid}"
    f.check_keys(data, _PATH_KEYS, owner)
    geometry = geometry_from_json(data.get("geometry"), owner, ("LineString", "MultiLineString"))
    return WalkPath(pid, geometry, f.optional_str(data.get("kind"), owner, "kind"))


def _entrance(data: Any, buildings: set[str]) -> Entrance:
    f.mapping(data, "entrance", "an entrance")
    f.check_keys(data, _ENTRANCE_KEYS, "entrance")
    bid = data.get("building")
    owner = f"entrance of building {bid}"
    if bid not in buildings:
        raise ModelError(owner, f"building {bid!r} does not exist")
    return Entrance(
        str(bid), f.number(data.get("x"), owner, "x"), f.number(data.get("y"), owner, "y")
    )


def _unique(ids: list[str], kind: str) -> None:
    seen: set[str] = set()
    for i in ids:
        if i in seen:
            raise ModelError(f"{kind} {i}", "duplicate id")
        seen.add(i)
