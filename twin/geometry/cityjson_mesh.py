"""CityJSON geometries → triangulation jobs, every building's boundaries parsed in one pass.

Walking a LoD2 solid's nested lists in Python (a list per ring, per face, per
shell) cost more than triangulating it. Instead each chosen geometry's
``boundaries`` is dumped to compact JSON (orjson, C) and all of them are read
together with numpy: the bracket depth tells where rings and faces open, the
digits are the vertex indices. Semantic surface types become one class per
face (``twin.geometry.mesh.surface_class``); a geometry whose ``semantics``
does not match its faces is classed by the faces' normals instead.

>>> solid = {"type": "Solid", "lod": "2.2", "boundaries": [[[[0, 1, 2, 3]], [[3, 2, 1, 0]]]],
...          "semantics": {"surfaces": [{"type": "RoofSurface"}], "values": [[0, None]]}}
>>> [job] = mesh_jobs([MeshSource("2.2", [(solid, np.zeros((4, 3)))])])
>>> job.faces.indices.tolist(), job.faces.face_rings.tolist(), job.faces.classes.tolist()
([0, 1, 2, 3, 3, 2, 1, 0], [1, 1], [0, -1])
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

from twin.geometry.cityjson_surfaces import lod
from twin.geometry.mesh import FlatFaces, MeshJob, surface_class, triangulate
from twin.model.mesh import BuildingMesh

_INDEX_DEPTH = {"MultiSurface": 3, "CompositeSurface": 3, "Solid": 4, "MultiSolid": 5}
_INDEX_DEPTH["CompositeSolid"] = 5
_SEPARATORS = bytes.maketrans(b"[],", b"   ")
_OPEN, _CLOSE = ord("["), ord("]")


@dataclass(frozen=True, slots=True)
class MeshSource:
    """A building's chosen geometries (one per object) and the vertices each indexes."""

    lod: str
    parts: Sequence[tuple[Mapping[str, Any], npt.NDArray[np.float64]]]


def mesh_source(
    placed: Sequence[Sequence[tuple[Mapping[str, Any], npt.NDArray[np.float64]]]],
) -> MeshSource | None:
    """Of each object's geometries (with their vertices), its most detailed LoD ≥ 1
    surface or solid; None when no object has one (the store extrudes the footprint)."""
    chosen = []
    for geometries in placed:
        usable = [(g, v) for g, v in geometries if lod(g) >= 1 and g.get("type") in _INDEX_DEPTH]
        if usable:
            chosen.append(max(usable, key=lambda gv: lod(gv[0])))
    if not chosen:
        return None
    return MeshSource(f"{max(lod(g) for g, _ in chosen):g}", chosen)


def mesh_jobs(sources: Sequence[MeshSource]) -> list[MeshJob]:
    """One job per source; parts with vertex arrays of their own are joined.

    Every geometry's boundaries and semantics are parsed together; a source whose
    parts share one vertex array (a whole ``.city.json``) takes its faces as
    slices of the joined arrays, with no copy.
    """
    geometries = [geometry for source in sources for geometry, _ in source.parts]
    texts = [orjson.dumps(g.get("boundaries")) for g in geometries]
    depths = [_INDEX_DEPTH[str(g.get("type"))] for g in geometries]
    values, ring_sizes, face_rings, (v, r, f) = _parse(texts, depths)
    classes = _all_classes(geometries, np.diff(f))
    jobs = []
    t = 0
    for source in sources:
        vertices = source.parts[0][1]
        t1 = t + len(source.parts)
        if all(own is vertices for _, own in source.parts):
            faces = FlatFaces(
                values[v[t] : v[t1]],
                ring_sizes[r[t] : r[t1]],
                face_rings[f[t] : f[t1]],
                classes[f[t] : f[t1]],
            )
        else:
            vertices = np.concatenate([own for _, own in source.parts])
            bases = np.cumsum([0] + [len(own) for _, own in source.parts[:-1]])
            shift = np.repeat(bases, np.diff(v[t : t1 + 1]))
            faces = FlatFaces(
                values[v[t] : v[t1]] + shift,
                ring_sizes[r[t] : r[t1]],
                face_rings[f[t] : f[t1]],
                classes[f[t] : f[t1]],
            )
        jobs.append(MeshJob(source.lod, vertices, faces))
        t = t1
    return jobs


def triangulated(sources: Sequence[MeshSource]) -> list[BuildingMesh | None]:
    """Each source's mesh, all in one batch.

    Should the batch fail on some geometry nobody foresaw, each source is tried
    alone and one that still fails gets None (the store extrudes its building's
    footprint): a drawing problem never costs a building its import.
    """
    try:
        return list(triangulate(mesh_jobs(sources)))
    except (ValueError, IndexError, KeyError, TypeError):
        out: list[BuildingMesh | None] = []
        for source in sources:
            try:
                out.append(triangulate(mesh_jobs([source]))[0])
            except (ValueError, IndexError, KeyError, TypeError):
                out.append(None)
        return out


Bounds = tuple[list[int], list[int], list[int]]
"""Per text i, its vertex indices, rings and faces are ``[b[i], b[i + 1])`` of each list."""


