"""Triangulating surfaces at import (twin/geometry/mesh.py): areas, holes, winding, classes."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.shared_data import DELFT
from twin.community.file import read_geometry, read_json_file
from twin.geometry.cityjson_mesh import MeshSource, triangulated
from twin.geometry.mesh import MeshJob, extrude, triangulate
from twin.model.mesh import GROUND, ROOF, WALL, BuildingMesh


def rotation(a: float, b: float) -> npt.NDArray[np.float64]:
    """A rotation about x by a, then about z by b."""
    rx = np.array([[1, 0, 0], [0, math.cos(a), -math.sin(a)], [0, math.sin(a), math.cos(a)]])
    rz = np.array([[math.cos(b), -math.sin(b), 0], [math.sin(b), math.cos(b), 0], [0, 0, 1]])
    return rz @ rx


def triangle_normals(mesh: BuildingMesh) -> npt.NDArray[np.float64]:
    p = mesh.positions.astype(np.float64)
    t = mesh.indices.astype(np.intp)
    return np.cross(p[t[:, 1]] - p[t[:, 0]], p[t[:, 2]] - p[t[:, 0]]) / 2


def area(mesh: BuildingMesh) -> float:
    return float(np.linalg.norm(triangle_normals(mesh), axis=1).sum())


def volume(mesh: BuildingMesh) -> float:
    """Signed volume: positive when every triangle faces out of a closed shell."""
    p = mesh.positions.astype(np.float64)
    t = mesh.indices.astype(np.intp)
    return float(np.einsum("ij,ij->i", p[t[:, 0]], np.cross(p[t[:, 1]], p[t[:, 2]])).sum() / 6)


def face_mesh(
    rings: list[list[tuple[float, float]]], turn: npt.NDArray[np.float64]
) -> BuildingMesh:
    """One planar face (exterior then holes) rotated into 3D, away from the local origin."""
    points: list[tuple[float, float, float]] = []
    face = []
    for ring in rings:
        face.append(list(range(len(points), len(points) + len(ring))))
        points.extend((x, y, 0.0) for x, y in ring)
    xyz = np.asarray(points) @ turn.T + [850.0, -470.0, 10.0]
    return triangulate([MeshJob("2", xyz, [face], [None])])[0]


L_SHAPE = [(0, 0), (10, 0), (10, 4), (4, 4), (4, 10), (0, 10)]
COURTYARD = [[(0, 0), (20, 0), (20, 20), (0, 20)], [(5, 5), (5, 15), (15, 15), (15, 5)]]


def test_a_concave_tilted_face_keeps_its_area_and_its_normal() -> None:
    turn = rotation(0.7, 1.9)
    mesh = face_mesh([L_SHAPE], turn)
    assert mesh.triangle_count == 4
    assert area(mesh) == pytest.approx(shapely.Polygon(L_SHAPE).area, rel=1e-6)
    normals = triangle_normals(mesh)
    normals /= np.linalg.norm(normals, axis=1)[:, None]
    # Counter-clockwise in its plane: every triangle faces the rotated +z.
    assert np.allclose(normals, turn @ [0, 0, 1], atol=1e-5)


def test_a_hole_is_left_open() -> None:
    mesh = face_mesh(COURTYARD, np.eye(3))
    assert area(mesh) == pytest.approx(400 - 100)
    p = mesh.positions.astype(np.float64) - [850.0, -470.0, 10.0]
    centroids = p[mesh.indices.astype(np.intp)].mean(axis=1)
    inside_hole = (np.abs(centroids[:, 0] - 10) < 5) & (np.abs(centroids[:, 1] - 10) < 5)
    assert not inside_hole.any()


def test_a_clockwise_face_faces_down() -> None:
    mesh = face_mesh([L_SHAPE[::-1]], np.eye(3))
    assert (triangle_normals(mesh)[:, 2] < 0).all()
    assert mesh.surfaces.tolist() == [GROUND] * mesh.triangle_count


def test_semantics_win_over_normals_and_degenerate_faces_are_dropped() -> None:
    xyz = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0], [2, 0, 0]], float)
    faces = [[[0, 1, 2, 3]], [[0, 1, 2, 3]], [[0, 1, 4]]]  # the last one is a line
    [mesh] = triangulate([MeshJob("2", xyz, faces, [WALL, None, ROOF])])
    assert mesh.surfaces.tolist() == [WALL, WALL, ROOF, ROOF]


def test_extruded_footprints_are_closed_and_face_out() -> None:
    shapes = [
        shapely.box(0, 0, 10, 5),
        shapely.Polygon(L_SHAPE),
        shapely.Polygon(*[COURTYARD[0], [COURTYARD[1]]]),
        shapely.MultiPolygon([shapely.box(0, 0, 2, 2), shapely.box(5, 5, 8, 6)]),
        shapely.Polygon(L_SHAPE[::-1]),  # clockwise given: oriented first
    ]
    meshes = extrude(shapes, [1.0] * len(shapes), [7.0] * len(shapes))
    for shape, mesh in zip(shapes, meshes, strict=True):
        assert volume(mesh) == pytest.approx(shape.area * 6.0, rel=1e-6)
        normals = triangle_normals(mesh)
        kinds = mesh.surfaces
        assert (normals[kinds == ROOF, 2] > 0).all()
        assert (normals[kinds == GROUND, 2] < 0).all()
        assert np.allclose(normals[kinds == WALL, 2], 0)


@settings(max_examples=60, deadline=None)
@given(
    radii=st.lists(st.floats(0.5, 20.0), min_size=3, max_size=24),
    a=st.floats(0.0, math.pi),
    b=st.floats(0.0, 2 * math.pi),
)
def test_star_shaped_faces_in_any_plane_keep_their_area(
    radii: list[float], a: float, b: float
) -> None:
    n = len(radii)
    ring = [
        (r * math.cos(2 * math.pi * k / n), r * math.sin(2 * math.pi * k / n))
        for k, r in enumerate(radii)
    ]
    polygon = shapely.Polygon(ring)
    mesh = face_mesh([ring], rotation(a, b))
    assert area(mesh) == pytest.approx(polygon.area, rel=1e-4, abs=1e-6)


def test_the_3dbag_tile_keeps_its_lod2_roofs_and_closed_solids() -> None:
    buildings = read_geometry(read_json_file(DELFT), DELFT.name).buildings
    meshes = [b.mesh for b in buildings]
    assert all(m is not None and m.lod == "2.2" for m in meshes)
    roofs_cover = 0
    for b in buildings:
        mesh = b.mesh
        assert mesh is not None
        normals = triangle_normals(mesh)
        roof_plan = float(normals[mesh.surfaces == ROOF, 2].sum())
        ground_plan = float(-normals[mesh.surfaces == GROUND, 2].sum())
        # The roof covers the same plan as the ground it stands on.
        roofs_cover += roof_plan == pytest.approx(ground_plan, rel=0.02)
        assert volume(mesh) > 0  # closed, faces out
        # Roofs are not flat boxes: LoD2.2 heights stay between ground and top.
        z = mesh.positions[:, 2]
        assert z.min() == pytest.approx(b.ground_z, abs=1.5)
    assert roofs_cover >= 0.97 * len(buildings)
    slopes = sum(
        bool(
            (
                np.abs(triangle_normals(m)[m.surfaces == ROOF, 2])
                < 0.95 * np.linalg.norm(triangle_normals(m)[m.surfaces == ROOF], axis=1)
            ).any()
        )
        for m in meshes
        if m is not None
    )
    assert slopes > 100  # many pitched roofs, which an extruded footprint cannot have


def test_a_geometry_that_cannot_be_triangulated_loses_only_its_mesh() -> None:
    square = {"type": "MultiSurface", "lod": "2", "boundaries": [[[0, 1, 2, 3]]]}
    dangling = {"type": "MultiSurface", "lod": "2", "boundaries": [[[0, 1, 9]]]}
    xyz = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]], float)
    good, bad = triangulated([MeshSource("2", [(square, xyz)]), MeshSource("2", [(dangling, xyz)])])
    assert bad is None
    assert good is not None
    assert good.triangle_count == 2
