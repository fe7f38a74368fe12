"""A home's day: when its resident wakes, washes, cooks, showers and sleeps, as its
water meter, electricity meter and motion sensor see it.

Each home has habits of its own (seeded by home): whether it cooks lunch
(at a time of its own between 11:06 and 11:30) and supper (17:00-17:30),
when it wakes and sleeps, whether it showers in the morning or the evening.
Each day (seeded by home and day) draws the times from them, so the
three devices of one home tell one consistent story without talking to each
other, and a home's hour-of-day profile is stable enough for the baseline
(``twin.rules.care_baseline``) to know when something is off.

Now and then (:data:`UNWELL_PER_DAY` per home, times the feed's event rate)
the resident is unwell: from some morning moment on, no water, no cooking, no
motion until the next day; a home's daily check (``twin.rules.care``) raises
``care_check`` after its quiet daytime hours.

Meters report every :data:`METER_INTERVAL` s: the cumulative counter and
the mean flow or power of the interval. The motion sensor reports each
detection at once and a heartbeat (no motion) every :data:`MOTION_HEARTBEAT` s.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from simulators import climate
from simulators.behaviour import FeedContext, Step
from simulators.model_view import SimDevice

UNWELL_PER_DAY = 1 / 400
METER_INTERVAL = 300.0
MOTION_HEARTBEAT = 900.0
BASE_KW = 0.08  # fridge, router, standby

# (start, end, litres per minute) and (start, end, kW), epoch seconds.
Span = tuple[float, float, float]


@dataclass(frozen=True, slots=True)
class Habits:
    wake_h: float
    sleep_h: float
    lunch_h: float
    supper_h: float
    cooks_lunch: bool
    cooks_supper: bool
    morning_shower: bool

    @classmethod
    def of(cls, rng: random.Random) -> Habits:
        return cls(
            wake_h=rng.uniform(5.5, 7.5),
            sleep_h=rng.uniform(20.5, 22.5),
            lunch_h=rng.uniform(11.1, 11.5),  # the elderly eat early
            supper_h=rng.uniform(17.0, 17.5),
            cooks_lunch=rng.random() < 0.7,
            cooks_supper=rng.random() < 0.8,
            morning_shower=rng.random() < 0.35,
        )


@dataclass(frozen=True, slots=True)
class HomeDay:
    wake: float
    sleep: float
    water: tuple[Span, ...]
    power: tuple[Span, ...]
    still_from: float  # unwell: no sign of life from then on (inf: a normal day)

    def awake(self, t: float) -> bool:
        return self.wake <= t < self.sleep and t < self.still_from


def plan_day(ctx: FeedContext, home: str, day: int) -> HomeDay:
    """The day ``day`` (local days since the epoch) of ``home``; the same for every
    device of the home."""
    habits = Habits.of(ctx.rng("home-habits", home))
    rng = ctx.rng("home-day", home, day)
    midnight = day * climate.DAY - climate.UTC_OFFSET_S

    def at(hour: float, spread: float) -> float:
        return midnight + (hour + rng.gauss(0.0, spread)) * 3600.0

    wake, sleep = at(habits.wake_h, 0.25), at(habits.sleep_h, 0.3)
    water: list[Span] = [(wake + 300, wake + 600, 6.0)]  # washing up
    power: list[Span] = [(wake + 600, wake + 1500, 0.8)]  # kettle, rice cooker
    t = wake + 1800
    while t < sleep:  # the toilet, every couple of hours
        water.append((t, t + 40, 9.0))
        t += rng.uniform(1.5, 3.0) * 3600.0
    meals = [(habits.lunch_h, habits.cooks_lunch), (habits.supper_h, habits.cooks_supper)]
    for hour, cooks in meals:
        if cooks and rng.random() < 0.92:
            start = at(hour, 0.08)
            water.append((start, start + 900, 4.0))
            water.append((start + 4200, start + 4800, 5.0))  # the dishes, after eating
            power.append((start, start + 2400, 1.6))  # induction hob
    shower = wake + 900 if habits.morning_shower else sleep - 3600
    water.append((shower, shower + 480, 8.0))
    power.append((shower - 900, shower + 480, 2.0))  # water heater
    power.append((max(wake, at(18.5, 0.3)), sleep, 0.25))  # lights and TV
    still = math.inf
    if rng.random() < UNWELL_PER_DAY * ctx.event_rate:
        still = at(rng.uniform(8.0, 12.0), 0.0)
    cut = [(a, min(b, still), v) for a, b, v in water if a < still]
    used = [(a, min(b, still), v) for a, b, v in power if a < still]
    return HomeDay(wake, sleep, tuple(cut), tuple(used), still)


def _integral(spans: tuple[Span, ...], a: float, b: float) -> float:
    """The sum of rate x seconds of the spans' overlap with [a, b)."""
    return sum(max(0.0, min(b, e) - max(a, s)) * v for s, e, v in spans)


