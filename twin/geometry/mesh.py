"""Triangulating buildings' surfaces once, at import: CityJSON faces and extruded footprints.

A face is an exterior ring and its holes, 3D and planar (more or less). All
faces of many buildings go through numpy together: each face's best-fit
plane (Newell's normal, which weighs every edge, so a slightly warped face
still gets the plane it lies closest to) gives it a 2D frame; a face without
holes that is convex in that frame is fanned in one vectorised step (most
walls are quads), the rest go to earcut (PyPI ``mapbox_earcut``, the C++
library of Mapbox), one call per face. Triangles keep the face's winding,
counter-clockwise seen from the side its normal points to; CityJSON orders
exterior rings counter-clockwise seen from outside, so triangles face out.

Surface classes come from CityJSON semantics (``RoofSurface`` → roof,
``GroundSurface``/``OuterFloorSurface`` → ground, everything else → wall);
a face without semantics is classed by its normal (up: roof, down: ground,
else wall). Degenerate faces (no area) are dropped.

>>> square = np.array([[0, 0, 0], [4, 0, 0], [4, 4, 0], [0, 4, 0]], float)
>>> [m] = triangulate([MeshJob("1", square, [[[0, 1, 2, 3]]], [None])])
>>> m.triangle_count, m.surfaces.tolist()   # faces up: a roof
(2, [0, 0])
>>> box = extrude([shapely.box(0, 0, 10, 5)], [0.0], [6.0])[0]
>>> box.lod, box.triangle_count, sorted(set(box.surfaces.tolist()))
('extruded', 12, [0, 1, 2])
>>> box.positions.min(axis=0).tolist(), box.positions.max(axis=0).tolist()
([0.0, 0.0, 0.0], [10.0, 5.0, 6.0])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import mapbox_earcut
import numpy as np
import numpy.typing as npt
import shapely

from twin.model.mesh import EXTRUDED, GROUND, ROOF, WALL, BuildingMesh

__all__ = ["BuildingMesh", "MeshJob", "extrude", "surface_class", "triangulate"]

Face = Sequence[Sequence[int]]
_GROUND_TYPES = frozenset({"GroundSurface", "OuterFloorSurface"})
_UPWARD = 0.2  # |normal z| beyond which a face without semantics is a roof or a ground


def surface_class(semantic: str | None) -> int | None:
    """The class of a CityJSON semantic surface type; None when there is none.

    >>> surface_class("RoofSurface"), surface_class("WallSurface"), surface_class(None)
    (0, 1, None)
    """
    if semantic is None:
        return None
    if semantic == "RoofSurface":
        return ROOF
    return GROUND if semantic in _GROUND_TYPES else WALL


@dataclass(frozen=True, slots=True)
class FlatFaces:
    """Faces as flat arrays: vertex indices ring after ring, ring sizes, rings per face,
    and each face's class (-1: from its normal)."""

    indices: npt.NDArray[np.intp]
    ring_sizes: npt.NDArray[np.intp]
    face_rings: npt.NDArray[np.intp]
    classes: npt.NDArray[np.int8]


@dataclass(frozen=True, slots=True)
class MeshJob:
    """One building's faces: vertex indices into ``vertices`` (local metres), a class each.

    ``faces`` as nested lists (with ``classes``, None = from the normal), or as
    :class:`FlatFaces` (``twin.geometry.cityjson_mesh`` parses CityJSON into those).
    """

    lod: str
    vertices: npt.NDArray[np.float64]
    faces: Sequence[Face] | FlatFaces
    classes: Sequence[int | None] = ()


def triangulate(jobs: Sequence[MeshJob]) -> list[BuildingMesh]:
    """One mesh per job, every face of every job triangulated together."""
    flats = [job.faces if isinstance(job.faces, FlatFaces) else _flat(job) for job in jobs]
    counts = np.fromiter((len(f.face_rings) for f in flats), np.intp, len(flats))
    if not counts.sum():
        return [_empty(job.lod) for job in jobs]
    return _triangulate(
        jobs,
        _gather(jobs, flats),
        _Layout.of(
            np.concatenate([f.ring_sizes for f in flats]),
            np.concatenate([f.face_rings for f in flats]),
        ),
        np.repeat(np.arange(len(jobs)), counts),
        np.concatenate([f.classes for f in flats]),
    )


