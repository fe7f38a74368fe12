"""A building's footprint from its 3-D faces: the plan outline, made valid, holes kept.

Faces come as vertex-index rings (CityJSON boundaries, not closed) into one
vertex array. Every face is projected onto the ground plane in one vectorized
shapely call; faces that collapse there (walls) drop out, a face whose ring
crosses itself is an error.

Which faces: for a closed, consistently oriented surface (a solid shell) the
signed plan areas of its faces sum to zero, and the faces of one sign (the
downward-facing ones, or the upward ones when the whole shell is reversed)
already cover the building's plan; only those are unioned. Otherwise (an open
MultiSurface, a shell with mixed orientation) every face's projection is.
Either way the result is the plan outline whatever the base does: a flat
ground face, a triangulated base on sloping terrain, or no base at all.

>>> import numpy as np
>>> box = np.array([[0, 0, 0], [4, 0, 0], [4, 3, 0], [0, 3, 0],
...                 [0, 0, 5], [4, 0, 5], [4, 3, 5], [0, 3, 5]], float)
>>> shell = [[[0, 3, 2, 1]], [[4, 5, 6, 7]], [[0, 1, 5, 4]], [[1, 2, 6, 5]],
...          [[2, 3, 7, 6]], [[3, 0, 4, 7]]]
>>> plan_outline(box, shell, "box").area
12.0
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from shapely import GeometryType

from twin.geometry.import_report import (
    DANGLING_VERTEX,
    MALFORMED_BOUNDARIES,
    NO_FOOTPRINT,
    SELF_INTERSECTING,
    ObjectError,
)

Face = Sequence[Sequence[int]]
"""One face: its exterior ring then its holes, as vertex indices (rings not closed)."""

_CROSSING_AREA = 1e-3  # m²: a ring crossing itself around more than this is broken
_CLOSED_SHELL = 1e-3  # |sum of signed areas| / sum of |areas| below this: a closed shell
_NOT_INDICES = "a ring is not a list of vertex indices"


@dataclass(frozen=True, slots=True)
class OutlineJob:
    """The faces of one object's geometry, indexing ``vertices``; ``owner`` names it in errors."""

    vertices: npt.NDArray[np.float64]
    faces: Sequence[Face]
    owner: str


def plan_outline(vertices: npt.NDArray[np.float64], faces: Sequence[Face], owner: str) -> Any:
    """The union of the faces' plan projections (see module doc), a valid (Multi)Polygon."""
    [outline] = plan_outlines([OutlineJob(vertices, faces, owner)])
    if isinstance(outline, ObjectError):
        raise outline
    return outline


def plan_outlines(jobs: Sequence[OutlineJob]) -> list[Any]:
    """:func:`plan_outline` of many objects at once: an outline or an ObjectError per job.

    One shapely call per step for all faces of all jobs; Python runs once per
    face (flattening) and once per job that needs a union.
    """
    results: list[Any] = [None] * len(jobs)
    flat = _flatten(jobs, results)
    if flat is None:
        # Some job holds a non-integer: find it job by job (rare, broken files only).
        if len(jobs) == 1:
            return [ObjectError(jobs[0].owner, MALFORMED_BOUNDARIES, _NOT_INDICES)]
        return [_one(job) if results[n] is None else results[n] for n, job in enumerate(jobs)]
    if len(flat.face_job):
        polygons, signed, keep = _plan_faces(flat, jobs, results)
        face_of = flat.face_job
        # A closed shell keeps only its faces of one sign (see module doc).
        sums = np.bincount(face_of, weights=np.where(keep, signed, 0.0), minlength=len(jobs))
        sizes = np.bincount(
            face_of, weights=np.where(keep, np.abs(signed), 0.0), minlength=len(jobs)
        )
        closed = (sizes > 0) & (np.abs(sums) < _CLOSED_SHELL * sizes)
        chosen = np.flatnonzero(keep & (~closed[face_of] | (signed < 0)))
        # Faces were added job by job, so each job's chosen faces are one run.
        runs = np.split(chosen, np.flatnonzero(np.diff(face_of[chosen])) + 1) if len(chosen) else []
        for run in runs:
            j = int(face_of[run[0]])
            if results[j] is None:
                parts = polygons[run]
                # Valid polygons, and GEOS unions of them, are valid: no repair needed.
                results[j] = parts[0] if len(parts) == 1 else shapely.union_all(parts)
    return [r if r is not None else _no_extent(j) for r, j in zip(results, jobs, strict=True)]