def _parse(
    texts: list[bytes], depths: list[int]
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], npt.NDArray[np.intp], Bounds]:
    """Vertex indices, ring sizes, rings per face, and where each text's are in them."""
    if not texts:
        empty = np.zeros(0, np.intp)
        return empty, empty, empty, ([0], [0], [0])
    joined = b"".join(texts)
    chars = np.frombuffer(joined, np.uint8)
    lengths = np.fromiter(map(len, texts), np.intp, len(texts))
    need = np.repeat(np.asarray(depths, np.int16), lengths)
    opens = chars == _OPEN
    level = np.cumsum(opens.astype(np.int16) - (chars == _CLOSE), dtype=np.int16)
    # Positions, not running counts over every character: which ring a number is
    # in (which face a ring) is a binary search among the opening brackets.
    ring_open = np.flatnonzero(opens & (level == need))
    face_open = np.flatnonzero(opens & (level == need - 1))
    digit = (chars - 48) <= 9  # uint8 arithmetic: non-digits wrap above 9
    number_start = np.flatnonzero(digit & ~np.concatenate(([False], digit[:-1])))
    values = _numbers(joined)
    ring_of_number = np.searchsorted(ring_open, number_start, "right") - 1
    ring_sizes = np.bincount(ring_of_number, minlength=len(ring_open)).astype(np.intp)
    face_of_ring = np.searchsorted(face_open, ring_open, "right") - 1
    face_rings = np.bincount(face_of_ring, minlength=len(face_open)).astype(np.intp)
    ends = np.cumsum(lengths) - 1
    v = np.concatenate(([0], np.searchsorted(number_start, ends, "right")))
    r = np.concatenate(([0], np.searchsorted(ring_open, ends, "right")))
    f = np.concatenate(([0], np.searchsorted(face_open, ends, "right")))
    return values, ring_sizes, face_rings, (_ints(v), _ints(r), _ints(f))


def _all_classes(
    geometries: Sequence[Mapping[str, Any]], counts: npt.NDArray[np.intp]
) -> npt.NDArray[np.int8]:
    """Every face's class from its geometry's semantics, all geometries' values parsed
    in one pass; -1 (by its normal) where a geometry has none or they do not match
    its faces."""
    out = np.full(int(counts.sum()), -1, np.int8)
    starts = np.cumsum(counts) - counts
    texts: list[bytes] = []
    luts: list[npt.NDArray[np.int8]] = []
    which: list[int] = []
    for i, (geometry, count) in enumerate(zip(geometries, counts.tolist(), strict=True)):
        semantics = geometry.get("semantics")
        if not count or not isinstance(semantics, Mapping):
            continue
        surfaces = semantics.get("surfaces")
        values: Any = semantics.get("values")
        if not isinstance(surfaces, list) or not isinstance(values, list):
            continue
        # The values' nesting is the boundaries' less the rings; read as one list of
        # numbers (null: no semantics, -1), one face each if the shapes agree.
        text = orjson.dumps(values).replace(b"null", b"-1")
        if text.translate(None, b"0123456789,[]-") or b"[]" in text:
            continue
        texts.append(text)
        luts.append(_lut(tuple(map(_surface_type, surfaces))))
        which.append(i)
    if not texts:
        return out
    lengths = np.fromiter(map(len, texts), np.intp, len(texts))
    joined = b",".join(texts)
    chars = np.frombuffer(joined, np.uint8)
    numeric = ((chars - 48) <= 9) | (chars == ord("-"))
    number_start = numeric & ~np.concatenate(([False], numeric[:-1]))
    found = np.add.reduceat(number_start.astype(np.intp), np.cumsum(lengths + 1) - lengths - 1)
    picks = _numbers(joined)
    pick_start = np.cumsum(found) - found
    chosen = np.asarray(which, np.intp)
    agree = found == counts[chosen]
    # One table for all: each geometry's surfaces' classes, then -1 for a pick out of range.
    lut_sizes = np.fromiter(map(len, luts), np.intp, len(luts))
    lut_start = np.cumsum(lut_sizes) - lut_sizes
    table = np.concatenate(luts)
    for_pick = np.repeat(np.arange(len(texts)), found)
    size = lut_sizes[for_pick] - 1  # surfaces of the pick's geometry (the last entry is -1)
    local = np.where((picks >= 0) & (picks < size), picks, size)
    classes = table[lut_start[for_pick] + local]
    keep = agree[for_pick]
    target = np.repeat(starts[chosen] - pick_start, found) + np.arange(len(picks))
    out[target[keep]] = classes[keep]
    return out


def _ints(a: npt.NDArray[np.intp]) -> list[int]:
    return [int(x) for x in a.tolist()]


def _surface_type(surface: Any) -> str | None:
    kind = surface.get("type") if isinstance(surface, Mapping) else None
    return kind if isinstance(kind, str) else None


@functools.lru_cache(maxsize=256)
def _lut(types: tuple[str | None, ...]) -> npt.NDArray[np.int8]:
    """Each surface type's class (-1: none), then -1 for values out of range."""
    classes = [surface_class(t) for t in types]
    return np.array([-1 if c is None else c for c in classes] + [-1], np.int8)


def _numbers(text: bytes) -> npt.NDArray[np.intp]:
    """The integers of a JSON text of nested lists, in order."""
    return np.fromstring(text.translate(_SEPARATORS), dtype=np.intp, sep=" ")