class _Home:
    def __init__(self, dev: SimDevice, ctx: FeedContext) -> None:
        self.ctx = ctx
        self.home = f"{dev.building}/{dev.unit or dev.storey}"
        self._days: dict[int, HomeDay] = {}

    def day(self, t: float) -> HomeDay:
        d = climate.local_day(t)
        if d not in self._days:
            self._days = {d: plan_day(self.ctx, self.home, d)}  # keep one day
        return self._days[d]

    def integral(self, kind: str, a: float, b: float) -> float:
        """Rate x seconds of the water (L/min) or power (kW) spans over [a, b)."""
        total, t = 0.0, a
        while t < b:
            day = self.day(t)
            end = min(b, (climate.local_day(t) + 1) * climate.DAY - climate.UTC_OFFSET_S)
            total += _integral(day.water if kind == "water" else day.power, t, end)
            t = end
        return total


class WaterMeter(_Home):
    def __init__(self, dev: SimDevice, ctx: FeedContext, start: float) -> None:
        super().__init__(dev, ctx)
        self.rng = ctx.rng("water-meter", dev.id)
        self.m3 = self.rng.uniform(50.0, 900.0)  # years of use before we look
        self.last_t = start

    def step(self, t: float) -> Step:
        litres = self.integral("water", self.last_t, t) / 60.0
        self.m3 += litres / 1000.0
        flow = litres / max((t - self.last_t) / 60.0, 1e-9)
        self.last_t = t
        values = {"water_m3": round(self.m3, 4), "flow_lpm": round(flow, 2)}
        return Step(values, METER_INTERVAL)


class HomeMeter(_Home):
    def __init__(self, dev: SimDevice, ctx: FeedContext, start: float) -> None:
        super().__init__(dev, ctx)
        self.rng = ctx.rng("home-meter", dev.id)
        self.kwh = self.rng.uniform(2_000.0, 30_000.0)
        self.last_t = start

    def step(self, t: float) -> Step:
        dt = max(t - self.last_t, 1e-9)
        # Air conditioning and heaters follow the weather while someone is up.
        temp = climate.outdoor_temperature(t)
        climate_kw = 0.0
        if self.day(t).awake(t):
            climate_kw = max(0.0, temp - 26.0) * 0.12 + max(0.0, 10.0 - temp) * 0.06
        kwh = (self.integral("power", self.last_t, t) + (BASE_KW + climate_kw) * dt) / 3600.0
        self.kwh += kwh
        self.last_t = t
        values = {"energy_kwh": round(self.kwh, 3), "power_kw": round(kwh * 3600.0 / dt, 3)}
        return Step(values, METER_INTERVAL)


class Motion(_Home):
    def __init__(self, dev: SimDevice, ctx: FeedContext, start: float) -> None:
        super().__init__(dev, ctx)
        self.rng = ctx.rng("motion", dev.id)
        self.next_beat = start

    def step(self, t: float) -> Step:
        day = self.day(t)
        # About one detection every ten minutes while the resident is up and about.
        gap = self.rng.expovariate(1 / 600.0)
        if day.awake(t):
            return Step({"motion": True}, min(gap, MOTION_HEARTBEAT))
        if t >= self.next_beat:
            self.next_beat = t + MOTION_HEARTBEAT
            return Step({"motion": False}, min(MOTION_HEARTBEAT, self._until_awake(t, day)))
        return Step(None, max(1.0, min(self.next_beat - t, self._until_awake(t, day))))

    @staticmethod
    def _until_awake(t: float, day: HomeDay) -> float:
        if t < day.wake and t < day.still_from:
            return day.wake - t + 1.0
        return MOTION_HEARTBEAT
