"""Just enough of a CityJSON file to place devices in its buildings.

The twin's importer (``twin/``) reads geometry properly; the simulators only
need each building's id, rough position, floor area and height, so this reads
the LoD0 footprint when there is one (3D BAG has it) and otherwise the
bounding box of the building's vertices, children (BuildingPart) included.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

STOREY_HEIGHT = 3.0


class GeometryFileError(ValueError):
    """The geometry file is unreadable or not CityJSON."""


@dataclass(frozen=True, slots=True)
class RealBuilding:
    id: str
    x: float  # footprint centre, world coordinates in the file's CRS
    y: float
    area: float  # footprint area, m²
    ground_z: float
    roof_z: float

    @property
    def storeys(self) -> int:
        """Storeys certainly inside the building (rounded down, at least 1).

        >>> RealBuilding("a", 0, 0, 100, 0.0, 10.0).storeys
        3
        """
        return max(1, int((self.roof_z - self.ground_z) // STOREY_HEIGHT))


@dataclass(frozen=True, slots=True)
class GeometryFile:
    crs: str | None  # e.g. "EPSG:7415"
    buildings: tuple[RealBuilding, ...]


def crs_of(metadata: dict[str, Any]) -> str | None:
    """``EPSG:7415`` from an OGC CRS URL as CityJSON writes it.

    >>> crs_of({"referenceSystem": "https://www.opengis.net/def/crs/EPSG/0/7415"})
    'EPSG:7415'
    >>> crs_of({"referenceSystem": "urn:ogc:def:crs:EPSG::28992"})
    'EPSG:28992'
    """
    ref = metadata.get("referenceSystem")
    if not isinstance(ref, str):
        return None
    m = re.search(r"EPSG(?:/\d+/|::?)(\d+)", ref)
    return f"EPSG:{m.group(1)}" if m else ref


def _shoelace(ring: list[tuple[float, float]]) -> float:
    return abs(
        sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(ring, ring[1:] + ring[:1], strict=True))
        / 2
    )


def _boundary_indices(boundaries: Any) -> list[int]:
    if isinstance(boundaries, int):
        return [boundaries]
    out: list[int] = []
    for b in boundaries:
        out.extend(_boundary_indices(b))
    return out


def read_cityjson(path: Path) -> GeometryFile:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise GeometryFileError(f"{path}: cannot read: {exc}") from None
    if not isinstance(doc, dict) or doc.get("type") != "CityJSON":
        raise GeometryFileError(f"{path}: not a CityJSON file")
    scale, translate = [1.0, 1.0, 1.0], [0.0, 0.0, 0.0]
    if "transform" in doc:
        scale, translate = doc["transform"]["scale"], doc["transform"]["translate"]
    verts = [
        (
            v[0] * scale[0] + translate[0],
            v[1] * scale[1] + translate[1],
            v[2] * scale[2] + translate[2],
        )
        for v in doc.get("vertices", [])
    ]
    objects: dict[str, Any] = doc.get("CityObjects", {})
    out: list[RealBuilding] = []
    for oid, obj in objects.items():
        if obj.get("type") != "Building" or obj.get("parents"):
            continue
        family = [obj] + [objects[c] for c in obj.get("children", []) if c in objects]
        indices: list[int] = []
        footprint: list[tuple[float, float]] | None = None
        for member in family:
            for geom in member.get("geometry", []):
                indices.extend(_boundary_indices(geom.get("boundaries", [])))
                if str(geom.get("lod")) == "0" and footprint is None:
                    ring = geom["boundaries"][0][0]
                    footprint = [(verts[i][0], verts[i][1]) for i in ring]
        if not indices:
            continue
        pts = [verts[i] for i in indices]
        xs, ys, zs = [p[0] for p in pts], [p[1] for p in pts], [p[2] for p in pts]
        area = _shoelace(footprint) if footprint else (max(xs) - min(xs)) * (max(ys) - min(ys))
        out.append(
            RealBuilding(
                id=oid,
                x=(min(xs) + max(xs)) / 2,
                y=(min(ys) + max(ys)) / 2,
                area=area,
                ground_z=min(zs),
                roof_z=max(zs),
            )
        )
    return GeometryFile(crs_of(doc.get("metadata", {})), tuple(out))
