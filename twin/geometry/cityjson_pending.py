"""Buildings read but for their footprints, finished together.

Every object's footprint comes from projecting its faces to the plan; doing
that for all buildings of a file at once (``plan_outlines``) and checking all
footprints in one vectorized pass is what keeps a 10,000-building import fast.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely

from twin.errors import ModelError
from twin.geometry.cityjson_mesh import MeshSource, triangulated
from twin.geometry.cityjson_surfaces import faces
from twin.geometry.footprint import Face, OutlineJob, plan_outlines
from twin.geometry.geojson import check_footprint
from twin.geometry.import_report import NO_FOOTPRINT, ObjectError, Skip
from twin.model.community import Building

Vertices = npt.NDArray[np.float64]
Placed = tuple[Mapping[str, Any], Vertices]
"""A geometry and the (local) vertices its indices point into."""


def volume_job(geometry: Mapping[str, Any], vertices: Vertices, owner: str) -> OutlineJob:
    every = list(faces(geometry))
    ground: list[Face] = [f for f, kind in every if kind == "GroundSurface"]
    return OutlineJob(vertices, ground or [f for f, _ in every], owner)


@dataclass(slots=True)
class Outline:
    """One object's footprint sources: the job to run, then geometries to fall back on."""

    jobs: list[OutlineJob]
    rest: list[Placed] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Pending:
    """A building read but for its footprint (``building.footprint`` is None)."""

    building: Building
    kind: str
    owner: str
    outlines: list[Outline]
    unit_skips: tuple[Skip, ...] = ()
    mesh: MeshSource | None = None


def finish(pending: list[Pending]) -> list[Building | ModelError]:
    """The buildings with their footprints, all faces of all buildings projected at once.

    An object whose first geometry has no extent in plan falls back on its
    next one; a building with no footprint from any object is a ModelError.
    """
    firsts = [outline.jobs[0] for p in pending for outline in p.outlines]
    modelled = [p for p in pending if p.mesh is not None]
    meshes = dict(
        zip(map(id, modelled), triangulated([p.mesh for p in modelled if p.mesh]), strict=True)
    )
    results = iter(plan_outlines(firsts))
    out: list[Building | ModelError] = []
    for p in pending:
        shapes: list[Any] = []
        error: ModelError | None = None
        for outline in p.outlines:
            shape = next(results)
            rest = list(outline.rest)
            while _no_footprint(shape) and rest:
                geometry, vertices = rest.pop(0)
                shape = plan_outlines([volume_job(geometry, vertices, p.owner)])[0]
            if isinstance(shape, ModelError):
                if not _no_footprint(shape):
                    error = error or shape
            else:
                shapes.append(shape)
        if error is None and not shapes:
            error = ObjectError(
                p.owner,
                NO_FOOTPRINT,
                "has no geometry to derive a footprint from (no LoD0 surface, "
                "no LoD1-3 solid or surface)",
            )
        if error is not None:
            out.append(error)
            continue
        out.append(shapes[0] if len(shapes) == 1 else shapely.union_all(shapes))
    # Check every footprint in one vectorized pass; only a failing one is checked
    # again on its own, for its message.
    placed = [(n, shape) for n, shape in enumerate(out) if not isinstance(shape, ModelError)]
    shapes_array = np.asarray([shape for _, shape in placed], dtype=object)
    fine = (
        shapely.is_valid(shapes_array)
        & ~shapely.is_empty(shapes_array)
        & (shapely.area(shapes_array) > 0)
        & np.isin(shapely.get_type_id(shapes_array), (3, 6))  # Polygon, MultiPolygon
    )
    for (n, shape), ok in zip(placed, fine.tolist(), strict=True):
        p = pending[n]
        if not ok:
            try:
                check_footprint(shape, p.owner)
            except ModelError as exc:
                out[n] = exc
                continue
        # The building is ours alone until returned: setting its footprint in
        # place spares a dataclass copy per building.
        object.__setattr__(p.building, "footprint", shape)
        object.__setattr__(p.building, "mesh", meshes.get(id(p)))
        out[n] = p.building
    return out


def _no_footprint(shape: Any) -> bool:
    return isinstance(shape, ObjectError) and shape.reason == NO_FOOTPRINT
