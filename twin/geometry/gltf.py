"""Buildings as binary glTF 2.0 (``.glb``), written with pygltflib.

The contract the cockpit draws against (docs/twin.md, "Buildings as glTF"):

* Y-up metres in the community's local frame: glTF ``(X, Y, Z) = (x_east,
  z_up, -y_north)``; with a ``root`` matrix (3D Tiles) the same nodes hang
  under one more node.
* One node per building, ``name`` = building id, ``extras`` = ``{"building": id}``.
* Its mesh has at most two primitives, material ``"roof"`` and material
  ``"wall"`` (ground surfaces drawn as wall), each with ``POSITION``,
  ``NORMAL``, ``indices`` and ``_FEATURE_ID_0`` (float: the building's index
  in the list given), declared through ``EXT_mesh_features`` so that a tiles
  viewer picks buildings (3D Tiles adds a property table, ``twin.geometry.tiles``).

Vertices are not shared between faces (each face keeps its own normal); a
building's primitives share its vertex accessors. All data sits in one
binary buffer, one buffer view per kind (positions, normals, feature ids,
indices), so a city of buildings costs four views and JSON of ~1 KiB each.

>>> from twin.geometry.mesh import extrude
>>> import shapely
>>> glb = buildings_glb(["b1"], extrude([shapely.box(0, 0, 2, 1)], [0.0], [3.0]))
>>> g = pygltflib.GLTF2.load_from_bytes(glb)
>>> [n.name for n in g.nodes], [m.name for m in g.materials], len(g.meshes[0].primitives)
(['b1'], ['roof', 'wall'], 2)
>>> g.accessors[0].min, g.accessors[0].max   # POSITION: x, z up, -y
([0.0, 0.0, -1.0], [2.0, 3.0, 0.0])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pygltflib

from twin.model.mesh import ROOF, BuildingMesh

_FLOAT, _UINT = pygltflib.FLOAT, pygltflib.UNSIGNED_INT
_MATERIALS = (
    ("roof", [0.70, 0.33, 0.25, 1.0]),
    ("wall", [0.86, 0.84, 0.80, 1.0]),
)
FEATURE_ID = "_FEATURE_ID_0"
FIRST_TABLE_VIEW = 4
MESH_FEATURES = "EXT_mesh_features"


@dataclass(slots=True)
class _Packer:
    """Collects arrays into per-kind byte lists; offsets are known as they are added."""

    parts: dict[str, list[bytes]] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)

    def add(self, kind: str, array: npt.NDArray[Any]) -> int:
        data = np.ascontiguousarray(array).tobytes()
        offset = self.sizes.get(kind, 0)
        self.parts.setdefault(kind, []).append(data)
        self.sizes[kind] = offset + len(data)
        return offset


def to_y_up(points: npt.NDArray[np.floating[Any]]) -> npt.NDArray[np.float32]:
    """Local ``(x east, y north, z up)`` → glTF ``(x, z, -y)``.

    >>> to_y_up(np.array([[1.0, 2.0, 3.0]])).tolist()
    [[1.0, 3.0, -2.0]]
    """
    return np.stack([points[:, 0], points[:, 2], 0.0 - points[:, 1]], axis=1).astype(np.float32)


def vertex_normals(mesh: BuildingMesh) -> npt.NDArray[np.float32]:
    """Each vertex's face normal (vertices are per face, so one triangle's normal is enough)."""
    p = mesh.positions.astype(np.float64)
    t = mesh.indices.astype(np.intp)
    normals = np.zeros_like(p)
    if len(t):
        n = np.cross(p[t[:, 1]] - p[t[:, 0]], p[t[:, 2]] - p[t[:, 0]])
        n /= np.maximum(np.linalg.norm(n, axis=1), 1e-12)[:, None]
        for k in range(3):
            normals[t[:, k]] = n
    missing = ~normals.any(axis=1)
    normals[missing] = (0.0, 0.0, 1.0)  # vertices of no triangle: any unit vector
    return normals.astype(np.float32)


def buildings_glb(
    building_ids: Sequence[str],
    meshes: Sequence[BuildingMesh],
    *,
    root: Sequence[float] | None = None,
    extensions: Mapping[str, Any] | None = None,
    property_table: int | None = None,
    tables: Sequence[bytes] = (),
) -> bytes:
    """The buildings as one glb; feature id = position in ``building_ids``.

    ``root``: a column-major 4×4 matrix for a root node holding every building
    (3D Tiles puts the tile's frame there). ``extensions``: top-level glTF
    extensions (3D Tiles: ``EXT_structural_metadata``); ``property_table`` is
    the table each building's feature ids point into; ``tables`` are more buffer
    views (numbered from :data:`FIRST_TABLE_VIEW`) for such a table's columns.
    """
    pack = _Packer()
    accessors: list[pygltflib.Accessor] = []
    nodes: list[pygltflib.Node] = []
    gl_meshes: list[pygltflib.Mesh] = []
    views = {"position": 0, "normal": 1, "feature": 2, "index": 3}

    def accessor(kind: str, array: npt.NDArray[Any], **more: Any) -> int:
        offset = pack.add(kind, array)
        accessors.append(pygltflib.Accessor(bufferView=views[kind], byteOffset=offset, **more))
        return len(accessors) - 1

    for n, (bid, mesh) in enumerate(zip(building_ids, meshes, strict=True)):
        if not mesh.triangle_count:
            continue
        positions = to_y_up(mesh.positions)
        normals = to_y_up(vertex_normals(mesh))
        count = len(positions)
        attributes = {
            "POSITION": accessor(
                "position",
                positions,
                componentType=_FLOAT,
                count=count,
                type="VEC3",
                min=_shortest(positions.min(axis=0)),
                max=_shortest(positions.max(axis=0)),
            ),
            "NORMAL": accessor("normal", normals, componentType=_FLOAT, count=count, type="VEC3"),
            FEATURE_ID: accessor(
                "feature",
                np.full(count, n, np.float32),
                componentType=_FLOAT,
                count=count,
                type="SCALAR",
            ),
        }
        roof = mesh.surfaces == ROOF
        primitives = []
        for material, chosen in ((0, roof), (1, ~roof)):
            tris = mesh.indices[chosen]
            if not len(tris):
                continue
            # 16-bit indices where they fit (a building rarely has 65,536 vertices): half the size.
            small = count <= 0xFFFF
            features: dict[str, Any] = {"featureCount": 1, "attribute": 0}
            if property_table is not None:
                features["propertyTable"] = property_table
            primitives.append(
                pygltflib.Primitive(
                    attributes=pygltflib.Attributes(**attributes),
                    indices=accessor(
                        "index",
                        _padded(tris.astype(np.uint16 if small else np.uint32).ravel()),
                        componentType=pygltflib.UNSIGNED_SHORT if small else _UINT,
                        count=tris.size,
                        type="SCALAR",
                    ),
                    material=material,
                    extensions={MESH_FEATURES: {"featureIds": [features]}},
                )
            )
        gl_meshes.append(pygltflib.Mesh(primitives=primitives))
        nodes.append(pygltflib.Node(name=bid, mesh=len(gl_meshes) - 1, extras={"building": bid}))
    return _assemble(
        pack,
        accessors=accessors,
        nodes=nodes,
        meshes=gl_meshes,
        root=root,
        extensions=extensions,
        tables=tables,
    )


def _shortest(values: npt.NDArray[np.float32]) -> list[float]:
    """float32 values in the fewest digits that read back as the same float32 (``-25.392``)."""
    return [float(str(v)) for v in values]


def _padded(indices: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """16-bit indices padded to a multiple of 4 bytes, so the next accessor stays aligned."""
    if indices.dtype == np.uint16 and len(indices) % 2:
        return np.append(indices, np.uint16(0))
    return indices


def _assemble(
    pack: _Packer,
    *,
    accessors: list[pygltflib.Accessor],
    nodes: list[pygltflib.Node],
    meshes: list[pygltflib.Mesh],
    root: Sequence[float] | None,
    extensions: Mapping[str, Any] | None,
    tables: Sequence[bytes],
) -> bytes:
    blob = bytearray()
    buffer_views = []
    targets = {"index": pygltflib.ELEMENT_ARRAY_BUFFER}
    # Several accessors share each vertex view: glTF then wants its stride spelled out.
    strides = {"position": 12, "normal": 12, "feature": 4}
    for kind in ("position", "normal", "feature", "index"):
        data = b"".join(pack.parts.get(kind, []))
        buffer_views.append(
            pygltflib.BufferView(
                buffer=0,
                byteOffset=len(blob),
                byteLength=max(len(data), 4),
                target=targets.get(kind, pygltflib.ARRAY_BUFFER),
                byteStride=strides.get(kind),
            )
        )
        blob += data.ljust(max((len(data) + 7) // 8 * 8, 8), b"\0")
    for data in tables:
        # Property table columns start on 8-byte boundaries (EXT_structural_metadata).
        buffer_views.append(
            pygltflib.BufferView(buffer=0, byteOffset=len(blob), byteLength=max(len(data), 1))
        )
        blob += data.ljust(max((len(data) + 7) // 8 * 8, 8), b"\0")
    scene_nodes = list(range(len(nodes)))
    if root is not None:
        nodes.append(pygltflib.Node(name="root", matrix=list(root), children=scene_nodes))
        scene_nodes = [len(nodes) - 1]
    used = [MESH_FEATURES, *(extensions or {})]
    gltf = pygltflib.GLTF2(
        asset=pygltflib.Asset(version="2.0", generator="commtwin"),
        scene=0,
        scenes=[pygltflib.Scene(nodes=scene_nodes)],
        nodes=nodes,
        meshes=meshes,
        materials=[
            pygltflib.Material(
                name=name,
                pbrMetallicRoughness=pygltflib.PbrMetallicRoughness(
                    baseColorFactor=color, metallicFactor=0.0, roughnessFactor=0.9
                ),
            )
            for name, color in _MATERIALS
        ],
        accessors=accessors,
        bufferViews=buffer_views,
        buffers=[pygltflib.Buffer(byteLength=len(blob))],
        extensionsUsed=used if meshes else [],
        extensions=dict(extensions or {}),
    )
    gltf.set_binary_blob(bytes(blob))
    return b"".join(gltf.save_to_bytes())
