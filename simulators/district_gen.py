"""Generate the communities of a district: N community models side by side.

Each is :func:`simulators.community_gen.generate_community` with its own id,
name and seed, shifted on a square grid of sites (``spacing_m`` apart) in the
same local frame, so a district map shows them as separate places.

>>> models = generate_district(DistrictSpec(communities=3, buildings=2, prefix="xh"))
>>> [m["id"] for m in models], [m["offset"] for m in models]
(['xh-001', 'xh-002', 'xh-003'], [[0.0, 0.0, 0], [1500.0, 0.0, 0], [0.0, 1500.0, 0]])
>>> models[1]["name"]
'xh 社区 2'
>>> generate_district(DistrictSpec(communities=3, buildings=2, prefix="xh")) == models
True
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from simulators.community_gen import CommunitySpec, GenerationError, generate_community
from simulators.wire import COMMUNITY_ID

MAX_COMMUNITIES = 1000


@dataclass(frozen=True, slots=True)
class DistrictSpec:
    communities: int = 10
    buildings: int = 20  # per community (~95 devices per building)
    seed: int = 1
    prefix: str = "dc"  # community ids: <prefix>-001, <prefix>-002, ...
    spacing_m: float = 1500.0


def community_ids(spec: DistrictSpec) -> list[str]:
    """
    >>> community_ids(DistrictSpec(communities=2, prefix="a"))
    ['a-001', 'a-002']
    """
    width = max(3, len(str(spec.communities)))
    return [f"{spec.prefix}-{i:0{width}d}" for i in range(1, spec.communities + 1)]


def _check(spec: DistrictSpec) -> None:
    if not 1 <= spec.communities <= MAX_COMMUNITIES:
        raise GenerationError(f"--communities must be between 1 and {MAX_COMMUNITIES}")
    if not COMMUNITY_ID.match(f"{spec.prefix}-{spec.communities}") or len(spec.prefix) > 56:
        raise GenerationError(
            f"prefix {spec.prefix!r}: community ids must match {COMMUNITY_ID.pattern}"
        )
    if spec.spacing_m <= 0:
        raise GenerationError("--spacing must be positive")


def iter_district(spec: DistrictSpec) -> Iterator[dict[str, Any]]:
    """The models one by one (a 200-community district is ~400,000 devices)."""
    _check(spec)
    side = math.ceil(math.sqrt(spec.communities))
    for n, cid in enumerate(community_ids(spec)):
        model = generate_community(
            CommunitySpec(
                buildings=spec.buildings,
                seed=spec.seed * 100_003 + n,
                id=cid,
                name=f"{spec.prefix} 社区 {n + 1}",
            )
        )
        row, col = divmod(n, side)
        model["offset"] = [col * spec.spacing_m, row * spec.spacing_m, 0]
        yield model


def generate_district(spec: DistrictSpec) -> list[dict[str, Any]]:
    """Every model of the district, as JSON-ready dicts (same spec, same models)."""
    return list(iter_district(spec))
