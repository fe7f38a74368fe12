"""The batched mesh path (one parse of every building's boundaries and semantics) gives
the meshes the per-geometry path gave, on the shared 3D BAG tile."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import numpy as np
import orjson

from tests.shared_data import DELFT
from twin.community.file import read_geometry, read_json_file
from twin.geometry.cityjson_mesh import _all_classes
from twin.geometry.mesh import surface_class

# sha256 of every building's (lod, positions, indices, surfaces), by id, as the
# per-building path (before the batched semantics, 84c97b5) computed them.
TILE_MESHES = "39e5baf3bf5c3a41f06178af71a1778bdfa09a413386f117c7ee32d0a53d0357"


def test_the_tiles_meshes_are_what_they_were() -> None:
    found = read_geometry(read_json_file(DELFT), DELFT.name)
    digest = hashlib.sha256()
    triangles = 0
    for b in sorted(found.buildings, key=lambda b: b.id):
        assert b.mesh is not None, b.id
        triangles += b.mesh.triangle_count
        digest.update(b.mesh.lod.encode())
        for part in b.mesh.to_bytes():
            digest.update(part)
    assert (len(found.buildings), triangles) == (443, 55274)
    assert digest.hexdigest() == TILE_MESHES


def one_by_one(geometry: Mapping[str, Any], count: int) -> list[int]:
    """Each face's class the way it was read before: one geometry at a time."""
    semantics = geometry.get("semantics") or {}
    surfaces, values = semantics.get("surfaces"), semantics.get("values")
    if not isinstance(surfaces, list) or not isinstance(values, list):
        return [-1] * count
    text = orjson.dumps(values).replace(b"null", b"-1")
    picks = [int(n) for n in text.translate(None, b"[]").split(b",") if n]
    if len(picks) != count:
        return [-1] * count
    out = []
    for p in picks:
        kind = surfaces[p].get("type") if 0 <= p < len(surfaces) else None
        c = surface_class(kind)
        out.append(-1 if c is None else c)
    return out


def test_semantics_of_all_geometries_at_once_match_one_by_one() -> None:
    data = orjson.loads(DELFT.read_bytes())
    geometries = [
        g
        for o in data["CityObjects"].values()
        for g in o.get("geometry", [])
        if g["type"] in ("Solid", "MultiSurface", "CompositeSurface") and "semantics" in g
    ]
    counts = [
        len(g["boundaries"]) if g["type"] != "Solid" else sum(map(len, g["boundaries"]))
        for g in geometries
    ]
    # Spoil a few: values one face short, none at all, a surface index out of range.
    geometries[0] = {**geometries[0], "semantics": {**geometries[0]["semantics"], "values": [[]]}}
    geometries[1] = {k: v for k, v in geometries[1].items() if k != "semantics"}
    bad = orjson.loads(orjson.dumps(geometries[2]))
    bad["semantics"]["values"][0][0] = 99
    geometries[2] = bad
    got = _all_classes(geometries, np.asarray(counts, np.intp))
    want = [c for g, n in zip(geometries, counts, strict=True) for c in one_by_one(g, n)]
    assert got.tolist() == want
    assert {0, 1, 2} <= set(want)  # roofs, walls and grounds all came from semantics
    assert want.count(-1) >= counts[0] + counts[1] + 1