def _gather(jobs: Sequence[MeshJob], flats: Sequence[FlatFaces]) -> npt.NDArray[np.float64]:
    """Every face's points in job order: one fancy index per run of jobs sharing a vertex
    array (all of them, for a whole ``.city.json``) rather than one per job."""
    points = []
    run = 0
    for j in range(1, len(jobs) + 1):
        if j == len(jobs) or jobs[j].vertices is not jobs[run].vertices:
            indices = [f.indices for f in flats[run:j]]
            points.append(jobs[run].vertices[np.concatenate(indices)])
            run = j
    return np.concatenate(points)


def _flat(job: MeshJob) -> FlatFaces:
    faces = job.faces
    assert not isinstance(faces, FlatFaces)
    flat: list[int] = []
    ring_sizes: list[int] = []
    for face in faces:
        for ring in face:
            flat.extend(ring)
            ring_sizes.append(len(ring))
    return FlatFaces(
        np.asarray(flat, np.intp),
        np.asarray(ring_sizes, np.intp),
        np.fromiter((len(f) for f in faces), np.intp, len(faces)),
        np.asarray([-1 if k is None else k for k in job.classes], np.int8),
    )


@dataclass(frozen=True, slots=True)
class _Layout:
    """Where each face's rings and vertices are in the flat vertex array."""

    ring_sizes: npt.NDArray[np.intp]
    face_rings: npt.NDArray[np.intp]  # rings per face
    first_ring: npt.NDArray[np.intp]  # per face
    face_start: npt.NDArray[np.intp]  # first vertex per face
    face_size: npt.NDArray[np.intp]  # vertices per face, holes included

    @classmethod
    def of(cls, ring_sizes: npt.NDArray[np.intp], face_rings: npt.NDArray[np.intp]) -> _Layout:
        ring_start = np.concatenate(([0], np.cumsum(ring_sizes)[:-1]))
        first_ring = np.concatenate(([0], np.cumsum(face_rings)[:-1]))
        return cls(
            ring_sizes,
            face_rings,
            first_ring,
            ring_start[first_ring],
            np.add.reduceat(ring_sizes, first_ring),
        )


def _triangulate(
    jobs: Sequence[MeshJob],
    xyz: npt.NDArray[np.float64],
    layout: _Layout,
    face_job: npt.NDArray[np.intp],
    classes: npt.NDArray[np.int8],
) -> list[BuildingMesh]:
    face_rings, face_start, face_size = layout.face_rings, layout.face_start, layout.face_size
    ext_size = layout.ring_sizes[layout.first_ring]
    # Newell's normal of each exterior ring; centred on the ring's first point
    # so that coordinates of a few km lose no precision.
    ext_vertex = np.repeat(face_start, ext_size) + _ranks(ext_size)
    nxt = ext_vertex + 1
    nxt[np.cumsum(ext_size) - 1] = face_start
    origin = np.repeat(xyz[face_start], ext_size, axis=0)
    a, b = xyz[ext_vertex] - origin, xyz[nxt] - origin
    terms = np.stack(
        [
            (a[:, 1] - b[:, 1]) * (a[:, 2] + b[:, 2]),
            (a[:, 2] - b[:, 2]) * (a[:, 0] + b[:, 0]),
            (a[:, 0] - b[:, 0]) * (a[:, 1] + b[:, 1]),
        ],
        axis=1,
    )
    normal = np.add.reduceat(terms, np.concatenate(([0], np.cumsum(ext_size)[:-1])), axis=0)
    length = np.linalg.norm(normal, axis=1)
    keep = length > 1e-9
    normal = normal / np.where(keep, length, 1.0)[:, None]
    kinds = np.where(
        classes >= 0,
        classes,
        np.where(normal[:, 2] > _UPWARD, ROOF, np.where(normal[:, 2] < -_UPWARD, GROUND, WALL)),
    ).astype(np.uint8)
    # A 2D frame (u, v) in each face's plane, (u, v, normal) right-handed.
    helper = np.where(np.abs(normal[:, :1]) < 0.9, [[1.0, 0, 0]], [[0, 1.0, 0]])
    u = np.cross(normal, helper)
    u /= np.maximum(np.linalg.norm(u, axis=1), 1e-12)[:, None]
    v = np.cross(normal, u)
    per_vertex_face = np.repeat(np.arange(len(face_size)), face_size)
    rel = xyz - xyz[face_start][per_vertex_face]
    uv = np.stack(
        [
            np.einsum("ij,ij->i", rel, u[per_vertex_face]),
            np.einsum("ij,ij->i", rel, v[per_vertex_face]),
        ],
        axis=1,
    )
    fan = keep & (face_rings == 1) & _convex(uv, face_start, ext_size)
    tris, tri_face = _fans(face_start[fan], ext_size[fan], np.flatnonzero(fan))
    cut = np.flatnonzero(keep & ~fan)
    more, more_face = _earcut(uv, layout, cut)
    tris = np.concatenate([tris, more])
    tri_face = np.concatenate([tri_face, more_face])
    order = np.argsort(tri_face, kind="stable")
    tris, tri_face = tris[order], tri_face[order]
    return _split(
        jobs,
        xyz,
        triangles=(tris, tri_face),
        face_job=face_job,
        face_start=face_start,
        tri_kinds=kinds[tri_face],
    )


