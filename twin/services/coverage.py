"""Coverage of the 15-minute service circle: homes and elderly homes within 5/10/15 minutes.

Homes are a building's units (a building without units counts as one home,
so imported footprints without units still weigh in). An *elderly home* is a
unit whose household's ``age_band`` is 60 or over
(:attr:`twin.model.households.Household.is_elderly`): the model records the oldest
resident's age band per home, not a head count, so "elderly residents" are
counted as homes with an elderly resident (:data:`ELDERLY_FIELD`).

A building belongs to the grid whose polygon contains its representative
point (smallest grid id on overlaps).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely

from twin.model.community import Community
from twin.services.circle import TypeMinutes

IntArray = npt.NDArray[np.int64]
ELDERLY_FIELD = "household.age_band"
"""Where elderly homes come from: ``units[].household.age_band`` in 60-69/70-79/80+."""
NO_GRID = -1


@dataclass(frozen=True, slots=True)
class Homes:
    """Per building (``Community.buildings`` order): homes, elderly homes, grid index."""

    homes: IntArray
    elderly: IntArray
    grid: IntArray
    grid_ids: tuple[str, ...]


def count_homes(community: Community) -> Homes:
    homes = np.array([max(len(b.units), 1) for b in community.buildings], dtype=np.int64)
    elderly = np.array(
        [
            sum(1 for u in b.units if u.household is not None and u.household.is_elderly)
            for b in community.buildings
        ],
        dtype=np.int64,
    )
    grid = np.full(len(community.buildings), NO_GRID, np.int64)
    if community.buildings and community.grids:
        points = shapely.point_on_surface([b.footprint for b in community.buildings])
        xy = shapely.get_coordinates(points)
        for gi, g in enumerate(community.grids):  # few grids; sorted by id
            inside = shapely.contains_xy(g.polygon, xy[:, 0], xy[:, 1]) & (grid == NO_GRID)
            grid[inside] = gi
    return Homes(homes, elderly, grid, tuple(g.id for g in community.grids))


def within(minutes: TypeMinutes, threshold: float) -> npt.NDArray[np.bool_]:
    # Rounding to 0.01 min keeps a building at exactly 15.0 minutes covered
    # whatever the float noise of the sum of edge lengths.
    return np.round(minutes.minutes, 2) <= threshold


def scope_rows(
    minutes: Mapping[str, TypeMinutes],
    homes: Homes,
    thresholds: tuple[int, ...],
    scope: str,
    mask: npt.NDArray[np.bool_],
) -> list[dict[str, Any]]:
    """One summary row per type for the buildings in ``mask``."""
    total = int(homes.homes[mask].sum())
    elderly = int(homes.elderly[mask].sum())
    rows = []
    for kind, m in minutes.items():
        row: dict[str, Any] = {
            "scope": scope,
            "type": kind,
            "homes": total,
            "elderly_homes": elderly,
        }
        for t in thresholds:
            ok = within(m, t) & mask
            h, e = int(homes.homes[ok].sum()), int(homes.elderly[ok].sum())
            row[f"homes_within_{t}"] = h
            row[f"share_within_{t}"] = round(h / total, 4) if total else None
            row[f"elderly_within_{t}"] = e
            row[f"elderly_share_within_{t}"] = round(e / elderly, 4) if elderly else None
        last = thresholds[-1]
        gap = mask & ~within(m, last)
        row["gap_homes"] = int(homes.homes[gap].sum())
        row["gap_elderly_homes"] = int(homes.elderly[gap].sum())
        row["gap_buildings"] = int(gap.sum())
        row["estimated_buildings"] = int((m.estimate & mask).sum())
        finite = m.minutes[mask & np.isfinite(m.minutes)]
        row["median_minutes"] = round(float(np.median(finite)), 2) if len(finite) else None
        rows.append(row)
    return rows


def summary_rows(
    minutes: Mapping[str, TypeMinutes], homes: Homes, thresholds: tuple[int, ...]
) -> list[dict[str, Any]]:
    """The summary table: the community, then each grid (and buildings in no grid)."""
    everything = np.ones(len(homes.homes), dtype=bool)
    rows = scope_rows(minutes, homes, thresholds, "community", everything)
    for gi, gid in enumerate(homes.grid_ids):
        rows += scope_rows(minutes, homes, thresholds, f"grid:{gid}", homes.grid == gi)
    outside = homes.grid == NO_GRID
    if homes.grid_ids and outside.any():
        rows += scope_rows(minutes, homes, thresholds, "grid:-", outside)
    return rows


def gaps(
    minutes: Mapping[str, TypeMinutes], homes: Homes, building_ids: tuple[str, ...], limit: float
) -> dict[str, list[str]]:
    """Per type, the buildings whose homes are beyond ``limit`` minutes (the gaps)."""
    ids = np.array(building_ids, dtype=object)
    return {kind: ids[~within(m, limit)].tolist() for kind, m in minutes.items()}


def minutes_json(value: float) -> float | None:
    """Minutes for JSON: rounded to 0.01, None where unreachable."""
    return round(value, 2) if np.isfinite(value) else None
