"""Residents report problems, grid workers handle them, residents close the loop.

Reports arrive as a Poisson process following the residents' daily rhythm
(about 3.5 per 1,000 households per day by default), by category with its
own share, place (a home, a building, or a spot outdoors) and time to
resolve. Each report is dispatched to the grid worker responsible for the
spot — by the ingestor's auto-dispatch (default) or by a simulated
dispatcher — who accepts it (minutes; next morning for non-urgent reports at
night) and resolves it (category-dependent hours). The resident then closes
it with a satisfaction score, or now and then reopens it or cancels early.
"""

from __future__ import annotations

import heapq
import math
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from simulators import climate, wire
from simulators.actions import Publish
from simulators.behaviour import FeedContext

DAY = 86400.0
REPORTS_PER_1000_HOMES_PER_DAY = 3.5
WORK_START_H, WORK_END_H = 7.5, 21.0


@dataclass(frozen=True, slots=True)
class Category:
    name: str
    share: float
    title: str
    place: str  # "home", "building" or "outdoors"
    resolve_h: float  # median hours from acceptance to resolution
    urgent: bool = False


CATEGORIES: tuple[Category, ...] = (
    Category("noise", 0.18, "楼上噪音扰民", "home", 1.5),
    Category("garbage", 0.16, "垃圾未及时清运", "outdoors", 2.0),
    Category("parking", 0.14, "车辆违规停放占用消防通道", "outdoors", 1.0),
    Category("water_leak", 0.10, "天花板渗水", "home", 4.0, urgent=True),
    Category("elevator", 0.08, "电梯故障停运", "building", 3.0, urgent=True),
    Category("lighting", 0.08, "楼道灯不亮", "building", 8.0),
    Category("greening", 0.06, "绿化带杂草需修剪", "outdoors", 24.0),
    Category("pets", 0.06, "不文明养犬", "outdoors", 3.0),
    Category("security", 0.05, "单元门禁损坏", "building", 2.0, urgent=True),
    Category("facade", 0.04, "外墙瓷砖脱落隐患", "building", 48.0),
    Category("other", 0.05, "其他问题", "outdoors", 6.0),
)
SATISFACTION = ((5, 0.55), (4, 0.28), (3, 0.10), (2, 0.05), (1, 0.02))


def _weighted(rng: random.Random, pairs: tuple[tuple[Any, float], ...]) -> Any:
    return rng.choices([v for v, _ in pairs], weights=[w for _, w in pairs])[0]


def _working(t: float, urgent: bool) -> float:
    """``t``, or the next morning shift if a non-urgent job falls at night."""
    h = climate.local_hour(t)
    if urgent or WORK_START_H <= h < WORK_END_H:
        return t
    wait_h = (WORK_START_H - h) % 24
    return t + wait_h * 3600.0


