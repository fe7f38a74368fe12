"""Low-carbon and traffic devices: rooftop PV, EV chargers and vehicle gates.

All three report cumulative counters (``energy_kwh``, ``export_kwh``,
``sessions``, ``entries``, ``exits``), as real ones do; now and then one
restarts its counter from zero (a firmware update or a swapped unit), which
the scene figures must survive (``twin/scenes/counters.py``).
"""

from __future__ import annotations

import math

from simulators import climate
from simulators.behaviour import DAY, FeedContext, Step
from simulators.model_view import SimDevice

# A counter restart per device about every 60 days at event_rate 1.
RESTARTS_PER_DAY = 1 / 60


def _bump(h: float, centre: float, width: float) -> float:
    """A smooth bump of height 1 around ``centre`` o'clock."""
    return math.exp(-0.5 * ((h - centre) / width) ** 2)


def solar_share(t: float) -> float:
    """Clear-sky PV output as a share of peak, 0..1, in Hangzhou (UTC+8).

    Days are about 14 h long in July and 10 h in January; output follows the
    sun's height over the day, and summer noons are stronger than winter ones.

    >>> solar_share(1784000000.0) > 0.8  # 11:33 in July
    True
    >>> solar_share(1784000000.0 + 12 * 3600)  # 23:33
    0.0
    """
    daylight = 12.0 + 2.0 * climate.season(t)
    since_sunrise = climate.local_hour(t) - (12.0 - daylight / 2)
    if not 0.0 < since_sunrise < daylight:
        return 0.0
    return math.sin(math.pi * since_sunrise / daylight) * (0.8 + 0.2 * climate.season(t))


class PvInverter:
    """A building's rooftop array: what it generates, and what goes back to the grid.

    Peak power (kWp) is the device's ``capacity`` or 30. Each day has its own
    cloudiness. The building uses most of its generation; the export share
    is highest at noon, when homes draw least.
    """

    INTERVAL = 120.0

    def __init__(self, dev: SimDevice, ctx: FeedContext, start: float) -> None:
        self.ctx = ctx
        self.dev = dev
        self.rng = ctx.rng("pv", dev.id)
        self.peak_kw = float(dev.capacity or 30)
        self.energy = self.rng.uniform(1e4, 8e4)
        self.export = self.energy * self.rng.uniform(0.2, 0.35)
        self.last_t: float | None = None
        self.restart_at = ctx.next_event(self.rng, start, RESTARTS_PER_DAY)

    def _clouds(self, t: float) -> float:
        day = self.ctx.rng("pv-sky", self.dev.id, climate.local_day(t))
        return day.uniform(0.35, 1.0)

    def step(self, t: float) -> Step:
        kw = self.peak_kw * solar_share(t) * self._clouds(t) * (1 + self.rng.gauss(0, 0.03))
        kw = max(0.0, kw)
        if self.last_t is not None:
            kwh = kw * (t - self.last_t) / 3600.0
            self.energy += kwh
            self.export += kwh * (0.15 + 0.35 * _bump(climate.local_hour(t), 12.5, 2.0))
        self.last_t = t
        if t >= self.restart_at:
            self.energy, self.export = 0.0, 0.0
            self.restart_at = self.ctx.next_event(self.rng, t, RESTARTS_PER_DAY)
        values = {
            "power_kw": round(kw, 2),
            "energy_kwh": round(self.energy, 3),
            "export_kwh": round(self.export, 3),
        }
        return Step(values, self.INTERVAL)


def charging_demand(t: float) -> float:
    """Vehicles plugging in per hour at one charger: after work and at night.

    >>> charging_demand(1784000000.0 + 7.5 * 3600) > charging_demand(1784000000.0)  # 19:03 > 11:33
    True
    """
    h = climate.local_hour(t)
    return 0.05 + 0.45 * _bump(h, 19.0, 1.8) + 0.12 * _bump(h, 12.5, 1.5)


