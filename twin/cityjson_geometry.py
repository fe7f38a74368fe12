"""Walking CityJSON geometry: levels of detail, faces with semantics, vertex indices.

Boundaries are nested lists of vertex indices: a MultiSurface is a list of
faces, a Solid a list of shells of faces, a MultiSolid a list of solids;
``semantics.values`` mirrors that nesting down to the face.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

Face = list[list[int]]
"""One face: its exterior ring then its holes, as vertex indices."""


def lod(geometry: Mapping[str, Any]) -> float:
    try:
        return float(str(geometry.get("lod", "nan")))
    except ValueError:
        return float("nan")


def lod0(obj: Mapping[str, Any]) -> Mapping[str, Any] | None:
    candidates = [
        g
        for g in obj.get("geometry") or ()
        if lod(g) == 0 and g.get("type") in ("MultiSurface", "CompositeSurface")
    ]
    return candidates[0] if candidates else None


def lowest_volume(obj: Mapping[str, Any]) -> Mapping[str, Any] | None:
    candidates = [
        g
        for g in obj.get("geometry") or ()
        if lod(g) >= 1
        and g.get("type")
        in ("Solid", "MultiSolid", "CompositeSolid", "MultiSurface", "CompositeSurface")
    ]
    return min(candidates, key=lod) if candidates else None


def surfaces(geometry: Mapping[str, Any]) -> list[Face]:
    return [face for face, _ in faces(geometry)]


def faces(geometry: Mapping[str, Any]) -> Iterator[tuple[Face, str | None]]:
    """Every face (list of rings) of a surface or solid geometry, with its semantic type."""
    kind = geometry.get("type")
    boundaries = geometry.get("boundaries") or []
    semantics = geometry.get("semantics") or {}
    kinds = semantics.get("surfaces") or []
    values = semantics.get("values")
    depth = {"MultiSurface": 0, "CompositeSurface": 0, "Solid": 1, "MultiSolid": 2}
    levels = depth.get(str(kind), 2 if kind == "CompositeSolid" else -1)
    if levels < 0:
        return

    def walk(node: Any, vals: Any, level: int) -> Iterator[tuple[Face, str | None]]:
        for i, child in enumerate(node):
            sub = vals[i] if isinstance(vals, list) and i < len(vals) else None
            if level == 0:
                semantic = kinds[sub] if isinstance(sub, int) and sub < len(kinds) else None
                yield child, (semantic or {}).get("type") if semantic else None
            else:
                yield from walk(child, sub, level - 1)

    yield from walk(boundaries, values, levels)


def vertex_indices(node: Any) -> Iterator[int]:
    """Every vertex index in a geometry (or any nested boundary list)."""
    if isinstance(node, Mapping):
        yield from vertex_indices(node.get("boundaries") or [])
    elif isinstance(node, list):
        for child in node:
            if isinstance(child, int):
                yield child
            else:
                yield from vertex_indices(child)


def face_indices(face: Face) -> list[int]:
    return [i for ring in face for i in ring]