def _ranks(sizes: npt.NDArray[np.intp]) -> npt.NDArray[np.intp]:
    """0, 1, ..., size-1 for each size, concatenated."""
    total = int(sizes.sum())
    starts = np.cumsum(sizes) - sizes
    return np.arange(total) - np.repeat(starts, sizes)


def _convex(
    uv: npt.NDArray[np.float64], start: npt.NDArray[np.intp], size: npt.NDArray[np.intp]
) -> npt.NDArray[np.bool_]:
    """Whether each exterior ring turns left (or goes straight) at every vertex."""
    at = np.repeat(start, size) + _ranks(size)
    last = np.cumsum(size) - 1  # each ring's last vertex, in ``at``
    first = last - size + 1
    nxt, prv = at + 1, at - 1
    nxt[last] = start
    prv[first] = start + size - 1
    e1 = uv[at] - uv[prv]
    e2 = uv[nxt] - uv[at]
    cross = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]
    scale = np.hypot(e1[:, 0], e1[:, 1]) * np.hypot(e2[:, 0], e2[:, 1])
    left = cross >= -1e-9 * np.maximum(scale, 1e-12)
    bounds = np.concatenate(([0], np.cumsum(size)[:-1]))
    return np.logical_and.reduceat(left, bounds) & (size >= 3)


