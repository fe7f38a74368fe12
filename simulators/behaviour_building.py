"""Building services and the site: lifts, lobby climate, air, power, parking."""

from __future__ import annotations

import math
import random

from simulators import climate
from simulators.behaviour import FeedContext, Step
from simulators.behaviour_safety import _Rare
from simulators.model_view import SimDevice

LIFT_FAULT_PER_DAY = 1 / 30  # door faults, trapped passengers, stops between floors
PERSON_KG = 68.0


def _poisson(rng: random.Random, lam: float) -> int:
    """Knuth's method: fine for the small means of one reporting interval."""
    if lam > 30:
        return max(0, round(rng.gauss(lam, lam**0.5)))
    n, p, limit = 0, rng.random(), math.exp(-lam)
    while p > limit:
        n += 1
        p *= rng.random()
    return n


class Elevator:
    INTERVAL = 60.0

    def __init__(self, dev: SimDevice, ctx: FeedContext, start: float) -> None:
        self.rng = ctx.rng("lift", dev.id)
        self.rare = _Rare(ctx, dev, start, LIFT_FAULT_PER_DAY)
        building = ctx.community.buildings.get(dev.building or "")
        storeys = building.storeys if building else 10
        self.per_minute = 2.2 * min(storeys, 33) / 25.0
        # A lift's counter has been running for years before we look at it.
        self.trips = self.rng.randint(20_000, 400_000)

    def step(self, t: float) -> Step:
        if self.rare.state(t, 1800.0, 3 * 3600.0):
            door_open = self.rng.random() < 0.5
            return Step(
                {"fault": True, "door_open": door_open, "trips": self.trips, "load_kg": 0.0}, 60.0
            )
        lam = self.per_minute * climate.activity(t) * self.INTERVAL / 60.0
        self.trips += _poisson(self.rng, lam)
        busy = min(0.9, lam / 3.0)
        riding = self.rng.random() < busy
        load = PERSON_KG * self.rng.randint(1, 6) + self.rng.gauss(0, 12) if riding else 0.0
        door_open = (not riding) and self.rng.random() < 0.1 + 0.3 * busy
        values = {
            "fault": False,
            "door_open": door_open,
            "trips": self.trips,
            "load_kg": round(max(load, 0.0), 1),
        }
        return Step(values, self.INTERVAL)


class Env:
    INTERVAL = 300.0

    def __init__(self, dev: SimDevice, ctx: FeedContext, start: float) -> None:
        self.rng = ctx.rng("env", dev.id)
        self.indoor = dev.building is not None

    def step(self, t: float) -> Step:
        out = climate.outdoor_temperature(t)
        temp = 0.7 * out + 0.3 * 20.0 if self.indoor else out
        rh = climate.outdoor_humidity(t) - (6.0 if self.indoor else 0.0)
        values = {
            "temperature": round(temp + self.rng.gauss(0, 0.2), 2),
            "humidity": round(min(99.0, max(20.0, rh + self.rng.gauss(0, 1.0))), 1),
        }
        return Step(values, self.INTERVAL)


class AirQuality:
    INTERVAL = 300.0

    def __init__(self, dev: SimDevice, ctx: FeedContext, start: float) -> None:
        self.rng = ctx.rng("aq", dev.id)
        self.indoor = dev.building is not None
        self.haze = 1.0  # slowly drifting regional pollution factor

    def step(self, t: float) -> Step:
        self.haze = min(3.0, max(0.4, self.haze * math.exp(self.rng.gauss(0, 0.03))))
        pm = climate.background_pm25(t) * self.haze * (0.75 if self.indoor else 1.0)
        if self.indoor:
            co2 = 460.0 + 380.0 * climate.activity(t)
        else:
            co2 = 420.0 + 25.0 * (1.0 - climate.activity(t))
        values = {
            "pm25": round(max(1.0, pm + self.rng.gauss(0, 2.0)), 1),
            "co2": round(co2 + self.rng.gauss(0, 12.0)),
        }
        return Step(values, self.INTERVAL)


class PowerMeter:
    INTERVAL = 60.0

    def __init__(self, dev: SimDevice, ctx: FeedContext, start: float) -> None:
        self.rng = ctx.rng("power", dev.id)
        building = ctx.community.buildings.get(dev.building or "")
        self.homes = len(building.units) if building else 0
        self.public = building is None
        self.energy = self.rng.uniform(2e5, 2e6) if self.homes else self.rng.uniform(1e4, 1e5)
        self.last_t: float | None = None

    def _kw(self, t: float) -> float:
        h = climate.local_hour(t)
        if self.public:  # street lights and pumps
            return 9.0 if (h < 6.0 or h > 18.0) else 1.2
        if not self.homes:  # the canteen and community centre
            meals = 25.0 * math.exp(-0.5 * ((h - 11.3) / 1.0) ** 2)
            meals += 15.0 * math.exp(-0.5 * ((h - 17.3) / 0.8) ** 2)
            return 4.0 + (meals + 8.0 if 6.5 < h < 19.5 else 0.0)
        common = 6.0 + 0.02 * self.homes * (1.0 if (h < 6.0 or h > 18.0) else 0.3)
        return self.homes * climate.household_power_kw(t) + common

    def step(self, t: float) -> Step:
        kw = max(0.1, self._kw(t) * (1.0 + self.rng.gauss(0, 0.03)))
        if self.last_t is not None:
            self.energy += kw * (t - self.last_t) / 3600.0
        self.last_t = t
        return Step({"power_kw": round(kw, 2), "energy_kwh": round(self.energy, 2)}, self.INTERVAL)


class Parking:
    INTERVAL = 300.0

    def __init__(self, dev: SimDevice, ctx: FeedContext, start: float) -> None:
        self.rng = ctx.rng("parking", dev.id)
        self.capacity = dev.capacity or 80
        self.bias = self.rng.uniform(-0.06, 0.04)

    def step(self, t: float) -> Step:
        share = climate.parking_occupancy(t) + self.bias + self.rng.gauss(0, 0.015)
        taken = min(self.capacity, max(0, round(share * self.capacity)))
        values = {"occupancy": round(taken / self.capacity, 3), "occupied_spaces": taken}
        return Step(values, self.INTERVAL)
