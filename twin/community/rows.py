"""Community model ⇄ database rows: the tables, their columns, and converters.

Rows are plain tuples of what psycopg returns (jsonb as dicts/lists, text[]
as lists), so an imported model and a stored one compare with ``==``; JSON
columns are wrapped for writing only (:func:`for_write`).

Shared by ``api`` (import, export) and ``ingest`` (loading the model to locate
events). It composes SQL text with ``psycopg.sql`` and wraps JSON for writing,
but runs nothing: the callers own connections and I/O.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from psycopg import sql
from psycopg.types.json import Jsonb

from twin.geometry.geojson import (
    footprint_from_geojson,
    footprint_to_geojson,
    footprints_from_geojson,
)
from twin.geometry.locate import DevicePlace
from twin.geometry.mesh import BuildingMesh, extrude
from twin.model.community import (
    Building,
    Community,
    Device,
    Grid,
    Placement,
    Position,
    Storey,
    Unit,
)
from twin.model.households import household_columns, household_from_columns
from twin.services.rows import service_rows, services_from_rows

Key = tuple[Any, ...]
Row = tuple[Any, ...]
STOREY_HEIGHT_KEY = "_storey_height"
NAME_KEY = "_name"
LOCATED_KEY = "_located"


@dataclass(frozen=True, slots=True)
class Table:
    """One model table: key columns (after ``community_id``) and value columns."""

    name: str
    keys: tuple[str, ...]
    values: tuple[str, ...]
    json: frozenset[str] = frozenset()
    where: str = ""  # extra filter on what this model owns (devices: modelled only)

    def select(self) -> sql.Composed:
        columns = sql.SQL(", ").join(map(sql.Identifier, self.keys + self.values))
        return sql.SQL("SELECT {} FROM {} WHERE community_id = %s{} ORDER BY {}").format(
            columns,
            sql.Identifier(self.name),
            sql.SQL(self.where),
            sql.SQL(", ").join(map(sql.Identifier, self.keys)),
        )

    def upsert(self) -> sql.Composed:
        names = ("community_id", *self.keys, *self.values)
        return sql.SQL(
            "INSERT INTO {} ({}) VALUES ({}) ON CONFLICT (community_id, {}) DO UPDATE SET {}"
        ).format(
            sql.Identifier(self.name),
            sql.SQL(", ").join(map(sql.Identifier, names)),
            sql.SQL(", ").join(sql.Placeholder() * len(names)),
            sql.SQL(", ").join(map(sql.Identifier, self.keys)),
            sql.SQL(", ").join(
                sql.SQL("{} = EXCLUDED.{}").format(sql.Identifier(v), sql.Identifier(v))
                for v in self.values
            ),
        )

    def delete(self) -> sql.Composed:
        return sql.SQL("DELETE FROM {} WHERE community_id = %s AND ({}) = ({})").format(
            sql.Identifier(self.name),
            sql.SQL(", ").join(map(sql.Identifier, self.keys)),
            sql.SQL(", ").join(sql.Placeholder() * len(self.keys)),
        )

    def for_write(self, community_id: str, key: Key, row: Row) -> list[Any]:
        values = [
            Jsonb(v, dumps=_dumps) if name in self.json and v is not None else v
            for name, v in zip(self.values, row, strict=True)
        ]
        return [community_id, *key, *values]


BUILDINGS = Table(
    "buildings",
    ("id",),
    ("name", "footprint", "ground_z", "roof_z", "flags", "attributes"),
    frozenset({"footprint", "attributes"}),
)
STOREYS = Table("storeys", ("building_id", "idx"), ("name", "floor_z", "height"))
UNITS = Table(
    "units",
    ("building_id", "id"),
    ("storey_idx", "name", "footprint", "attributes", "living_alone", "age_band", "care_level"),
    frozenset({"footprint", "attributes"}),
)
GRIDS = Table(
    "grids", ("id",), ("name", "polygon", "worker", "worker_name"), frozenset({"polygon"})
)
DEVICES = Table(
    "devices",
    ("id",),
    (
        "kind",
        "metrics",
        "building_id",
        "storey_idx",
        "unit_id",
        "x",
        "y",
        "z",
        "grid_id",
        "mobile",
        "attributes",
        "modelled",
    ),
    frozenset({"attributes"}),
    where=" AND modelled",
)
FACILITIES = Table(
    "facilities",
    ("id",),
    ("type", "name", "geometry", "attributes"),
    frozenset({"geometry", "attributes"}),
)
WALK_PATHS = Table("walk_paths", ("id",), ("kind", "geometry"), frozenset({"geometry"}))
ENTRANCES = Table("entrances", ("building_id", "idx"), ("x", "y"))
TABLES = (BUILDINGS, STOREYS, UNITS, GRIDS, DEVICES, FACILITIES, WALK_PATHS, ENTRANCES)
MESHES = Table("building_meshes", ("building_id",), ("lod", "positions", "indices", "surfaces"))
"""Not in TABLES: meshes are written by the import (:func:`mesh_rows`), never loaded with
the model; the glTF and 3D Tiles readers select them on their own."""
MESH_DIGESTS = (
    "SELECT building_id, lod, sha256(positions || indices || surfaces)"
    " FROM building_meshes WHERE community_id = %s"
)
"""Stored meshes by building, as ``(lod, digest)`` to compare with :func:`mesh_digest`."""
COMMUNITY = (
    "SELECT id, name, crs, offset_x, offset_y, offset_z, attributes FROM communities WHERE id = %s"
)


def _dumps(obj: Any) -> str:
    return orjson.dumps(obj).decode()


def community_attributes(community: Community) -> dict[str, Any]:
    return {**community.attributes, STOREY_HEIGHT_KEY: community.storey_height}


def model_rows(
    community: Community, places: Mapping[str, DevicePlace]
) -> dict[str, dict[Key, Row]]:
    """Every row the community should have, per table name, by key."""
    rows: dict[str, dict[Key, Row]] = {t.name: {} for t in TABLES}
    for b in community.buildings:
        rows["buildings"][(b.id,)] = (
            b.name,
            footprint_to_geojson(b.footprint),
            b.ground_z,
            b.roof_z,
            list(b.flags),
            dict(b.attributes),
        )
        for s in b.storeys:
            rows["storeys"][(b.id, s.index)] = (s.name, s.floor_z, s.height)
        for u in b.units:
            footprint = footprint_to_geojson(u.footprint) if u.footprint is not None else None
            rows["units"][(b.id, u.id)] = (
                u.storey,
                u.name,
                footprint,
                dict(u.attributes),
                *household_columns(u.household),
            )
    for g in community.grids:
        rows["grids"][(g.id,)] = (g.name, footprint_to_geojson(g.polygon), g.worker, g.worker_name)
    for d in community.devices:
        rows["devices"][(d.id,)] = _device_row(d, places[d.id])
    rows.update(service_rows(community))
    return rows


def mesh_rows(buildings: Sequence[Building]) -> dict[Key, Row]:
    """The mesh row of each building: its modelled surfaces, else its footprint extruded."""
    bare = [b for b in buildings if b.mesh is None]
    extruded = dict(
        zip(
            (b.id for b in bare),
            extrude(
                [b.footprint for b in bare], [b.ground_z for b in bare], [b.roof_z for b in bare]
            ),
            strict=True,
        )
    )
    out: dict[Key, Row] = {}
    for b in buildings:
        mesh = b.mesh if b.mesh is not None else extruded[b.id]
        out[(b.id,)] = (mesh.lod, *mesh.to_bytes())
    return out


def mesh_digest(row: Row) -> tuple[str, bytes]:
    """``(lod, sha256 of the three byte strings)``, as :data:`MESH_DIGESTS` selects it."""
    lod, positions, indices, surfaces = row
    return lod, hashlib.sha256(positions + indices + surfaces).digest()


def stored_mesh(row: Row) -> BuildingMesh:
    """A mesh from its stored ``(lod, positions, indices, surfaces)``."""
    lod, positions, indices, surfaces = row
    return BuildingMesh.from_bytes(lod, bytes(positions), bytes(indices), bytes(surfaces))


def _device_row(d: Device, place: DevicePlace) -> Row:
    p = d.placement
    attributes = dict(d.attributes)
    if d.name is not None:
        attributes[NAME_KEY] = d.name
    if p.building is None and place.building is not None:
        attributes[LOCATED_KEY] = True
    x = y = z = None
    if p.position is not None:
        x, y, z = p.position.x, p.position.y, p.position.z
    return (
        d.kind,
        list(d.metrics),
        place.building,
        place.storey,
        place.unit,
        x,
        y,
        z,
        place.grid,
        d.mobile,
        attributes,
        True,
    )


def community_from_rows(head: Row, tables: Mapping[str, list[Row]]) -> Community:
    """The Community stored in these rows (``head`` is the :data:`COMMUNITY` row)."""
    cid, name, crs, ox, oy, oz, attributes = head
    attributes = dict(attributes)
    storey_height = float(attributes.pop(STOREY_HEIGHT_KEY, 3.0))
    storeys: dict[str, list[Storey]] = {}
    for bid, idx, sname, floor_z, height in tables["storeys"]:
        storeys.setdefault(bid, []).append(Storey(idx, floor_z, height, sname))
    units: dict[str, list[Unit]] = {}
    shaped = [row for row in tables["units"] if row[4] is not None]
    unit_shapes = iter(
        footprints_from_geojson(
            [row[4] for row in shaped], [f"unit {row[1]} of building {row[0]}" for row in shaped]
        )
    )
    for bid, uid, storey, uname, footprint, uattrs, *household in tables["units"]:
        shape = next(unit_shapes) if footprint is not None else None
        home = household_from_columns(*household)
        units.setdefault(bid, []).append(Unit(uid, storey, uname, shape, uattrs, home))
    rows = tables["buildings"]
    shapes = footprints_from_geojson([r[2] for r in rows], [f"building {r[0]}" for r in rows])
    buildings = tuple(
        Building(
            bid,
            bname,
            shape,
            ground,
            roof,
            tuple(sorted(storeys.get(bid, []), key=lambda s: s.index)),
            tuple(units.get(bid, [])),
            tuple(flags),
            battrs,
        )
        for (bid, bname, _, ground, roof, flags, battrs), shape in zip(rows, shapes, strict=True)
    )
    grids = tuple(
        Grid(gid, gname, footprint_from_geojson(polygon, f"grid {gid}"), worker, worker_name)
        for gid, gname, polygon, worker, worker_name in tables["grids"]
    )
    devices = tuple(_device(row) for row in tables["devices"])
    facilities, paths, entrances = services_from_rows(tables)
    return Community(
        cid,
        name,
        crs,
        (ox, oy, oz),
        storey_height,
        buildings,
        grids,
        devices,
        attributes,
        facilities,
        paths,
        entrances,
    )


def _device(row: Row) -> Device:
    did, kind, metrics, bid, storey, uid, x, y, z, _grid, mobile, attributes, _ = row
    attributes = dict(attributes)
    name = attributes.pop(NAME_KEY, None)
    located = attributes.pop(LOCATED_KEY, False)
    position = Position(x, y, z) if x is not None and y is not None else None
    if located or bid is None:
        placement = Placement(position=position)
    else:
        placement = Placement(bid, storey, uid, position)
    return Device(did, kind, tuple(metrics), placement, mobile, name, attributes)