class IncidentFlow:
    """The stream of incident events of one community, lazily in time order."""

    def __init__(
        self,
        ctx: FeedContext,
        start: float,
        end: float | None,
        *,
        per_day: float | None = None,
        dispatcher: bool = False,
    ) -> None:
        self.ctx, self.start, self.end = ctx, start, end
        self.rng = ctx.rng("residents")
        households = ctx.community.households()
        self.per_day = (
            per_day if per_day is not None else households * REPORTS_PER_1000_HOMES_PER_DAY / 1000
        )
        self.dispatcher = dispatcher
        tag = time.strftime("%y%m%d%H%M", time.gmtime(start))
        self.prefix = f"r{ctx.seed}-{tag}"
        self.homes = [
            (b.id, storey, uid, x, y)
            for b in ctx.community.buildings.values()
            for uid, storey, x, y in b.units
        ]
        self.buildings = sorted(ctx.community.buildings.values(), key=lambda b: b.id)

    def _report_times(self) -> Iterator[float]:
        """Thinning of a Poisson process whose rate follows residents' activity."""
        peak = self.per_day * 1.8 / DAY
        if peak <= 0:
            return
        t = self.start
        while True:
            t += self.rng.expovariate(peak)
            rate = self.per_day * (0.2 + 1.6 * climate.activity(t)) / DAY
            if self.rng.random() < rate / peak:
                yield t

    def __iter__(self) -> Iterator[Publish]:
        pending: list[tuple[float, int, Publish]] = []
        order = 0
        for n, t in enumerate(self._report_times(), start=1):
            while pending and pending[0][0] <= t:
                yield heapq.heappop(pending)[2]
            if self.end is not None and t >= self.end:
                return
            for p in self._lifecycle(f"{self.prefix}-{n:05d}", t):
                if self.end is None or p.at < self.end:
                    order += 1
                    heapq.heappush(pending, (p.at, order, p))

    def _place(self, rng: random.Random, cat: Category) -> tuple[dict[str, Any], float, float]:
        """The location payload and the x/y used to find the grid."""
        if cat.place == "home" and self.homes:
            bid, storey, unit, x, y = rng.choice(self.homes)
            return {"building": bid, "storey": storey, "unit": unit}, x, y
        if cat.place in ("home", "building") and self.buildings:
            b = rng.choice(self.buildings)
            level = rng.randint(1, max(1, b.storeys)) if cat.name != "elevator" else 1
            return {"building": b.id, "storey": level}, b.centre.x, b.centre.y
        x0, y0, x1, y1 = self.ctx.community.bounds
        x, y = rng.uniform(x0, x1), rng.uniform(y0, y1)
        return {"x": round(x, 1), "y": round(y, 1), "z": 0.0}, x, y

    def _lifecycle(self, iid: str, t0: float) -> list[Publish]:
        rng = self.ctx.rng("incident", iid)
        cat = rng.choices(CATEGORIES, weights=[c.share for c in CATEGORIES])[0]
        location, x, y = self._place(rng, cat)
        grid = self.ctx.community.grid_at(x, y)
        worker = (grid.worker if grid else None) or "w-duty"
        topic = self.ctx.wire.incident(iid)
        if "building" in location:
            home = location.get("unit", location.get("storey"))
            reporter = f"res-{location['building']}-{home}"
        else:
            reporter = f"res-{rng.randrange(10_000, 99_999)}"
        out: list[Publish] = []

        def emit(kind: str, at: float, **fields: Any) -> None:
            eid = f"{iid}:{len(out) + 1}-{kind}"
            payload = wire.incident_event(eid, kind, at, **fields)
            out.append(Publish(at, "app", topic, payload, False, "incident", 0))

        emit(
            "reported",
            t0,
            category=cat.name,
            title=cat.title,
            description=f"{cat.title}（居民随手拍上报）",
            reporter=reporter,
            location=location,
        )
        t = t0
        # Auto-dispatch needs a grid worker; without one a dispatcher steps in.
        if self.dispatcher or grid is None or not grid.worker:
            t += rng.uniform(60.0, 600.0)
            emit("dispatched", t, assignee=worker, note="网格派单")
        if rng.random() < 0.03:
            emit(
                "cancelled",
                t + rng.uniform(300.0, 2400.0),
                note="居民已自行解决",
                reporter=reporter,
            )
            return out
        for round_ in (1, 2):
            respond_s = (8.0 if cat.urgent else 12.0) * 60.0  # median
            t = _working(t + rng.lognormvariate(math.log(respond_s), 0.6), cat.urgent)
            emit("accepted", t, assignee=worker, note="已接单")
            hours = rng.lognormvariate(math.log(cat.resolve_h), 0.7)
            t = _working(t + hours * 3600.0, cat.urgent)
            emit("resolved", t, assignee=worker, note="已处理完毕")
            t = _working(t + rng.lognormvariate(math.log(2.0 * 3600.0), 0.8), False)
            roll = rng.random()
            if round_ == 1 and roll < 0.05:
                emit("reopened", t, reporter=reporter, note="问题仍未解决")
                continue
            if roll < 0.97:
                score = _weighted(rng, SATISFACTION) if round_ == 1 else rng.randint(2, 4)
                note = "满意" if score >= 4 else ("一般" if score == 3 else "不满意")
                emit("closed", t, reporter=reporter, satisfaction=score, note=note)
            break
        return out
