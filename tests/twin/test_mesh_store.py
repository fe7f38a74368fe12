"""Building meshes in the database: written with the buildings, kept, replaced, removed."""

from __future__ import annotations

import uuid
from dataclasses import replace

import psycopg

from api.community_store import import_community, load_community
from tests.shared_data import DELFT
from tests.twin.test_community_store import lanting
from twin.community.file import read_geometry, read_json_file
from twin.community.rows import stored_mesh
from twin.model.community import Community
from twin.model.mesh import BuildingMesh

Conn = psycopg.Connection[tuple[object, ...]]


def stored(conn: Conn, cid: str) -> dict[str, BuildingMesh]:
    rows = conn.execute(
        "SELECT building_id, lod, positions, indices, surfaces FROM building_meshes"
        " WHERE community_id = %s",
        (cid,),
    ).fetchall()
    return {str(r[0]): stored_mesh(tuple(r[1:])) for r in rows}


def version(conn: Conn, cid: str) -> int | None:
    row = conn.execute(
        "SELECT version FROM building_mesh_versions WHERE community_id = %s", (cid,)
    ).fetchone()
    return int(str(row[0])) if row else None


def test_lod2_meshes_are_stored_and_kept_when_the_model_file_has_none(conn: Conn) -> None:
    found = read_geometry(read_json_file(DELFT), DELFT.name)
    cid = f"mesh-{uuid.uuid4().hex[:8]}"
    city = Community(cid, cid, found.frame.crs, found.frame.offset, buildings=found.buildings)
    report = import_community(conn, city)
    assert len(report.meshes.added) == 443
    meshes = stored(conn, cid)
    first = city.buildings[0]
    assert first.mesh is not None
    assert meshes[first.id].lod == "2.2"
    assert (meshes[first.id].positions == first.mesh.positions).all()
    assert (meshes[first.id].indices == first.mesh.indices).all()
    assert (meshes[first.id].surfaces == first.mesh.surfaces).all()
    seen = version(conn, cid)
    assert seen == report.change_seq

    # Read back (no meshes loaded) and imported again, as an exported model file
    # would be: unchanged buildings keep their LoD2 surfaces.
    loaded = load_community(conn, cid)
    assert loaded is not None
    assert all(b.mesh is None for b in loaded.buildings)
    again = import_community(conn, loaded)
    assert not again.changed
    assert stored(conn, cid)[first.id].lod == "2.2"
    assert version(conn, cid) == seen

    # A building whose height changed without surfaces given is extruded anew;
    # one removed loses its mesh.
    taller = replace(loaded.buildings[0], roof_z=loaded.buildings[0].roof_z + 5)
    changed = import_community(conn, replace(loaded, buildings=(taller, *loaded.buildings[2:])))
    assert changed.meshes.updated == (first.id,)
    now = stored(conn, cid)
    assert now[first.id].lod == "extruded"
    assert float(now[first.id].positions[:, 2].max()) == taller.roof_z
    assert city.buildings[1].id not in now
    assert version(conn, cid) == changed.change_seq


def test_a_model_file_without_surfaces_gets_its_footprints_extruded(conn: Conn) -> None:
    cid = f"mesh-{uuid.uuid4().hex[:8]}"
    community = lanting(cid)
    import_community(conn, community)
    meshes = stored(conn, cid)
    assert set(meshes) == {b.id for b in community.buildings}
    for b in community.buildings:
        mesh = meshes[b.id]
        assert mesh.lod == "extruded"
        assert float(mesh.positions[:, 2].min()) == b.ground_z
        assert float(mesh.positions[:, 2].max()) == b.roof_z
        # Its plan is the footprint's.
        lo, hi = mesh.positions[:, :2].min(axis=0), mesh.positions[:, :2].max(axis=0)
        assert [*lo, *hi] == list(b.footprint.bounds)
