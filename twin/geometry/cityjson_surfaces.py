"""Walking CityJSON geometry: levels of detail, faces with semantics, checks.

Boundaries are nested lists of vertex indices: a MultiSurface (or
CompositeSurface) is a list of faces, a Solid a list of shells of faces, a
MultiSolid (or CompositeSolid) a list of solids; ``semantics.values`` mirrors
that nesting down to the face. A ``GeometryInstance`` has no boundaries of its
own: it places one of the file's ``geometry-templates`` at a reference vertex.

>>> solid = {"type": "Solid", "lod": 1, "boundaries": [[[[0, 1, 2]], [[2, 1, 3]]]],
...          "semantics": {"surfaces": [{"type": "GroundSurface"}], "values": [[0, None]]}}
>>> list(faces(solid))
[([[0, 1, 2]], 'GroundSurface'), ([[2, 1, 3]], None)]
>>> try:
...     check_geometry({"type": "Solid", "lod": "2", "boundaries": [[[[0, 1, 7]]]]}, 4, "b")
... except ObjectError as exc:
...     print(exc)
b: dangling vertex index: index 7 of 4 vertices (lod 2 Solid)
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

from twin.geometry.import_report import (
    DANGLING_VERTEX,
    EMPTY_BOUNDARIES,
    MALFORMED_BOUNDARIES,
    ObjectError,
)

Face = list[list[int]]
"""One face: its exterior ring then its holes, as vertex indices."""

SURFACES = ("MultiSurface", "CompositeSurface")
VOLUMES = ("Solid", "MultiSolid", "CompositeSolid")
INSTANCE = "GeometryInstance"
_DEPTH = {
    "MultiPoint": 0,
    "MultiLineString": 1,
    "MultiSurface": 2,
    "CompositeSurface": 2,
    "Solid": 3,
    "MultiSolid": 4,
    "CompositeSolid": 4,
    INSTANCE: 0,
}
"""List levels above the vertex indices' list (a ring, or the point list)."""
_NOT_INDEX = re.compile(rb"[^0-9,\[\]-]")
_SEPARATORS = bytes.maketrans(b"[],", b"   ")
_OPEN, _CLOSE, _ZERO, _NINE = b"[]09"


def lod(geometry: Mapping[str, Any]) -> float:
    """The level of detail as a number (``"1.2"``, ``2`` and ``"2"`` all work), else nan.

    >>> lod({"lod": "1.2"}), lod({"lod": 2}), lod({})
    (1.2, 2.0, nan)
    """
    value = geometry.get("lod")
    if isinstance(value, bool):
        return float("nan")
    try:
        return float(str(value))
    except ValueError:
        return float("nan")


def lod0(obj: Mapping[str, Any]) -> Mapping[str, Any] | None:
    candidates = [g for g in geometries(obj) if lod(g) == 0 and g.get("type") in SURFACES]
    return candidates[0] if candidates else None