class EvCharger:
    """A 7 kW AC charger: sessions of 1-6 h arriving with the evening return."""

    IDLE_INTERVAL = 300.0
    BUSY_INTERVAL = 60.0
    POWER_KW = 7.0

    def __init__(self, dev: SimDevice, ctx: FeedContext, start: float) -> None:
        self.ctx = ctx
        self.rng = ctx.rng("ev", dev.id)
        self.sessions = float(self.rng.randint(50, 900))
        self.energy = self.sessions * self.rng.uniform(15.0, 25.0)
        self.busy_until = 0.0
        self.last_t: float | None = None
        self.restart_at = ctx.next_event(self.rng, start, RESTARTS_PER_DAY)

    def step(self, t: float) -> Step:
        prev = self.last_t if self.last_t is not None else t
        self.last_t = t
        charging = t < self.busy_until
        if charging:
            kw = self.POWER_KW * (1 + self.rng.gauss(0, 0.02))
            self.energy += kw * (t - prev) / 3600.0
        else:
            kw = 0.0
            # Did a vehicle plug in since the last look?
            p = 1 - math.exp(-charging_demand(t) * (t - prev) / 3600.0)
            if self.rng.random() < p:
                self.sessions += 1
                self.busy_until = t + self.rng.uniform(3600.0, 6 * 3600.0)
                charging, kw = True, self.POWER_KW
        if t >= self.restart_at:
            self.sessions, self.energy = 0.0, 0.0
            self.restart_at = self.ctx.next_event(self.rng, t, RESTARTS_PER_DAY)
        values = {
            "charging": charging,
            "power_kw": round(kw, 2),
            "energy_kwh": round(self.energy, 3),
            "sessions": self.sessions,
        }
        return Step(values, self.BUSY_INTERVAL if charging else self.IDLE_INTERVAL)


def vehicle_flow(t: float, spaces: float) -> tuple[float, float]:
    """Vehicles in and out per hour: residents following parking occupancy, plus visitors.

    >>> inn, out = vehicle_flow(1783900800.0 + 0.5 * 3600, 400)  # 08:30 local, a Monday
    >>> out > inn
    True
    """
    d = (climate.parking_occupancy(t + 900.0) - climate.parking_occupancy(t - 900.0)) * 2.0
    visitors = 6.0 + 20.0 * climate.activity(t)
    return visitors + max(0.0, d) * spaces, visitors + max(0.0, -d) * spaces


class Gate:
    """A vehicle barrier with cumulative entry and exit counts.

    ``capacity`` is the number of residents' spaces it serves (default 200).
    """

    INTERVAL = 60.0

    def __init__(self, dev: SimDevice, ctx: FeedContext, start: float) -> None:
        self.ctx = ctx
        self.rng = ctx.rng("gate", dev.id)
        self.spaces = float(dev.capacity or 200)
        self.entries = float(self.rng.randint(10_000, 90_000))
        self.exits = self.entries - self.rng.randint(0, 50)
        self.last_t: float | None = None
        self.restart_at = ctx.next_event(self.rng, start, RESTARTS_PER_DAY)

    def _arrivals(self, per_hour: float, seconds: float) -> int:
        """Poisson count by exponential gaps (rates here are a few per minute at most)."""
        n, clock, rate = 0, 0.0, per_hour / 3600.0
        if rate <= 0:
            return 0
        while True:
            clock += self.rng.expovariate(rate)
            if clock > seconds:
                return n
            n += 1

    def step(self, t: float) -> Step:
        seconds = min(t - self.last_t, DAY) if self.last_t is not None else 0.0
        self.last_t = t
        inn, out = vehicle_flow(t, self.spaces)
        self.entries += self._arrivals(inn, seconds)
        self.exits += self._arrivals(out, seconds)
        if t >= self.restart_at:
            self.entries, self.exits = 0.0, 0.0
            self.restart_at = self.ctx.next_event(self.rng, t, RESTARTS_PER_DAY)
        return Step({"entries": self.entries, "exits": self.exits}, self.INTERVAL)
