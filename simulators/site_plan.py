"""A plausible site plan of a Zhejiang-style residential community.

Buildings are slabs with their long side east-west (south-facing homes), laid
out in rows from south to north: mid-rise rows in the south and high-rise
rows behind them, so the low buildings do not shade the tall ones, with row
spacing growing with the height of the row in front (sunlight spacing). Each
slab has 2-4 sections (单元), each with 2-4 homes per storey around a core;
high-rises have a basement garage storey. A two-storey neighbourhood centre
with the elderly canteen (长者食堂) stands by the south gate.

>>> import random
>>> plan = plan_site(random.Random(7), 6)
>>> len(plan.buildings), plan.buildings[0].use
(7, 'canteen')
>>> all(b.x1 <= plan.width and b.y1 <= plan.depth for b in plan.buildings)
True
"""

from __future__ import annotations

import random
from dataclasses import dataclass

STOREY_HEIGHT = 3.0
BASEMENT_HEIGHT = 4.0
PARAPET = 0.0  # flat roofs: storeys of exactly STOREY_HEIGHT
UNIT_FRONTAGE = 10.0  # metres of facade per home
CORE_WIDTH = 4.0  # stairs and lifts of one section
MARGIN = 25.0  # from the site boundary to the nearest building
GAP_X = 18.0  # between neighbouring buildings in a row


@dataclass(frozen=True, slots=True)
class UnitPlan:
    id: str  # "2-1503": section 2, storey 15, home 03
    storey: int
    name: str
    rect: tuple[float, float, float, float]  # x0, y0, x1, y1


@dataclass(frozen=True, slots=True)
class SectionPlan:
    index: int  # 1-based, west to east
    x0: float
    x1: float
    homes_per_storey: int


@dataclass(frozen=True, slots=True)
class BuildingPlan:
    id: str
    name: str
    use: str  # "residential" or "canteen"
    x0: float
    y0: float
    x1: float
    y1: float
    storeys: int
    basement: bool
    sections: tuple[SectionPlan, ...]

    @property
    def centroid(self) -> tuple[float, float]:
        return ((self.x0 + self.x1) / 2, (self.y0 + self.y1) / 2)

    @property
    def roof_z(self) -> float:
        return self.storeys * STOREY_HEIGHT + PARAPET

    @property
    def high_rise(self) -> bool:
        return self.storeys >= 12

    def units(self) -> list[UnitPlan]:
        """Every home, storey by storey, section by section."""
        out: list[UnitPlan] = []
        for storey in range(1, self.storeys + 1):
            for s in self.sections:
                out.extend(_section_units(self, s, storey))
        return out


@dataclass(frozen=True, slots=True)
class SitePlan:
    width: float  # x extent, metres
    depth: float  # y extent, metres
    buildings: tuple[BuildingPlan, ...]  # the canteen first
    row_bounds: tuple[float, ...]  # y of the gap between consecutive rows

    def residential(self) -> list[BuildingPlan]:
        return [b for b in self.buildings if b.use == "residential"]

    def canteen(self) -> BuildingPlan:
        return next(b for b in self.buildings if b.use == "canteen")


def _section_units(b: BuildingPlan, s: SectionPlan, storey: int) -> list[UnitPlan]:
    # Up to two homes face south; a third and fourth face north behind them.
    front = min(2, s.homes_per_storey)
    back = s.homes_per_storey - front
    mid_y = b.y0 + (b.y1 - b.y0) * (0.55 if back else 1.0)
    rects: list[tuple[float, float, float, float]] = []
    for count, y0, y1 in ((front, b.y0, mid_y), (back, mid_y, b.y1)):
        if count == 0:
            continue
        w = (s.x1 - s.x0) / count
        rects.extend((s.x0 + i * w, y0, s.x0 + (i + 1) * w, y1) for i in range(count))
    return [
        UnitPlan(
            id=f"{s.index}-{storey}{n:02d}",
            storey=storey,
            name=f"{s.index}单元{storey}{n:02d}室",
            rect=tuple(round(v, 2) for v in rect),  # type: ignore[arg-type]
        )
        for n, rect in enumerate(rects, start=1)
    ]


