"""A building's surfaces as a triangle mesh: what was modelled, ready to draw.

Positions are float32 in the community's local frame (metres, x east,
y north, z up), indices uint32 triangles whose vertices run counter-clockwise
seen from outside, and one surface class per triangle (:data:`ROOF`,
:data:`WALL`, :data:`GROUND`). ``lod`` says where it came from: a CityJSON
level of detail (``"2.2"``, ``"1"``) or ``"extruded"`` (footprint extruded
from ground to roof, when the source has no surfaces).

Stored as three little-endian byte strings (``to_bytes``/``from_bytes``),
13 bytes per vertex-and-triangle on average rather than JSON's ~60.

>>> m = BuildingMesh("1", np.zeros((3, 3), np.float32), np.array([[0, 1, 2]], np.uint32),
...                  np.array([ROOF], np.uint8))
>>> m.vertex_count, m.triangle_count
(3, 1)
>>> BuildingMesh.from_bytes("1", *m.to_bytes()).indices.tolist()
[[0, 1, 2]]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

ROOF: Final = 0
WALL: Final = 1
GROUND: Final = 2
SURFACE_NAMES: Final = ("roof", "wall", "ground")
EXTRUDED: Final = "extruded"


@dataclass(frozen=True, slots=True, eq=False)
class BuildingMesh:
    """Triangles of one building (``positions`` (n, 3), ``indices`` (m, 3), ``surfaces`` (m,))."""

    lod: str
    positions: npt.NDArray[np.float32]
    indices: npt.NDArray[np.uint32]
    surfaces: npt.NDArray[np.uint8]

    @property
    def vertex_count(self) -> int:
        return int(self.positions.shape[0])

    @property
    def triangle_count(self) -> int:
        return int(self.indices.shape[0])

    def to_bytes(self) -> tuple[bytes, bytes, bytes]:
        return (
            self.positions.astype("<f4", copy=False).tobytes(),
            self.indices.astype("<u4", copy=False).tobytes(),
            self.surfaces.astype(np.uint8, copy=False).tobytes(),
        )

    @classmethod
    def from_bytes(
        cls, lod: str, positions: bytes, indices: bytes, surfaces: bytes
    ) -> BuildingMesh:
        return cls(
            lod,
            np.frombuffer(positions, "<f4").reshape(-1, 3).astype(np.float32, copy=False),
            np.frombuffer(indices, "<u4").reshape(-1, 3).astype(np.uint32, copy=False),
            np.frombuffer(surfaces, np.uint8),
        )
