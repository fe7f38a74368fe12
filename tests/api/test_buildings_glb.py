"""GET /v1/communities/{cid}/buildings.glb: the buildings as modelled, read back by two readers."""

from __future__ import annotations

import io
import uuid
from dataclasses import replace

import httpx
import numpy as np
import psycopg
import pygltflib
import pytest
import trimesh

from api.community_store import import_community
from tests.api.seed import A
from tests.shared_data import DELFT
from twin.community.file import read_geometry, read_json_file
from twin.geometry.gltf import FEATURE_ID
from twin.model.community import Community


@pytest.fixture(scope="module")
def delft() -> Community:
    found = read_geometry(read_json_file(DELFT), DELFT.name)
    cid = f"glb-{uuid.uuid4().hex[:8]}"
    return Community(cid, cid, found.frame.crs, found.frame.offset, buildings=found.buildings)


@pytest.fixture(scope="module")
def imported(database_url: str, delft: Community) -> Community:
    with psycopg.connect(database_url, autocommit=True) as conn:
        import_community(conn, delft)
    return delft


def _glb(client: httpx.Client, cid: str, headers: dict[str, str]) -> httpx.Response:
    return client.get(f"/v1/communities/{cid}/buildings.glb", headers=headers)


def test_glb_holds_every_building_as_modelled(
    client: httpx.Client, keys: dict[str, dict[str, str]], imported: Community
) -> None:
    got = _glb(client, imported.id, keys["reader_all"])
    assert got.status_code == 200, got.text
    assert got.headers["content-type"] == "model/gltf-binary"
    gltf = pygltflib.GLTF2.load_from_bytes(got.content)
    by_id = {b.id: b for b in imported.buildings}
    nodes = [n for n in gltf.nodes if n.mesh is not None]
    assert [n.name for n in nodes] == sorted(by_id)
    assert all(n.extras == {"building": n.name} for n in nodes)
    assert {m.name for m in gltf.materials} == {"roof", "wall"}
    roofs = 0
    for index, node in enumerate(nodes):
        mesh = by_id[node.name].mesh
        assert mesh is not None
        assert mesh.lod == "2.2"
        primitives = gltf.meshes[node.mesh].primitives
        assert 1 <= len(primitives) <= 2
        position = gltf.accessors[primitives[0].attributes.POSITION]
        assert position.count == mesh.vertex_count
        # glTF is Y-up: (x, z, -y) of the model's local metres.
        local = mesh.positions
        assert position.min == pytest.approx(
            [local[:, 0].min(), local[:, 2].min(), -local[:, 1].max()], abs=1e-3
        )
        assert position.max == pytest.approx(
            [local[:, 0].max(), local[:, 2].max(), -local[:, 1].min()], abs=1e-3
        )
        triangles = sum(gltf.accessors[p.indices].count for p in primitives) // 3
        assert triangles == mesh.triangle_count
        features = getattr(primitives[0].attributes, FEATURE_ID)
        assert gltf.accessors[features].count == mesh.vertex_count
        assert primitives[0].extensions["EXT_mesh_features"]["featureIds"][0]["attribute"] == 0
        roofs += sum(gltf.materials[p.material].name == "roof" for p in primitives)
        assert index == sorted(by_id).index(node.name)
    assert roofs == len(nodes)  # every LoD2 building of the tile has its roof

    # A second, independent reader: trimesh sees the same scene and bounds.
    scene = trimesh.load(io.BytesIO(got.content), file_type="glb", force="scene")
    assert len(scene.graph.nodes_geometry) == sum(
        len(gltf.meshes[n.mesh].primitives) for n in nodes
    )
    every = np.concatenate([b.mesh.positions for b in imported.buildings if b.mesh is not None])
    expected = np.array(
        [
            [every[:, 0].min(), every[:, 2].min(), -every[:, 1].max()],
            [every[:, 0].max(), every[:, 2].max(), -every[:, 1].min()],
        ]
    )
    assert np.allclose(scene.bounds, expected, atol=1e-3)


def test_glb_is_cached_with_a_strong_etag_until_the_model_changes(
    client: httpx.Client, keys: dict[str, dict[str, str]], imported: Community, database_url: str
) -> None:
    first = _glb(client, imported.id, keys["reader_all"])
    etag = first.headers["etag"]
    assert etag.startswith('"')
    again = client.get(
        f"/v1/communities/{imported.id}/buildings.glb",
        headers={**keys["reader_all"], "If-None-Match": etag},
    )
    assert again.status_code == 304
    assert again.content == b""
    # One building fewer: a new glb, without it.
    fewer = replace(imported, buildings=imported.buildings[1:])
    with psycopg.connect(database_url, autocommit=True) as conn:
        import_community(conn, fewer)
    try:
        changed = client.get(
            f"/v1/communities/{imported.id}/buildings.glb",
            headers={**keys["reader_all"], "If-None-Match": etag},
        )
        assert changed.status_code == 200
        assert changed.headers["etag"] != etag
        names = [n.name for n in pygltflib.GLTF2.load_from_bytes(changed.content).nodes]
        assert imported.buildings[0].id not in names
        assert len(names) == len(imported.buildings) - 1
    finally:
        with psycopg.connect(database_url, autocommit=True) as conn:
            import_community(conn, imported)


def test_glb_of_another_community_is_404(
    client: httpx.Client, keys: dict[str, dict[str, str]], imported: Community
) -> None:
    other = _glb(client, imported.id, keys["reader_a"])
    missing = _glb(client, "no-such-community", keys["reader_all"])
    assert other.status_code == missing.status_code == 404
    assert _glb(client, imported.id, {}).status_code == 401


def test_buildings_stored_without_meshes_are_extruded(
    client: httpx.Client, keys: dict[str, dict[str, str]]
) -> None:
    # The seed writes buildings with plain SQL, as a database from before meshes has them.
    got = _glb(client, A, keys["reader_a"])
    assert got.status_code == 200
    gltf = pygltflib.GLTF2.load_from_bytes(got.content)
    names = [n.name for n in gltf.nodes]
    assert names == sorted(names)
    assert len(names) == 2
    for node in gltf.nodes:
        position = gltf.accessors[gltf.meshes[node.mesh].primitives[0].attributes.POSITION]
        assert position.max[1] > position.min[1] + 1  # a block with a height, not a flat outline
