"""What-if for the service circle: add, move or remove facilities, see who gains.

Nothing stored changes: a :class:`Scenario` is applied to the facilities a
:class:`~twin.services.circle.ServiceCircle` snapped, and only the types it
touches are recomputed (one multi-source Dijkstra each, the entrances'
snaps reused), so a what-if costs milliseconds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from twin.errors import ModelError
from twin.model.facilities import Facility
from twin.services.circle import ServiceCircle, TypeMinutes
from twin.services.coverage import Homes, minutes_json, within


@dataclass(frozen=True, slots=True)
class Scenario:
    add: tuple[Facility, ...] = ()
    move: tuple[Facility, ...] = ()
    """Stored facility ids with their new geometry (type kept)."""
    remove: tuple[str, ...] = ()


def apply_scenario(circle: ServiceCircle, scenario: Scenario) -> dict[str, list[Facility]]:
    """The facilities per touched type once the scenario is applied (ModelError if unknown ids)."""
    stored = {f.id: f for f in circle.facilities}
    for fid in (*scenario.remove, *(m.id for m in scenario.move)):
        if fid not in stored:
            raise ModelError(f"facility {fid}", "does not exist in this community")
    for f in scenario.add:
        if f.id in stored:
            raise ModelError(f"facility {f.id}", "already exists: move it or use another id")
    moved = {m.id: m for m in scenario.move}
    touched = {stored[i].type for i in (*scenario.remove, *moved)} | {f.type for f in scenario.add}
    out: dict[str, list[Facility]] = {}
    for kind in sorted(touched):
        kept = [
            Facility(f.id, f.type, moved[f.id].geometry, f.name, f.attributes)
            if f.id in moved
            else f
            for f in circle.facilities
            if f.type == kind and f.id not in scenario.remove
        ]
        out[kind] = kept + [f for f in scenario.add if f.type == kind]
    return out


def run_scenario(
    circle: ServiceCircle,
    base: Mapping[str, TypeMinutes],
    homes: Homes,
    scenario: Scenario,
) -> dict[str, Any]:
    """Coverage change per touched type, and the new minutes of every building that changed."""
    thresholds = circle.config.thresholds_min
    types: dict[str, Any] = {}
    changed: dict[int, dict[str, float | None]] = {}
    for kind, facilities in apply_scenario(circle, scenario).items():
        after = circle.minutes_to(kind, facilities, circle.snap_facilities(facilities))
        before = base[kind]
        entry: dict[str, Any] = {}
        for t in thresholds:
            was, now = within(before, t), within(after, t)
            gained, lost = now & ~was, was & ~now
            entry[str(t)] = {
                "homes_newly_covered": int(homes.homes[gained].sum()),
                "elderly_homes_newly_covered": int(homes.elderly[gained].sum()),
                "homes_no_longer_covered": int(homes.homes[lost].sum()),
                "elderly_homes_no_longer_covered": int(homes.elderly[lost].sum()),
                "homes_covered_before": int(homes.homes[was].sum()),
                "homes_covered_after": int(homes.homes[now].sum()),
            }
        types[kind] = entry
        a, b = np.round(after.minutes, 2), np.round(before.minutes, 2)
        differs = np.flatnonzero(~((a == b) | (np.isinf(a) & np.isinf(b))))
        for i in differs:
            changed.setdefault(int(i), {})[kind] = minutes_json(float(after.minutes[i]))
    buildings = [{"id": circle.building_ids[i], "minutes": m} for i, m in sorted(changed.items())]
    return {"types": types, "buildings": buildings}
