"""Tiny binary glTF 2.0 files written by hand for the browser tests.

Two uses: buildings as the API's ``buildings.glb`` serves them (one node per
building, ``extras.building``, primitives with materials "roof" and "wall",
``_FEATURE_ID_0``; Y-up: glTF (X, Y, Z) = (x_east, z_up, -y_north)), and the
content of a small 3D Tiles backdrop. Triangles are listed as they are (no
index buffer), so a face is three vertices.

>>> glb = write_glb([Node("b1", {"wall": gable_house(0, 0, 10, 6, eave=6, rise=3)["wall"]})])
>>> glb[:4], int.from_bytes(glb[8:12], "little") == len(glb)
(b'glTF', True)
"""

from __future__ import annotations

import json
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field

Vec3 = tuple[float, float, float]
Triangle = tuple[Vec3, Vec3, Vec3]
MATERIAL_COLOURS = {"roof": [0.72, 0.42, 0.3, 1.0], "wall": [0.8, 0.8, 0.78, 1.0]}


@dataclass(frozen=True)
class Node:
    """One building (or one mesh of a tile): triangles per material name."""

    name: str
    surfaces: dict[str, list[Triangle]]
    extras: dict[str, object] = field(default_factory=dict)


def _quad(a: Vec3, b: Vec3, c: Vec3, d: Vec3) -> list[Triangle]:
    return [(a, b, c), (a, c, d)]


def gable_house(
    x0: float, y0: float, w: float, d: float, *, eave: float, rise: float
) -> dict[str, list[Triangle]]:
    """A box ``w`` × ``d`` (x east, y north, local metres) up to ``eave``, with a
    gable roof rising ``rise`` to a ridge running east-west; z-up triangles."""
    x1, y1, ym, top = x0 + w, y0 + d, y0 + d / 2, eave + rise
    walls = [
        *_quad((x0, y0, 0), (x1, y0, 0), (x1, y0, eave), (x0, y0, eave)),
        *_quad((x1, y1, 0), (x0, y1, 0), (x0, y1, eave), (x1, y1, eave)),
        *_quad((x1, y0, 0), (x1, y1, 0), (x1, y1, eave), (x1, y0, eave)),
        *_quad((x0, y1, 0), (x0, y0, 0), (x0, y0, eave), (x0, y1, eave)),
        ((x1, y0, eave), (x1, y1, eave), (x1, ym, top)),  # gable ends
        ((x0, y1, eave), (x0, y0, eave), (x0, ym, top)),
    ]
    roofs = [
        *_quad((x0, y0, eave), (x1, y0, eave), (x1, ym, top), (x0, ym, top)),
        *_quad((x1, y1, eave), (x0, y1, eave), (x0, ym, top), (x1, ym, top)),
    ]
    return {"wall": walls, "roof": roofs}


def y_up(p: Vec3) -> Vec3:
    """Local (x east, y north, z up) → glTF (x, z, -y)."""
    return (p[0], p[2], -p[1])


def write_glb(
    nodes: Sequence[Node],
    *,
    to_y_up: bool = True,
    colours: dict[str, list[float]] | None = None,
) -> bytes:
    """A glb with one node and mesh per ``Node``; materials by surface name."""
    palette = {**MATERIAL_COLOURS, **(colours or {})}
    materials = sorted({name for n in nodes for name in n.surfaces})
    binary = bytearray()
    accessors: list[dict[str, object]] = []
    views: list[dict[str, object]] = []
    meshes: list[dict[str, object]] = []

    def add_view(data: bytes) -> int:
        while len(binary) % 4:
            binary.append(0)
        views.append({"buffer": 0, "byteOffset": len(binary), "byteLength": len(data)})
        binary.extend(data)
        return len(views) - 1

    for feature, node in enumerate(nodes):
        primitives = []
        for name, triangles in sorted(node.surfaces.items()):
            points = [y_up(p) if to_y_up else p for t in triangles for p in t]
            flat = [c for p in points for c in p]
            view = add_view(struct.pack(f"<{len(flat)}f", *flat))
            accessors.append(
                {
                    "bufferView": view,
                    "componentType": 5126,
                    "count": len(points),
                    "type": "VEC3",
                    "min": [min(p[i] for p in points) for i in range(3)],
                    "max": [max(p[i] for p in points) for i in range(3)],
                }
            )
            position = len(accessors) - 1
            ids = add_view(struct.pack(f"<{len(points)}f", *[float(feature)] * len(points)))
            accessors.append(
                {"bufferView": ids, "componentType": 5126, "count": len(points), "type": "SCALAR"}
            )
            attributes = {"POSITION": position, "_FEATURE_ID_0": len(accessors) - 1}
            primitives.append({"attributes": attributes, "material": materials.index(name)})
        meshes.append({"primitives": primitives})
    document = {
        "asset": {"version": "2.0", "generator": "commtwin tests"},
        "scene": 0,
        "scenes": [{"nodes": list(range(len(nodes)))}],
        "nodes": [
            {"name": n.name, "mesh": i, "extras": n.extras or {"building": n.name}}
            for i, n in enumerate(nodes)
        ],
        "meshes": meshes,
        "materials": [
            {
                "name": name,
                "pbrMetallicRoughness": {
                    "baseColorFactor": palette.get(name, [0.6, 0.6, 0.6, 1.0]),
                    "metallicFactor": 0.0,
                },
                "doubleSided": True,
            }
            for name in materials
        ],
        "accessors": accessors,
        "bufferViews": views,
        "buffers": [{"byteLength": len(binary)}],
    }
    while len(binary) % 4:
        binary.append(0)
    text = json.dumps(document, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 4)
    chunks = struct.pack("<I4s", len(text), b"JSON") + text
    chunks += struct.pack("<I4s", len(binary), b"BIN\x00") + bytes(binary)
    return struct.pack("<4sII", b"glTF", 2, 12 + len(chunks)) + chunks
