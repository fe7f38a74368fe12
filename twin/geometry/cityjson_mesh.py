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
    """One job per source; parts with vertex arrays of their own are joined."""
    texts: list[bytes] = []
    depths: list[int] = []
    for source in sources:
        for geometry, _ in source.parts:
            texts.append(orjson.dumps(geometry.get("boundaries")))
            depths.append(_INDEX_DEPTH[str(geometry.get("type"))])
    values, ring_sizes, face_rings, bounds = _parse(texts, depths)
    jobs = []
    t = 0
    for source in sources:
        vertices = source.parts[0][1]
        shared = all(v is vertices for _, v in source.parts)
        if not shared:
            vertices = np.concatenate([v for _, v in source.parts])
        index_parts, ring_parts, face_parts, class_parts = [], [], [], []
        base = 0
        for geometry, own in source.parts:
            (v0, v1), (r0, r1), (f0, f1) = bounds[t]
            t += 1
            index_parts.append(values[v0:v1] + (0 if shared else base))
            ring_parts.append(ring_sizes[r0:r1])
            face_parts.append(face_rings[f0:f1])
            class_parts.append(_classes(geometry, f1 - f0))
            base += len(own)
        faces = FlatFaces(
            np.concatenate(index_parts),
            np.concatenate(ring_parts),
            np.concatenate(face_parts),
            np.concatenate(class_parts),
        )
        jobs.append(MeshJob(source.lod, vertices, faces))
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


Bounds = tuple[tuple[int, int], tuple[int, int], tuple[int, int]]


def _parse(
    texts: list[bytes], depths: list[int]
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], npt.NDArray[np.intp], list[Bounds]]:
    """Vertex indices, ring sizes, rings per face, and each text's (index, ring, face) ranges."""
    if not texts:
        empty = np.zeros(0, np.intp)
        return empty, empty, empty, []
    joined = b"".join(texts)
    chars = np.frombuffer(joined, np.uint8)
    lengths = np.fromiter(map(len, texts), np.intp, len(texts))
    need = np.repeat(np.asarray(depths, np.int16), lengths)
    opens = chars == _OPEN
    level = np.cumsum(opens.astype(np.int16) - (chars == _CLOSE), dtype=np.int16)
    ring_open = opens & (level == need)
    face_open = opens & (level == need - 1)
    digit = (chars - 48) <= 9  # uint8 arithmetic: non-digits wrap above 9
    number_start = digit & ~np.concatenate(([False], digit[:-1]))
    values = _numbers(joined)
    rings_before = np.cumsum(ring_open)
    ring_of_number = rings_before[number_start] - 1
    ring_sizes = np.bincount(ring_of_number, minlength=int(rings_before[-1])).astype(np.intp)
    faces_before = np.cumsum(face_open)
    face_of_ring = faces_before[ring_open] - 1
    face_rings = np.bincount(face_of_ring, minlength=int(faces_before[-1])).astype(np.intp)
    ends = np.cumsum(lengths) - 1
    numbers_before = np.cumsum(number_start)
    v = np.concatenate(([0], numbers_before[ends]))
    r = np.concatenate(([0], rings_before[ends]))
    f = np.concatenate(([0], faces_before[ends]))
    bounds = [
        ((int(v[i]), int(v[i + 1])), (int(r[i]), int(r[i + 1])), (int(f[i]), int(f[i + 1])))
        for i in range(len(texts))
    ]
    return values, ring_sizes, face_rings, bounds


def _classes(geometry: Mapping[str, Any], count: int) -> npt.NDArray[np.int8]:
    """The class of each face from the geometry's semantics; -1 (by its normal) where none."""
    unknown = np.full(count, -1, np.int8)
    semantics = geometry.get("semantics")
    if not isinstance(semantics, Mapping):
        return unknown
    surfaces = semantics.get("surfaces")
    values: Any = semantics.get("values")
    if not isinstance(surfaces, list) or not isinstance(values, list):
        return unknown
    # The values' nesting is the boundaries' less the rings; read as one list of numbers
    # (null: no semantics, -1), one face each if the shapes agree.
    text = orjson.dumps(values).replace(b"null", b"-1")
    if text.translate(None, b"0123456789,[]-") or b"[]" in text or not count:
        return unknown
    picks = _numbers(text)
    if len(picks) != count:
        return unknown
    lut = np.array(
        [-1 if (c := surface_class(s.get("type") if isinstance(s, Mapping) else None)) is None
         else c for s in surfaces] + [-1],
        np.int8,
    )  # fmt: skip
    n = len(surfaces)
    return lut[np.where((picks >= 0) & (picks < n), picks, n)]


def _numbers(text: bytes) -> npt.NDArray[np.intp]:
    """The integers of a JSON text of nested lists, in order."""
    return np.fromstring(text.translate(_SEPARATORS), dtype=np.intp, sep=" ")