def _section_width(homes: int) -> float:
    # Two homes side by side face south; more homes sit behind them.
    return min(homes, 2) * UNIT_FRONTAGE + CORE_WIDTH


@dataclass(frozen=True, slots=True)
class _Shape:
    storeys: int
    homes: tuple[int, ...]  # homes per storey, per section

    @property
    def width(self) -> float:
        return sum(_section_width(h) for h in self.homes)

    @property
    def depth(self) -> float:
        return 20.0 if max(self.homes) > 2 else 13.0


def _shape(rng: random.Random, high: bool) -> _Shape:
    if high:
        # Newer Hangzhou towers are mostly 26-33 storeys; some 18-25.
        storeys = round(rng.triangular(18, 33, 30))
        sections = rng.choice((2, 2, 3, 3, 4))
        homes = tuple(rng.choice((2, 3, 3, 4, 4)) for _ in range(sections))
    else:
        storeys = rng.randint(6, 11)
        sections = rng.choice((3, 3, 4))
        homes = tuple(rng.choice((2, 2, 2, 3)) for _ in range(sections))
    return _Shape(storeys, homes)


def plan_site(rng: random.Random, buildings: int) -> SitePlan:
    """Lay out ``buildings`` residential slabs plus the neighbourhood centre."""
    if buildings < 1:
        raise ValueError("a community needs at least one building")
    high_count = round(buildings * 0.8) if buildings > 2 else buildings
    shapes = sorted(
        [_shape(rng, True) for _ in range(high_count)]
        + [_shape(rng, False) for _ in range(buildings - high_count)],
        key=lambda s: s.storeys,
    )
    row_width = max(260.0, (buildings**0.5) * 95.0)
    rows: list[list[_Shape]] = [[]]
    used = 0.0
    for shape in shapes:
        if rows[-1] and used + shape.width > row_width:
            rows.append([])
            used = 0.0
        rows[-1].append(shape)
        used += shape.width + GAP_X

    # The neighbourhood centre by the south gate, then the rows behind it.
    centre_w, centre_d = 44.0, 22.0
    width = row_width + 2 * MARGIN
    cx0 = round(width / 2 - centre_w / 2, 2)
    plans: list[BuildingPlan] = [
        BuildingPlan(
            id="s01",
            name="邻里中心·长者食堂",
            use="canteen",
            x0=cx0,
            y0=MARGIN,
            x1=cx0 + centre_w,
            y1=MARGIN + centre_d,
            storeys=2,
            basement=False,
            sections=(),
        )
    ]
    bounds: list[float] = []
    y = MARGIN + centre_d
    front_height = 2 * STOREY_HEIGHT
    for row in rows:
        spacing = min(60.0, max(20.0, 0.7 * front_height))
        bounds.append(round(y + spacing / 2, 2))
        y += spacing
        total = sum(s.width for s in row) + GAP_X * (len(row) - 1)
        x = MARGIN + (row_width - total) / 2 + rng.uniform(-4, 4)
        x = min(max(x, MARGIN), width - MARGIN - total)
        for shape in row:
            jitter = rng.uniform(-3, 3)
            plans.append(_building(len(plans), shape, x, y + jitter))
            x += shape.width + GAP_X
        y += max(s.depth for s in row) + 3
        front_height = max(s.storeys for s in row) * STOREY_HEIGHT
    depth = y + MARGIN
    return SitePlan(round(width, 2), round(depth, 2), tuple(plans), tuple(bounds))


def _building(n: int, shape: _Shape, x0: float, y0: float) -> BuildingPlan:
    sections: list[SectionPlan] = []
    x = x0
    for i, homes in enumerate(shape.homes, start=1):
        w = _section_width(homes)
        sections.append(SectionPlan(i, round(x, 2), round(x + w, 2), homes))
        x += w
    return BuildingPlan(
        id=f"b{n:02d}",
        name=f"{n}幢",
        use="residential",
        x0=round(x0, 2),
        y0=round(y0, 2),
        x1=round(x, 2),
        y1=round(y0 + shape.depth, 2),
        storeys=shape.storeys,
        basement=shape.storeys >= 12,
        sections=tuple(sections),
    )