def _fans(
    start: npt.NDArray[np.intp], size: npt.NDArray[np.intp], faces: npt.NDArray[np.intp]
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    count = size - 2
    k = _ranks(count) + 1
    base = np.repeat(start, count)
    tris = np.stack([base, base + k, base + k + 1], axis=1)
    return tris, np.repeat(faces, count)


def _earcut(
    uv: npt.NDArray[np.float64], layout: _Layout, faces: npt.NDArray[np.intp]
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    # Per face, its rings' ends counted from the face's first vertex (what earcut wants).
    face_of_ring = np.repeat(np.arange(len(layout.face_rings)), layout.face_rings)
    ring_end = np.cumsum(layout.ring_sizes) - layout.face_start[face_of_ring]
    ends = ring_end.astype(np.uint32)
    starts = layout.face_start[faces]
    stops = starts + layout.face_size[faces]
    r0 = layout.first_ring[faces]
    r1 = r0 + layout.face_rings[faces]
    found = [
        mapbox_earcut.triangulate_float64(uv[s:e], ends[a:b])
        for s, e, a, b in zip(
            starts.tolist(), stops.tolist(), r0.tolist(), r1.tolist(), strict=True
        )
    ]
    counts = np.fromiter((len(t) // 3 for t in found), np.intp, len(found))
    if not found or not counts.sum():
        return np.zeros((0, 3), np.intp), np.zeros(0, np.intp)
    tris = np.concatenate(found).astype(np.intp).reshape(-1, 3) + np.repeat(starts, counts)[:, None]
    # earcut's own winding is not the face's: turn every triangle to counter-clockwise.
    p = uv[tris]
    area = (p[:, 1, 0] - p[:, 0, 0]) * (p[:, 2, 1] - p[:, 0, 1]) - (p[:, 2, 0] - p[:, 0, 0]) * (
        p[:, 1, 1] - p[:, 0, 1]
    )
    flip = area < 0
    tris[flip] = tris[flip][:, ::-1]
    return tris, np.repeat(faces, counts)


def _split(
    jobs: Sequence[MeshJob],
    xyz: npt.NDArray[np.float64],
    *,
    triangles: tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]],
    face_job: npt.NDArray[np.intp],
    face_start: npt.NDArray[np.intp],
    tri_kinds: npt.NDArray[np.uint8],
) -> list[BuildingMesh]:
    """Cut the global arrays into one mesh per job (faces and triangles are in job order)."""
    tris, tri_face = triangles
    n = len(jobs)
    face_bounds = np.searchsorted(face_job, np.arange(n + 1))
    vertex_bounds = np.append(face_start, len(xyz))[face_bounds]
    tri_bounds = np.searchsorted(face_job[tri_face], np.arange(n + 1))
    positions = xyz.astype(np.float32)
    out = []
    for j, job in enumerate(jobs):
        v0, v1 = int(vertex_bounds[j]), int(vertex_bounds[j + 1])
        t0, t1 = int(tri_bounds[j]), int(tri_bounds[j + 1])
        out.append(
            BuildingMesh(
                job.lod,
                positions[v0:v1],
                (tris[t0:t1] - v0).astype(np.uint32),
                tri_kinds[t0:t1],
            )
        )
    return out


def _empty(lod: str) -> BuildingMesh:
    return BuildingMesh(
        lod, np.zeros((0, 3), np.float32), np.zeros((0, 3), np.uint32), np.zeros(0, np.uint8)
    )


def extrude(
    footprints: Sequence[Any], ground: Sequence[float], roof: Sequence[float]
) -> list[BuildingMesh]:
    """Footprints (shapely Polygon/MultiPolygon) extruded from ground to roof: roof, walls, ground.

    Rings are oriented first (exteriors counter-clockwise seen from above), so
    the roof faces up, the ground down and the walls out.
    """
    jobs = []
    for shape, z0, z1 in zip(footprints, ground, roof, strict=True):
        polygons = getattr(shape, "geoms", [shape])
        rings: list[npt.NDArray[np.float64]] = []
        faces: list[list[list[int]]] = []
        classes: list[int | None] = []
        count = 0
        for given in polygons:
            polygon = shapely.geometry.polygon.orient(given, 1.0)
            own = [np.asarray(polygon.exterior.coords)[:-1, :2]] + [
                np.asarray(r.coords)[:-1, :2] for r in polygon.interiors
            ]
            top, bottom = [], []
            for ring in own:
                m = len(ring)
                rings.append(ring)
                lo, hi = count, count + m  # indices of this ring's points at z0 and z1
                top.append(list(range(hi, hi + m)))
                bottom.append(list(range(lo + m - 1, lo - 1, -1)))
                for k in range(m):
                    k1 = (k + 1) % m
                    faces.append([[lo + k, lo + k1, hi + k1, hi + k]])
                    classes.append(WALL)
                count += 2 * m
            faces += [top, bottom]
            classes += [ROOF, GROUND]
        vertices = np.concatenate(
            [np.column_stack([r, np.full(len(r), z)]) for r in rings for z in (z0, z1)]
        )
        jobs.append(MeshJob(EXTRUDED, vertices, faces, classes))
    return triangulate(jobs)
