"""Every building of a community with its stored mesh (or its footprint, where none is stored)."""

from __future__ import annotations

from typing import Any

from api.db import Conn
from twin.community.rows import stored_mesh
from twin.geometry.geojson import footprints_from_geojson
from twin.geometry.mesh import extrude
from twin.model.mesh import BuildingMesh

MESH_VERSION = "SELECT version FROM building_mesh_versions WHERE community_id = %s"
BUILDINGS_WITH_MESHES = (
    "SELECT b.id, m.lod, m.positions, m.indices, m.surfaces, b.footprint, b.ground_z, b.roof_z"
    " FROM buildings b LEFT JOIN building_meshes m"
    " ON m.community_id = b.community_id AND m.building_id = b.id"
    " WHERE b.community_id = %s ORDER BY b.id"
)


async def mesh_version(conn: Conn, cid: str) -> int:
    """Bumped by each import that changes buildings or meshes (0: never)."""
    cur = await conn.execute(MESH_VERSION, (cid,))
    row = await cur.fetchone()
    return int(row[0]) if row is not None else 0


async def building_meshes(conn: Conn, cid: str) -> tuple[list[str], list[BuildingMesh]]:
    """Building ids (sorted) and their meshes.

    A building stored before meshes were (a database migrated from an older
    commtwin) is drawn as its footprint extruded, until its next import.
    """
    cur = await conn.execute(BUILDINGS_WITH_MESHES, (cid,))
    rows: list[tuple[Any, ...]] = list(await cur.fetchall())
    return [str(r[0]) for r in rows], meshes_of(rows)


def meshes_of(rows: list[tuple[Any, ...]]) -> list[BuildingMesh]:
    bare = [r for r in rows if r[1] is None]
    shapes = footprints_from_geojson([r[5] for r in bare], [f"building {r[0]}" for r in bare])
    extruded = iter(extrude(shapes, [r[6] for r in bare], [r[7] for r in bare]))
    return [next(extruded) if r[1] is None else stored_mesh(tuple(r[1:5])) for r in rows]