@dataclass(frozen=True, slots=True)
class _Flat:
    """All faces of all jobs: closed rings of indices into the joined vertex array."""

    index: npt.NDArray[np.int64]
    """Per ring vertex: its index in its job's vertices."""
    base: npt.NDArray[np.int64]
    """Per ring vertex: where its job's vertices start in ``vertices``."""
    ring_offsets: npt.NDArray[np.int64]
    face_offsets: npt.NDArray[np.int64]
    face_job: npt.NDArray[np.int64]
    vertices: npt.NDArray[np.float64]


def _flatten(jobs: Sequence[OutlineJob], results: list[Any]) -> _Flat | None:
    """The jobs' faces flattened; None if an index is not an integer."""
    flat: list[int] = []
    ring_ends = [0]
    face_ends = [0]
    face_job: list[int] = []
    bases: list[int] = []
    arrays: list[npt.NDArray[np.float64]] = []
    seen: dict[int, int] = {}
    total = 0
    for n, job in enumerate(jobs):
        key = id(job.vertices)
        if key not in seen:
            seen[key] = total
            arrays.append(job.vertices)
            total += len(job.vertices)
        marks = (len(flat), len(ring_ends), len(face_ends))
        try:
            added = _add_faces(job.faces, flat, ring_ends, face_ends)
        except (TypeError, ValueError, IndexError, OverflowError):
            del flat[marks[0] :], ring_ends[marks[1] :], face_ends[marks[2] :]
            results[n] = ObjectError(job.owner, MALFORMED_BOUNDARIES, _NOT_INDICES)
            continue
        face_job.extend([n] * added)
        bases.extend([seen[key]] * (len(flat) - marks[0]))
    index = np.asarray(flat) if flat else np.empty(0, np.int64)
    if index.ndim != 1 or index.dtype.kind not in "iu":
        return None
    return _Flat(
        index.astype(np.int64),
        np.asarray(bases, np.int64),
        np.asarray(ring_ends, np.int64),
        np.asarray(face_ends, np.int64),
        np.asarray(face_job, np.int64),
        arrays[0] if len(arrays) == 1 else np.concatenate(arrays) if arrays else np.empty((0, 3)),
    )