def volumes_by_lod(obj: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The object's LoD ≥ 1 surface and solid geometries, lowest level first."""
    candidates = [
        g for g in geometries(obj) if lod(g) >= 1 and g.get("type") in (*SURFACES, *VOLUMES)
    ]
    return sorted(candidates, key=lod)


def lowest_volume(obj: Mapping[str, Any]) -> Mapping[str, Any] | None:
    candidates = volumes_by_lod(obj)
    return candidates[0] if candidates else None


def geometries(obj: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The object's geometry objects (a non-list ``geometry`` member counts as none)."""
    found = obj.get("geometry")
    if not isinstance(found, list):
        return []
    return [g for g in found if isinstance(g, Mapping)]


def surfaces(geometry: Mapping[str, Any]) -> list[Face]:
    return [face for face, _ in faces(geometry)]


def faces(geometry: Mapping[str, Any]) -> Iterator[tuple[Face, str | None]]:
    """Every face (list of rings) of a surface or solid geometry, with its semantic type."""
    kind = geometry.get("type")
    boundaries = geometry.get("boundaries") or []
    semantics = geometry.get("semantics") or {}
    kinds = semantics.get("surfaces") or [] if isinstance(semantics, Mapping) else []
    values = semantics.get("values") if isinstance(semantics, Mapping) else None
    levels = _DEPTH.get(str(kind), 0) - 2
    if levels < 0 or not isinstance(boundaries, list):
        return

    def walk(node: Any, vals: Any, level: int) -> Iterator[tuple[Face, str | None]]:
        for i, child in enumerate(node):
            sub = vals[i] if isinstance(vals, list) and i < len(vals) else None
            if level == 0:
                semantic = (
                    kinds[sub]
                    if isinstance(sub, int) and not isinstance(sub, bool) and 0 <= sub < len(kinds)
                    else None
                )
                yield child, semantic.get("type") if isinstance(semantic, Mapping) else None
            else:
                yield from walk(child, sub, level - 1)

    yield from walk(boundaries, values, levels)


def check_geometries(
    groups: Sequence[Sequence[Mapping[str, Any]]], vertex_count: int, owners: Sequence[str]
) -> list[ObjectError | None]:
    """:func:`check_geometry` of every geometry of many objects: the first error of each group.

    All boundaries are checked in one pass over their joined JSON text; only
    when that finds a problem is each group checked on its own to name it.
    """
    texts: list[bytes] = []
    depths: list[int] = []
    try:
        for group in groups:
            for geometry in group:
                depth = _DEPTH.get(str(geometry.get("type")))
                if depth is not None:
                    texts.append(orjson.dumps(geometry.get("boundaries")))
                    depths.append(depth + 1)
    except orjson.JSONEncodeError:
        texts = [b"?"]
    joined = b"".join(texts)
    # One pass per test over all boundaries' text: only digits, commas and
    # brackets; no empty list; no minus sign (a negative index dangles).
    fine = not joined.translate(None, b"0123456789,[]") and b"[]" not in joined
    if fine and joined:
        chars = np.frombuffer(joined, dtype=np.uint8)
        step = (chars == _OPEN).view(np.int8) - (chars == _CLOSE).view(np.int8)
        level = np.cumsum(step, dtype=np.int8)
        digit = (chars - _ZERO) <= 9  # uint8 arithmetic: non-digits wrap above 9
        # The last digit of each index: its depth must be its geometry's.
        ends = np.flatnonzero(digit[:-1] & ~digit[1:])
        starts = np.cumsum([0, *(len(t) for t in texts)])
        expected = np.asarray(depths, np.int8)[np.searchsorted(starts, ends, side="right") - 1]
        fine = bool((level[ends] == expected).all()) and _below(chars, digit, ends, vertex_count)
    if fine:
        return [None] * len(groups)
    out: list[ObjectError | None] = []
    for group, owner in zip(groups, owners, strict=True):
        try:
            for geometry in group:
                check_geometry(geometry, vertex_count, owner)
            out.append(None)
        except ObjectError as exc:
            out.append(exc)
    return out


def _below(
    chars: npt.NDArray[np.uint8],
    digit: npt.NDArray[np.bool_],
    ends: npt.NDArray[np.intp],
    vertex_count: int,
) -> bool:
    """Whether every index is below ``vertex_count``: only the longest numbers are parsed."""
    if not len(ends):
        return True
    firsts = np.flatnonzero(digit & ~np.concatenate(([False], digit[:-1])))
    lengths = ends - firsts + 1
    longest = int(lengths.max())
    limit = len(str(max(vertex_count - 1, 0)))
    if longest != limit:
        return longest < limit
    at = firsts[lengths == longest][:, None] + np.arange(longest)
    values = (chars[at] - _ZERO).astype(np.int64) @ (10 ** np.arange(longest - 1, -1, -1))
    return bool(values.max() < vertex_count)


def check_geometry(geometry: Mapping[str, Any], vertex_count: int, owner: str) -> None:
    """Raise :class:`ObjectError` if the boundaries are empty, malformed or index no vertex.

    Geometry types this module does not know (extensions) are not checked.
    Why bytes: walking a large LoD2 solid's nested lists in Python costs more
    than reading the whole building; its compact JSON text (orjson, C) tells
    the nesting depth of every index in a few numpy passes.
    """
    kind = str(geometry.get("type"))
    depth = _DEPTH.get(kind)
    if depth is None:
        return
    where = f"(lod {geometry.get('lod', '?')} {kind})"
    boundaries = geometry.get("boundaries")
    if not isinstance(boundaries, list):
        raise ObjectError(owner, MALFORMED_BOUNDARIES, f"boundaries is not a list {where}")
    text = orjson.dumps(boundaries)
    if b"[]" in text:
        raise ObjectError(owner, EMPTY_BOUNDARIES, where)
    if _NOT_INDEX.search(text):
        raise ObjectError(
            owner, MALFORMED_BOUNDARIES, f"a ring is not a list of vertex indices {where}"
        )
    chars = np.frombuffer(text, dtype=np.uint8)
    level = np.cumsum((chars == _OPEN).astype(np.int32) - (chars == _CLOSE))
    digits = (chars >= _ZERO) & (chars <= _NINE)
    if not (level[digits] == depth + 1).all():
        raise ObjectError(owner, MALFORMED_BOUNDARIES, f"nesting is not that of a {kind} {where}")
    index = np.fromstring(text.translate(_SEPARATORS), dtype=np.int64, sep=" ")
    low, high = int(index.min()), int(index.max())
    if low < 0 or high >= vertex_count:
        bad = high if high >= vertex_count else low
        raise ObjectError(owner, DANGLING_VERTEX, f"index {bad} of {vertex_count} vertices {where}")


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
