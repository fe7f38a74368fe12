"""Facilities and a walking network for a generated community (the services scene).

Paths: a ring road just inside the site boundary, an east-west footway in
every gap between rows of buildings, a north-south footway on the central
axis, and the street outside the south gate. Facilities: the neighbourhood
centre is the canteen (its footprint) with a clinic and an elderly-care
centre beside it, a supermarket and a bus stop outside the south gate, a
kindergarten in the north-east corner, a park north of the site, and a
school 700 m east along the street, so the far homes show a gap.

>>> import random
>>> from simulators.site_plan import plan_site
>>> facilities, paths = plan_services(plan_site(random.Random(7), 6))
>>> sorted({f["type"] for f in facilities}) == sorted(
...     ["bus_stop", "canteen", "clinic", "elderly_care", "kindergarten", "park", "school",
...      "supermarket"])
True
>>> len(paths) > 5
True
"""

from __future__ import annotations

from typing import Any

from simulators.site_plan import MARGIN, SitePlan


def _line(*points: tuple[float, float]) -> dict[str, Any]:
    return {"type": "LineString", "coordinates": [[round(x, 2), round(y, 2)] for x, y in points]}


def _point(x: float, y: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [round(x, 2), round(y, 2)]}


def _box(x0: float, y0: float, x1: float, y1: float) -> dict[str, Any]:
    ring = [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]
    return {"type": "Polygon", "coordinates": [[[round(x, 2), round(y, 2)] for x, y in ring]]}


def plan_services(plan: SitePlan) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Model-file ``facilities`` and ``paths`` for a site plan (deterministic)."""
    w, d = plan.width, plan.depth
    ring = MARGIN / 2
    mid = w / 2
    paths = [
        {
            "id": "ring",
            "kind": "residential",
            "geometry": _line(
                (ring, ring), (w - ring, ring), (w - ring, d - ring), (ring, d - ring), (ring, ring)
            ),
        },
        {"id": "axis", "kind": "footway", "geometry": _line((mid, -20), (mid, d + 10))},
        {"id": "street", "kind": "tertiary", "geometry": _line((-50, -20), (w + 760, -20))},
        {
            "id": "school-lane",
            "kind": "residential",
            "geometry": _line((w + 700, -20), (w + 700, 40)),
        },
    ]
    for i, y in enumerate(plan.row_bounds):
        paths.append(
            {"id": f"row-{i + 1}", "kind": "footway", "geometry": _line((ring, y), (w - ring, y))}
        )
    centre = plan.canteen()
    facilities = [
        {
            "id": "canteen",
            "type": "canteen",
            "name": centre.name,
            "geometry": _box(centre.x0, centre.y0, centre.x1, centre.y1),
        },
        {
            "id": "clinic",
            "type": "clinic",
            "name": "社区卫生服务站",
            "geometry": _point(centre.x1 + 6, centre.y0 + 4),
        },
        {
            "id": "elderly-care",
            "type": "elderly_care",
            "name": "居家养老服务中心",
            "geometry": _point(centre.x0 - 6, centre.y0 + 4),
        },
        {
            "id": "supermarket",
            "type": "supermarket",
            "name": "超市",
            "geometry": _point(mid + 40, -28),
        },
        {"id": "bus-stop", "type": "bus_stop", "name": "公交站", "geometry": _point(mid - 30, -24)},
        {
            "id": "kindergarten",
            "type": "kindergarten",
            "name": "幼儿园",
            "geometry": _point(w - ring - 4, d - ring - 4),
        },
        {
            "id": "park",
            "type": "park",
            "name": "社区公园",
            "geometry": _box(mid - 60, d + 10, mid + 60, d + 70),
        },
        {"id": "school", "type": "school", "name": "小学", "geometry": _point(w + 700, 45)},
    ]
    return facilities, paths
