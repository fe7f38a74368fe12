"""Real transformations of a CityJSON document, the way other producers' files differ.

Each function returns a transformed deep copy; none uses twin code. The cjio
ones run cjio in a subprocess: importing ``cjio.cityjson`` swaps the standard
library's C JSON encoder out for the rest of the process (docs/twin.md).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import shapely

_DEPTH = {
    "MultiSurface": 0,
    "CompositeSurface": 0,
    "Solid": 1,
    "MultiSolid": 2,
    "CompositeSolid": 2,
}


def keep_only(data: dict[str, Any], *, lod: str | None = None, lod0: bool = True) -> dict[str, Any]:
    """A copy without LoD0 (``lod0=False``) and/or with only the ``lod`` volumes."""
    out = _copy(data)
    for obj in out["CityObjects"].values():
        kept = []
        for g in obj.get("geometry", []):
            is_lod0 = str(g.get("lod")) in ("0", "0.0")
            if (is_lod0 and lod0) or (not is_lod0 and (lod is None or str(g.get("lod")) == lod)):
                kept.append(g)
        obj["geometry"] = kept
    return out


def strip_semantics(data: dict[str, Any]) -> dict[str, Any]:
    out = _copy(data)
    for obj in out["CityObjects"].values():
        for g in obj.get("geometry", []):
            g.pop("semantics", None)
    return out


def tilt(data: dict[str, Any], dx: float = 0.05, dy: float = 0.03) -> dict[str, Any]:
    """Every vertex raised by ``dx * x + dy * y`` metres: flat bases become sloping planes."""
    out = _copy(data)
    vertices = np.asarray(out["vertices"], dtype=np.float64)
    scale = np.asarray(out.get("transform", {}).get("scale", [1, 1, 1]), dtype=np.float64)
    real = vertices * scale
    real -= real.min(axis=0)
    rise = dx * real[:, 0] + dy * real[:, 1]
    vertices[:, 2] += rise / scale[2]
    if "transform" in out:
        out["vertices"] = np.round(vertices).astype(np.int64).tolist()
    else:
        out["vertices"] = vertices.tolist()
    return out


def triangulate(data: dict[str, Any]) -> dict[str, Any]:
    """Every face of every surface and solid split into triangles (shapely's constrained
    Delaunay triangulation in the face's own plane); semantics follow their face."""
    out = _copy(data)
    vertices = [[float(c) for c in v] for v in out["vertices"]]
    for obj in out["CityObjects"].values():
        for g in obj.get("geometry", []):
            depth = _DEPTH.get(g.get("type"))
            if depth is None:
                continue
            values = (g.get("semantics") or {}).get("values")
            g["boundaries"], new_values = _split(g["boundaries"], values, depth, vertices)
            if values is not None:
                g["semantics"]["values"] = new_values
    return out


def _split(node: Any, values: Any, depth: int, vertices: list[list[float]]) -> tuple[Any, Any]:
    if depth > 0:
        pairs = [
            _split(child, values[i] if isinstance(values, list) else None, depth - 1, vertices)
            for i, child in enumerate(node)
        ]
        return [p[0] for p in pairs], [p[1] for p in pairs]
    faces, out_values = [], []
    for i, face in enumerate(node):
        value = values[i] if isinstance(values, list) else None
        for triangle in _triangles(face, vertices):
            faces.append([triangle])
            out_values.append(value)
    return faces, out_values


def _triangles(face: list[list[int]], vertices: list[list[float]]) -> list[list[int]]:
    exterior = [vertices[i] for i in face[0]]
    # Newell's normal; drop its largest axis to work in the face's own plane.
    n = [0.0, 0.0, 0.0]
    for (x1, y1, z1), (x2, y2, z2) in zip(exterior, exterior[1:] + exterior[:1], strict=True):
        n[0] += (y1 - y2) * (z1 + z2)
        n[1] += (z1 - z2) * (x1 + x2)
        n[2] += (x1 - x2) * (y1 + y2)
    drop = max(range(3), key=lambda k: abs(n[k]))
    keep = [k for k in range(3) if k != drop]
    rings = [[(vertices[i][keep[0]], vertices[i][keep[1]]) for i in ring] for ring in face]
    if len(face) == 1 and _convex(rings[0]):
        ring = face[0]
        return [[ring[0], ring[i], ring[i + 1]] for i in range(1, len(ring) - 1)]
    polygon = shapely.Polygon(rings[0], rings[1:])
    if not polygon.is_valid or polygon.area == 0:
        return face[:1]  # degenerate or broken faces stay as they are
    triangles = shapely.get_parts(shapely.constrained_delaunay_triangles(polygon))
    corners = shapely.get_coordinates(triangles).reshape(len(triangles), 4, 2)[:, :3].tolist()
    lookup = {
        xy: i
        for ring, xys in zip(face, rings, strict=True)
        for i, xy in zip(ring, xys, strict=True)
    }
    want = _turn(rings[0]) > 0
    out = []
    for tri in corners:
        indices = [lookup[tuple(xy)] for xy in tri]
        out.append(indices if (_turn([tuple(xy) for xy in tri]) > 0) == want else indices[::-1])
    return out


def _turn(ring: list[tuple[float, float]]) -> float:
    """Twice the signed area (> 0: counter-clockwise)."""
    return sum(
        x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1], strict=True)
    )