def _plan_faces(
    flat: _Flat, jobs: Sequence[OutlineJob], results: list[Any]
) -> tuple[npt.NDArray[Any], npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    """Every face's plan polygon, signed area, and whether it counts (valid, with area).

    Jobs with a dangling index or a ring crossing itself get their error in ``results``.
    """
    index = flat.index
    sizes = np.asarray([len(job.vertices) for job in jobs], np.int64)
    ring_lengths: npt.NDArray[np.int64] = np.diff(flat.ring_offsets)
    rings_per_face: npt.NDArray[np.int64] = np.diff(flat.face_offsets)
    vertex_job = np.repeat(np.repeat(flat.face_job, rings_per_face), ring_lengths)
    bad = (index < 0) | (index >= sizes[vertex_job])
    if bad.any():
        for j in np.unique(vertex_job[bad]).tolist():
            worst = int(index[(vertex_job == j) & bad][0])
            detail = f"index {worst} of {len(jobs[j].vertices)} vertices"
            results[j] = ObjectError(jobs[j].owner, DANGLING_VERTEX, detail)
        index = np.where(bad, 0, index)
    xy = flat.vertices[index + flat.base, :2]
    polygons = shapely.from_ragged_array(
        GeometryType.POLYGON, xy, (flat.ring_offsets, flat.face_offsets)
    )
    signed = _signed_areas(xy, flat.ring_offsets, flat.face_offsets)
    valid = shapely.is_valid(polygons)
    if not valid.all():
        # A ring that only touches itself (a pinched roof outline in 3D BAG) keeps
        # its area when repaired: use the repair. One that crosses itself (a bow
        # tie) does not: the object is broken. Walls collapse to lines: no area.
        broken = np.flatnonzero(~valid)
        repaired = shapely.make_valid(polygons[broken])
        area = shapely.area(repaired)
        crossing = np.abs(area - np.abs(signed[broken])) > np.maximum(_CROSSING_AREA, 1e-3 * area)
        for face in broken[crossing].tolist():
            j = int(flat.face_job[face])
            if results[j] is None:
                reason = str(shapely.is_valid_reason(polygons[face]))
                results[j] = ObjectError(jobs[j].owner, SELF_INTERSECTING, reason)
        usable = np.flatnonzero(~crossing & (area > 0))
        polygons[broken[usable]] = [made_valid(g) for g in repaired[usable]]
        valid[broken[usable]] = True
    keep = valid & (shapely.area(polygons) > 0)
    return polygons, signed, np.asarray(keep, np.bool_)


def _one(job: OutlineJob) -> Any:
    try:
        return plan_outline(job.vertices, job.faces, job.owner)
    except ObjectError as exc:
        return exc


def _no_extent(job: OutlineJob) -> ObjectError:
    return ObjectError(job.owner, NO_FOOTPRINT, "its faces have no extent in plan")


def made_valid(geometry: Any) -> Any:
    """``geometry`` as a valid Polygon/MultiPolygon: repaired, lines and points dropped.

    >>> made_valid(shapely.Polygon([(0, 0), (2, 2), (2, 0), (0, 2)])).geom_type
    'MultiPolygon'
    """
    if not shapely.is_valid(geometry):
        geometry = shapely.make_valid(geometry)
    if geometry.geom_type in ("Polygon", "MultiPolygon"):
        return geometry
    parts = [g for g in shapely.get_parts(geometry) if g.geom_type in ("Polygon", "MultiPolygon")]
    polygons = [p for g in parts for p in shapely.get_parts(g)]
    if not polygons:
        return shapely.Polygon()
    return polygons[0] if len(polygons) == 1 else shapely.MultiPolygon(polygons)


def _add_faces(
    faces: Sequence[Face], flat: list[int], ring_ends: list[int], face_ends: list[int]
) -> int:
    """Append the faces' rings, each closed, to the flat lists; the number of faces added.

    Rings of fewer than 3 vertices carry no area: such a hole is dropped, and
    a face whose exterior is one is left out (triangulators emit them).
    """
    added = 0
    for face in faces:
        rings = [ring for ring in face if len(ring) >= 3]
        if not rings or len(rings[0]) != len(face[0]):
            continue
        for ring in rings:
            flat.extend(ring)
            flat.append(ring[0])
            ring_ends.append(len(flat))
        face_ends.append(len(ring_ends) - 1)
        added += 1
    return added


def _signed_areas(
    xy: npt.NDArray[np.float64],
    ring_offsets: npt.NDArray[np.int64],
    face_offsets: npt.NDArray[np.int64],
) -> npt.NDArray[np.float64]:
    """Shoelace area of each face: its rings' signed areas summed (holes wind the other way)."""
    # Centre each ring on its first vertex: the products stay small and exact.
    starts = ring_offsets[:-1]
    lengths = np.diff(ring_offsets)
    origin = np.repeat(xy[starts], lengths, axis=0)
    local = xy - origin
    x, y = local[:, 0], local[:, 1]
    cross = x[:-1] * y[1:] - x[1:] * y[:-1]
    # Each ring is closed, so the last product of one ring pairs it with the next ring's start:
    # zero it (the ring's closing edge is already inside the ring).
    cross = np.append(cross, 0.0)
    cross[ring_offsets[1:] - 1] = 0.0
    ring_areas = np.add.reduceat(cross, starts) / 2.0
    return np.asarray(np.add.reduceat(ring_areas, face_offsets[:-1]), np.float64)
