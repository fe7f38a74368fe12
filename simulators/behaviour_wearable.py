"""Wearables of elderly residents: heart rate, battery, position, falls and SOS.

Each day a resident may take a morning walk in the garden, and often walks to
the community canteen (长者食堂) for lunch and sometimes for supper; the
rest of the day the watch is at home. Positions are local metres (``pos``
``{x, y, z}``): at home on the home storey, at ground level outdoors.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from simulators import climate
from simulators.behaviour import FeedContext, Step
from simulators.model_view import Point3, SimDevice

FALL_PER_DAY = 1 / 200
SOS_PER_DAY = 1 / 300
FEVER_PER_DAY = 1 / 150
WALK_SPEED = 0.7  # m/s, an elderly pace
AT_REST_INTERVAL = 120.0
WALKING_INTERVAL = 30.0


@dataclass(frozen=True, slots=True)
class Outing:
    leave: float  # epoch s
    arrive: float
    depart: float
    back: float
    to: Point3

    def where(self, t: float, home: Point3, home_ground: Point3) -> tuple[Point3, bool] | None:
        """Position at ``t`` and whether walking, or None when not on this outing."""
        if t < self.leave or t >= self.back:
            return None
        if t < self.arrive:
            return _between(
                home_ground, self.to, (t - self.leave) / (self.arrive - self.leave)
            ), True
        if t < self.depart:
            return self.to, False
        return _between(self.to, home_ground, (t - self.depart) / (self.back - self.depart)), True


def _between(a: Point3, b: Point3, f: float) -> Point3:
    f = min(1.0, max(0.0, f))
    return Point3(a.x + (b.x - a.x) * f, a.y + (b.y - a.y) * f, a.z + (b.z - a.z) * f)


class Wearable:
    def __init__(self, dev: SimDevice, ctx: FeedContext, start: float) -> None:
        self.dev, self.ctx = dev, ctx
        self.rng = ctx.rng("wearable", dev.id)
        self.resting = self.rng.uniform(62.0, 78.0)
        self.battery = self.rng.uniform(45.0, 100.0)
        self.last_t: float | None = None
        self.home = dev.home
        self.ground = Point3(dev.home.x, dev.home.y, 0.0)
        x0, y0, x1, y1 = ctx.community.bounds
        self.garden = Point3((x0 + x1) / 2 + self.rng.uniform(-20, 20), (y0 + y1) / 2, 0.0)
        self.day = -1
        self.outings: list[Outing] = []
        events = ctx.rng("wearable-events", dev.id)
        self.events = events
        self.next_fall = ctx.next_event(events, start, FALL_PER_DAY)
        self.next_sos = ctx.next_event(events, start, SOS_PER_DAY)

    def _plan(self, t: float) -> None:
        day = climate.local_day(t)
        if day == self.day:
            return
        self.day = day
        rng = self.ctx.rng("wearable-day", self.dev.id, day)
        midnight = day * climate.DAY - climate.UTC_OFFSET_S
        canteen = self.ctx.community.canteen
        plans = (
            (6.5, 0.4, self.garden, 1800, 3600),  # morning walk in the garden
            (10.9, 0.7, canteen, 2400, 4800),  # lunch at the canteen
            (16.9, 0.35, canteen, 1800, 3000),  # supper
        )
        self.outings = []
        for hour, chance, to, stay_lo, stay_hi in plans:
            if rng.random() >= chance:
                continue
            walk = math.dist((self.ground.x, self.ground.y), (to.x, to.y)) / WALK_SPEED + 60.0
            leave = midnight + (hour + rng.uniform(0.0, 0.5)) * 3600.0
            arrive = leave + walk
            depart = arrive + rng.uniform(stay_lo, stay_hi)
            spot = Point3(to.x + rng.uniform(-6, 6), to.y + rng.uniform(-4, 4), to.z)
            self.outings.append(Outing(leave, arrive, depart, depart + walk, spot))

    def _where(self, t: float) -> tuple[Point3, bool]:
        self._plan(t)
        for outing in self.outings:
            found = outing.where(t, self.home, self.ground)
            if found is not None:
                return found
        return self.home, False

    def _battery(self, t: float, walking: bool, home: bool) -> float:
        if self.last_t is not None:
            hours = (t - self.last_t) / 3600.0
            h = climate.local_hour(t)
            if home and 21.0 <= h < 23.5 and self.battery < 99.0:
                self.battery = min(100.0, self.battery + 35.0 * hours)  # charging overnight
            else:
                self.battery = max(0.0, self.battery - (3.0 if walking else 1.1) * hours)
        self.last_t = t
        return round(self.battery, 1)

    def _body_temperature(self, t: float) -> float:
        """Lowest before dawn, highest late afternoon; a fever now and then."""
        day = climate.local_day(t)
        fever = self.ctx.rng("wearable-fever", self.dev.id, day).random()
        h = climate.local_hour(t)
        temp = 36.4 + 0.3 * math.sin(2 * math.pi * (h - 10.0) / 24) + self.rng.gauss(0, 0.08)
        if fever < FEVER_PER_DAY * self.ctx.event_rate and h >= 9.0:
            temp += 1.9
        return round(temp, 1)

    def step(self, t: float) -> Step:
        pos, walking = self._where(t)
        fall = t >= self.next_fall
        sos = t >= self.next_sos
        if fall:
            self.next_fall = self.ctx.next_event(self.events, t, FALL_PER_DAY)
        if sos:
            self.next_sos = self.ctx.next_event(self.events, t, SOS_PER_DAY)
        h = climate.local_hour(t)
        hr = self.resting + (22.0 if walking else 0.0) - (7.0 if h < 6.0 else 0.0)
        hr += (30.0 if fall or sos else 0.0) + self.rng.gauss(0, 2.5)
        values = {
            "heart_rate": round(hr),
            "fall": fall,
            "sos": sos,
            "battery": self._battery(t, walking, pos is self.home),
            "body_temperature": self._body_temperature(t),
        }
        interval = WALKING_INTERVAL if walking else AT_REST_INTERVAL
        nxt = min(interval, self.next_fall - t, self.next_sos - t)
        return Step(values, max(nxt, 0.5), pos.as_dict())
