"""A community's buildings as an OGC 3D Tiles 1.1 tileset (``tileset.json`` + glb tiles).

* Content: glTF 2.0 (``twin.geometry.gltf``), one feature per building
  (``EXT_mesh_features``: ``_FEATURE_ID_0`` = the building's row in the tile's
  property table) with its attributes in an ``EXT_structural_metadata``
  property table of class ``building``: ``id``, ``name``, ``height`` (m,
  ground to roof), ``storeys`` (above ground), ``ground_z`` and ``roof_z``
  (local metres).
* Tiling: a quadtree over the buildings' plan centres, split until a tile
  holds at most ``max_per_tile`` buildings; only leaves have content
  (``refine: ADD``), the root and inner tiles only bounds, so a viewer loads
  the tiles in view.
* Georeference: tile content and bounding boxes are in the community's local
  frame (x east, y north, z up; glTF's Y-up is turned Z-up by the 3D Tiles
  runtime); the root's ``transform`` maps that frame to ECEF (EPSG:4978): the
  origin (the community's offset in its CRS) and the images of the local axes,
  computed with pyproj one metre away, so grid convergence and the
  projection's scale are in it. Heights are taken as ellipsoidal (no geoid
  offline, as for the rest of the model). One plane for the community: at
  2 km from the origin the Earth's curvature puts the ground ~0.3 m low.

>>> from twin.geometry.mesh import extrude
>>> import shapely
>>> b = TileBuilding("b1", "Town hall", 12.0, 4, 0.0, 12.0,
...                  extrude([shapely.box(0, 0, 10, 10)], [0.0], [12.0])[0])
>>> files = tileset([b], Frame("EPSG:28992", (85000.0, 447000.0, 0.0)))
>>> sorted(files)
['tiles/0.glb', 'tileset.json']
>>> doc = json.loads(files["tileset.json"])
>>> doc["asset"]["version"], doc["root"]["children"][0]["content"]["uri"]
('1.1', 'tiles/0.glb')
>>> import math
>>> round(math.dist(doc["root"]["transform"][12:15], (0, 0, 0)) / 1000)   # km from the centre
6365
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from pyproj import Transformer

from twin.geometry.gltf import FIRST_TABLE_VIEW, buildings_glb
from twin.model.crs import Frame
from twin.model.mesh import BuildingMesh

MAX_PER_TILE = 500
_MAX_DEPTH = 12
STRUCTURAL_METADATA = "EXT_structural_metadata"
SCHEMA: dict[str, Any] = {
    "id": "commtwin",
    "classes": {
        "building": {
            "name": "Building",
            "properties": {
                "id": {"type": "STRING", "required": True, "description": "building id"},
                "name": {"type": "STRING", "noData": ""},
                "height": {"type": "SCALAR", "componentType": "FLOAT32", "required": True},
                "storeys": {"type": "SCALAR", "componentType": "UINT16", "required": True},
                "ground_z": {"type": "SCALAR", "componentType": "FLOAT32", "required": True},
                "roof_z": {"type": "SCALAR", "componentType": "FLOAT32", "required": True},
            },
        }
    },
}


@dataclass(frozen=True, slots=True)
class TileBuilding:
    """What a tile carries of one building: its attributes and its mesh (local metres)."""

    id: str
    name: str | None
    height: float
    storeys: int
    ground_z: float
    roof_z: float
    mesh: BuildingMesh


def tileset(
    buildings: Sequence[TileBuilding], frame: Frame, *, max_per_tile: int = MAX_PER_TILE
) -> dict[str, bytes]:
    """Every file of the tileset by relative path: ``tileset.json`` and ``tiles/N.glb``."""
    drawn = [b for b in buildings if b.mesh.triangle_count]
    lows = np.array([b.mesh.positions.min(axis=0) for b in drawn], np.float64).reshape(-1, 3)
    highs = np.array([b.mesh.positions.max(axis=0) for b in drawn], np.float64).reshape(-1, 3)
    files: dict[str, bytes] = {}

    def tile(members: npt.NDArray[np.intp], depth: int) -> dict[str, Any]:
        low, high = lows[members].min(axis=0), highs[members].max(axis=0)
        box = {"box": _box(low, high)}
        if len(members) <= max_per_tile or depth >= _MAX_DEPTH:
            uri = f"tiles/{len(files)}.glb"
            files[uri] = tile_glb([drawn[i] for i in members.tolist()])
            return {"boundingVolume": box, "geometricError": 0.0, "content": {"uri": uri}}
        centre = (lows[members, :2] + highs[members, :2]) / 2
        mid = (centre.min(axis=0) + centre.max(axis=0)) / 2
        quadrant = (centre[:, 0] > mid[0]).astype(int) + 2 * (centre[:, 1] > mid[1])
        children = [
            tile(members[quadrant == q], depth + 1) for q in range(4) if (quadrant == q).any()
        ]
        if len(children) == 1:  # every centre on one point: no split helps
            return tile(members, _MAX_DEPTH)
        return {
            "boundingVolume": box,
            "geometricError": _error(low, high),
            "refine": "ADD",
            "children": children,
        }

    if drawn:
        root = tile(np.arange(len(drawn)), 0)
        if "content" in root:  # a tileset whose root has content only: give it a parent
            root = {**root, "geometricError": _error(lows.min(axis=0), highs.max(axis=0)),
                    "refine": "ADD", "children": [dict(root)]}  # fmt: skip
            del root["content"]
    else:
        root = {"boundingVolume": {"box": _box(np.zeros(3), np.zeros(3))}, "geometricError": 0.0}
    root["refine"] = "ADD"  # required on the root, whatever it holds
    root["transform"] = local_to_ecef(frame)
    document = {
        "asset": {"version": "1.1", "generator": "commtwin"},
        "geometricError": max(2 * float(root["geometricError"]), 1.0),
        "root": root,
    }
    files["tileset.json"] = json.dumps(document, indent=1).encode()
    return files


def _box(low: npt.NDArray[np.float64], high: npt.NDArray[np.float64]) -> list[float]:
    """An oriented bounding box aligned with the local axes: centre, then half-axes."""
    c = (low + high) / 2
    h = np.maximum((high - low) / 2, 0.01)  # a flat tile still has some thickness
    return [*c.tolist(), h[0], 0.0, 0.0, 0.0, h[1], 0.0, 0.0, 0.0, h[2]]


def _error(low: npt.NDArray[np.float64], high: npt.NDArray[np.float64]) -> float:
    """A tile without content stands for its children: its error is about its size."""
    return round(float(np.linalg.norm(high - low)) / 4, 3)


def tile_glb(buildings: Sequence[TileBuilding]) -> bytes:
    """One tile's glb: the buildings and their property table."""
    columns: list[bytes] = []
    properties: dict[str, dict[str, Any]] = {}
    for name in ("id", "name"):
        values = [(getattr(b, name) or "").encode() for b in buildings]
        offsets = np.cumsum([0, *map(len, values)], dtype=np.uint64).astype(np.uint32)
        properties[name] = {
            "values": FIRST_TABLE_VIEW + len(columns),
            "stringOffsets": FIRST_TABLE_VIEW + len(columns) + 1,
            "stringOffsetType": "UINT32",
        }
        columns += [b"".join(values), offsets.tobytes()]
    numbers = (
        ("height", "<f4"),
        ("storeys", "<u2"),
        ("ground_z", "<f4"),
        ("roof_z", "<f4"),
    )
    for name, dtype in numbers:
        properties[name] = {"values": FIRST_TABLE_VIEW + len(columns)}
        columns.append(np.array([getattr(b, name) for b in buildings], dtype).tobytes())
    metadata = {
        "schema": SCHEMA,
        "propertyTables": [
            {"class": "building", "count": len(buildings), "properties": properties}
        ],
    }
    return buildings_glb(
        [b.id for b in buildings],
        [b.mesh for b in buildings],
        extensions={STRUCTURAL_METADATA: metadata},
        property_table=0,
        tables=columns,
    )


def local_to_ecef(frame: Frame) -> list[float]:
    """Column-major 4×4: the frame's local metres (x east, y north, z up) → ECEF metres."""
    x = np.array([0.0, 1.0, 0.0, 0.0])
    y = np.array([0.0, 0.0, 1.0, 0.0])
    z = np.array([0.0, 0.0, 0.0, 1.0])
    lon, lat, alt = frame.to_wgs84(x, y, z)
    to_ecef = Transformer.from_crs("EPSG:4979", "EPSG:4978", always_xy=True)
    ex, ey, ez = to_ecef.transform(lon, lat, alt)
    p = np.stack([ex, ey, ez], axis=1)
    origin = p[0]
    axes = [p[1] - origin, p[2] - origin, p[3] - origin]
    matrix = [*axes[0], 0.0, *axes[1], 0.0, *axes[2], 0.0, *origin, 1.0]
    return [float(v) for v in matrix]