def _convex(ring: list[tuple[float, float]]) -> bool:
    """Whether a ring turns the same way at every corner (a fan then triangulates it)."""
    turns = []
    for a, b, c in zip(ring, ring[1:] + ring[:1], ring[2:] + ring[:2], strict=True):
        turns.append((b[0] - a[0]) * (c[1] - b[1]) - (b[1] - a[1]) * (c[0] - b[0]))
    return all(t > 0 for t in turns) or all(t < 0 for t in turns)


def _copy(data: dict[str, Any]) -> dict[str, Any]:
    copied: dict[str, Any] = orjson.loads(orjson.dumps(data))
    return copied


_CJIO = """
import json, sys
from cjio import cityjson
model = cityjson.CityJSON(file=open(sys.argv[1], encoding="utf-8"))
ok, reasons = model.upgrade_version("2.0", 3)
assert ok and model.get_version() == "2.0", reasons
with open(sys.argv[2], "w", encoding="utf-8") as out:
    json.dump(model.j, out, separators=(",", ":"))
with open(sys.argv[3], "w", encoding="utf-8") as out:
    out.write(model.export2jsonl().getvalue())
"""


def cjio_upgrade_and_seq(source: Path, workdir: Path) -> tuple[Path, Path]:
    """``source`` upgraded to CityJSON 2.0, and exported as CityJSONSeq, by cjio."""
    upgraded = workdir / (source.name.split(".")[0] + "-v2.city.json")
    seq = workdir / (source.name.split(".")[0] + ".city.jsonl")
    subprocess.run(
        [sys.executable, "-c", _CJIO, str(source), str(upgraded), str(seq)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return upgraded, seq


def to_seq(data: dict[str, Any]) -> bytes:
    """CityJSONSeq text: the header line, then one feature per top-level object with its
    children and only its own vertices (renumbered from 0), as CityJSONFeature wants."""
    header = {k: v for k, v in data.items() if k not in ("CityObjects", "vertices")}
    lines = [orjson.dumps({**header, "CityObjects": {}, "vertices": []})]
    objects = data["CityObjects"]
    for top, obj in objects.items():
        if obj.get("parents"):
            continue
        family, stack = {}, [top]
        while stack:
            oid = stack.pop()
            family[oid] = _copy(objects[oid])
            stack.extend(objects[oid].get("children", []))
        numbers: dict[int, int] = {}
        for member in family.values():
            for g in member.get("geometry", []):
                g["boundaries"] = _renumber(g["boundaries"], numbers)
        vertices = [data["vertices"][i] for i in sorted(numbers, key=numbers.__getitem__)]
        feature = {
            "type": "CityJSONFeature",
            "id": top,
            "CityObjects": family,
            "vertices": vertices,
        }
        lines.append(orjson.dumps(feature))
    return b"\n".join(lines) + b"\n"


def _renumber(node: Any, numbers: dict[int, int]) -> Any:
    if isinstance(node, list):
        return [_renumber(child, numbers) for child in node]
    return numbers.setdefault(node, len(numbers))
