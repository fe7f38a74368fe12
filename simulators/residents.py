"""Residents report problems, grid workers handle them, residents close the loop.

Reports arrive as a Poisson process following the residents' daily rhythm
(about 3.5 per 1,000 households per day by default), by category with its
own share, place (a home, a building, or a spot outdoors) and time to
resolve. Each report is dispatched to the grid worker responsible for the
spot — by the ingestor's auto-dispatch (default) or by a simulated
dispatcher — and the worker's plan (:mod:`simulators.grid_workers`: accept,
resolve, the resident's closure with a satisfaction score or a reopening)
follows; now and then the resident cancels early instead. Some reports come
in bursts: a lift, leak or lighting fault brings a few neighbours' reports
of the same thing within half an hour.
"""

from __future__ import annotations

import heapq
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from simulators import climate, wire
from simulators.actions import Publish
from simulators.behaviour import FeedContext
from simulators.grid_workers import RESPOND_S, GridWorkers, Job

DAY = 86400.0
REPORTS_PER_1000_HOMES_PER_DAY = 3.5
BURSTY = frozenset({"elevator", "water_leak", "lighting"})
BURST_SHARE = 0.25  # of bursty reports that neighbours report too (1-4 more)


@dataclass(frozen=True, slots=True)
class Category:
    name: str
    share: float
    title: str
    place: str  # "home", "building" or "outdoors"


CATEGORIES: tuple[Category, ...] = (
    Category("noise", 0.18, "楼上噪音扰民", "home"),
    Category("garbage", 0.16, "垃圾未及时清运", "outdoors"),
    Category("parking", 0.14, "车辆违规停放占用消防通道", "outdoors"),
    Category("water_leak", 0.10, "天花板渗水", "home"),
    Category("elevator", 0.08, "电梯故障停运", "building"),
    Category("lighting", 0.08, "楼道灯不亮", "building"),
    Category("greening", 0.06, "绿化带杂草需修剪", "outdoors"),
    Category("pets", 0.06, "不文明养犬", "outdoors"),
    Category("security", 0.05, "单元门禁损坏", "building"),
    Category("facade", 0.04, "外墙瓷砖脱落隐患", "building"),
    Category("other", 0.05, "其他问题", "outdoors"),
)


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
        workers: GridWorkers | None = None,
    ) -> None:
        self.ctx, self.start, self.end = ctx, start, end
        self.workers = workers or GridWorkers(ctx.seed)
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
            iid = f"{self.prefix}-{n:05d}"
            first, cat, location, xy = self._lifecycle(iid, t)
            reports = [first]
            if cat.name in BURSTY and location.get("building"):
                rng = self.ctx.rng("burst", iid)
                if rng.random() < BURST_SHARE:
                    for k in range(1, rng.randint(2, 5)):
                        at = t + rng.uniform(120.0, 1800.0)
                        reports.append(self._lifecycle(f"{iid}b{k}", at, (cat, location, xy))[0])
            for p in (p for lifecycle in reports for p in lifecycle):
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

    def _lifecycle(
        self,
        iid: str,
        t0: float,
        like: tuple[Category, dict[str, Any], tuple[float, float]] | None = None,
    ) -> tuple[list[Publish], Category, dict[str, Any], tuple[float, float]]:
        """A report's events; ``like``: a neighbour's report of the same fault."""
        rng = self.ctx.rng("incident", iid)
        cat = rng.choices(CATEGORIES, weights=[c.share for c in CATEGORIES])[0]
        location, x, y = self._place(rng, cat)
        if like is not None:
            cat, location, (x, y) = like
            if "unit" in location:  # another home of the building
                homes = [h for h in self.homes if h[0] == location["building"]]
                bid, storey, unit, _, _ = rng.choice(homes)
                location = {"building": bid, "storey": storey, "unit": unit}
        grid = self.ctx.community.grid_at(x, y)
        worker = (grid.worker if grid else None) or "w-duty"
        topic = self.ctx.wire.incident(iid)
        if "building" in location:
            home = location.get("unit", location.get("storey"))
            reporter = f"res-{location['building']}-{home}"
            if like is not None and "unit" not in location:
                reporter = f"res-{rng.randrange(10_000, 99_999)}"
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
        self.workers.planned.add(iid)  # before anything can see it: never planned twice
        t = t0
        # Auto-dispatch needs a grid worker; without one a dispatcher steps in.
        if self.dispatcher or grid is None or not grid.worker:
            t += rng.uniform(60.0, 600.0)
            emit("dispatched", t, assignee=worker, note="网格派单")
        job = Job(iid, cat.name, "normal", t0, worker, "dispatched", t, reporter)
        if rng.random() < 0.03:
            # Early, before the worker has had to answer (else it would count as late).
            respond_s = RESPOND_S["critical" if job.critical else "ordinary"]
            emit(
                "cancelled",
                t + rng.uniform(60.0, 0.5 * respond_s),
                note="居民已自行解决",
                reporter=reporter,
            )
            return out, cat, location, (x, y)
        for step in self.workers.plan(job):
            emit(step.type, step.at, **step.fields)
        return out, cat, location, (x, y)
