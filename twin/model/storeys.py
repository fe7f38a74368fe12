"""Storeys: derive them from a building's height, check the ones given.

When a source gives no storeys, the building's height is split into
``round(height / storey_height)`` equal storeys (at least one), so every
building has storeys the cockpit can show. Basements get negative indexes and
go down from the ground: storey ``-1`` ends at ``ground_z``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from twin.errors import ModelError
from twin.model.community import Storey

DEFAULT_STOREY_HEIGHT = 3.0
DEFAULT_STOREY_COUNT = 3
"""Storeys assumed when a source gives neither a height nor a level count."""

_TOLERANCE = 0.01  # metres: storeys may touch the roof or each other up to this


def storey_count_for(height: float, storey_height: float = DEFAULT_STOREY_HEIGHT) -> int:
    """How many storeys fit in ``height`` (rounded to nearest, at least 1).

    >>> storey_count_for(10.2), storey_count_for(4.4), storey_count_for(1.0), storey_count_for(54)
    (3, 1, 1, 18)
    """
    return max(1, math.floor(height / storey_height + 0.5))


def above_ground(ground_z: float, roof_z: float, count: int) -> list[Storey]:
    """``count`` equal storeys from the ground to the roof.

    >>> [(s.index, s.floor_z, s.height) for s in above_ground(0.0, 9.0, 3)]
    [(1, 0.0, 3.0), (2, 3.0, 3.0), (3, 6.0, 3.0)]
    """
    height = (roof_z - ground_z) / count
    return [Storey(i + 1, ground_z + i * height, height) for i in range(count)]


def below_ground(ground_z: float, heights: Iterable[float]) -> list[Storey]:
    """Basements under the ground, first ``heights`` entry is storey -1.

    >>> [(s.index, s.floor_z) for s in below_ground(0.0, [3.5, 3.0])]
    [(-1, -3.5), (-2, -6.5)]
    """
    storeys, floor = [], ground_z
    for i, h in enumerate(heights):
        floor -= h
        storeys.append(Storey(-(i + 1), floor, h))
    return storeys


def derive_storeys(
    owner: str,
    ground_z: float,
    roof_z: float,
    *,
    storey_height: float = DEFAULT_STOREY_HEIGHT,
    explicit: Iterable[Storey] = (),
    count: int | None = None,
    basement_heights: Iterable[float] = (),
) -> tuple[Storey, ...]:
    """The building's storeys: explicit ones win, the rest are derived.

    Above-ground storeys are derived unless explicit positive storeys are given
    (and no ``count``); ``count`` splits the height into that many storeys.

    >>> [s.index for s in derive_storeys("b", 0.0, 54.0, count=18,
    ...     explicit=[Storey(-1, -3.5, 3.5, "B1")])][:3]
    [-1, 1, 2]
    """
    by_index: dict[int, Storey] = {}
    for s in explicit:
        if s.index in by_index:
            raise ModelError(owner, f"storey {s.index} is given twice")
        by_index[s.index] = s
    if count is not None and count < 1:
        raise ModelError(owner, f"storey count must be at least 1, got {count}")
    if count is None and not any(i > 0 for i in by_index):
        count = storey_count_for(roof_z - ground_z, storey_height)
    if count is not None:
        for s in above_ground(ground_z, roof_z, count):
            by_index.setdefault(s.index, s)
    for s in below_ground(ground_z, basement_heights):
        by_index.setdefault(s.index, s)
    return check_storeys(owner, by_index.values(), roof_z)


def check_storeys(owner: str, storeys: Iterable[Storey], roof_z: float) -> tuple[Storey, ...]:
    """Storeys sorted by index, checked: no index 0, positive heights, stacked in order.

    >>> check_storeys("building b", [Storey(1, 0.0, 3.0), Storey(2, 2.0, 3.0)], 9.0)
    Traceback (most recent call last):
    twin.errors.ModelError: building b: storey 2 starts at 2.0, below the top of storey 1 (3.0)
    """
    ordered = sorted(storeys, key=lambda s: s.index)
    previous: Storey | None = None
    for s in ordered:
        if s.index == 0:
            raise ModelError(
                owner, "storey index 0 does not exist (1 = ground floor, -1 = basement)"
            )
        if not (math.isfinite(s.floor_z) and math.isfinite(s.height)) or s.height <= 0:
            raise ModelError(owner, f"storey {s.index} needs a finite floor_z and a height > 0")
        if previous is not None and s.floor_z < previous.top_z - _TOLERANCE:
            raise ModelError(
                owner,
                f"storey {s.index} starts at {s.floor_z}, below the top of storey "
                f"{previous.index} ({previous.top_z})",
            )
        previous = s
    if previous is not None and previous.top_z > roof_z + _TOLERANCE:
        raise ModelError(
            owner, f"storey {previous.index} reaches {previous.top_z}, above the roof at {roof_z}"
        )
    return tuple(ordered)
