"""Safety devices in homes and lobbies: smoke, water leak, gas, doors.

Rare events are Poisson with rates per device per day (times the feed's
``event_rate``); sensors send a heartbeat and report at once on a change.
"""

from __future__ import annotations

from simulators import climate
from simulators.behaviour import FeedContext, Step
from simulators.model_view import SimDevice

SMOKE_PER_DAY = 1 / 730  # burnt cooking or a real fire, once in two years
LEAK_PER_DAY = 1 / 1000
GAS_PER_DAY = 1 / 2000
DOOR_PROPPED_PER_DAY = 1 / 20  # someone props the entrance door open


class _Rare:
    """Schedules episodes of random length for one device."""

    def __init__(self, ctx: FeedContext, dev: SimDevice, start: float, per_day: float) -> None:
        self.ctx = ctx
        self.rng = ctx.rng("events", dev.id)
        self.per_day = per_day
        self.begin = ctx.next_event(self.rng, start, per_day)
        self.end = self.begin

    def state(self, t: float, low: float, high: float) -> bool:
        """Whether an episode is on at ``t`` (episodes last ``low..high`` s)."""
        while t >= self.end and t >= self.begin:
            if self.end == self.begin:
                self.end = self.begin + self.rng.uniform(low, high)
            if t >= self.end:
                self.begin = self.ctx.next_event(self.rng, self.end, self.per_day)
                self.end = self.begin
        return self.begin <= t < self.end

    def seconds_to_change(self, t: float) -> float:
        return (self.end if self.begin <= t < self.end else self.begin) - t


class Smoke:
    HEARTBEAT = 1800.0

    def __init__(self, dev: SimDevice, ctx: FeedContext, start: float) -> None:
        self.rng = ctx.rng("smoke", dev.id)
        self.rare = _Rare(ctx, dev, start, SMOKE_PER_DAY)
        self.offset = self.rng.gauss(0.0, 0.8)  # this flat is a bit warmer or cooler

    def step(self, t: float) -> Step:
        smoke = self.rare.state(t, 180.0, 900.0)
        temp = climate.indoor_temperature(t) + self.offset + self.rng.gauss(0, 0.15)
        if smoke:
            temp += 8.0 + self.rng.uniform(0, 10)
        # During an episode report every minute; else heartbeat or at the change.
        nxt = 60.0 if smoke else min(self.HEARTBEAT, self.rare.seconds_to_change(t) + 0.01)
        return Step({"smoke": smoke, "temperature": round(temp, 2)}, nxt)


class WaterLeak:
    # Under the 60-minute no-data rule for safety sensors (twin/rules/defaults.py).
    HEARTBEAT = 1800.0

    def __init__(self, dev: SimDevice, ctx: FeedContext, start: float) -> None:
        self.rare = _Rare(ctx, dev, start, LEAK_PER_DAY)

    def step(self, t: float) -> Step:
        # Someone has to come and fix it: one to six hours.
        leak = self.rare.state(t, 3600.0, 6 * 3600.0)
        nxt = 300.0 if leak else min(self.HEARTBEAT, self.rare.seconds_to_change(t) + 0.01)
        return Step({"leak": leak}, nxt)


class Gas:
    INTERVAL = 600.0

    def __init__(self, dev: SimDevice, ctx: FeedContext, start: float) -> None:
        self.rng = ctx.rng("gas", dev.id)
        self.rare = _Rare(ctx, dev, start, GAS_PER_DAY)
        self.peak = 0.0

    def step(self, t: float) -> Step:
        if self.rare.state(t, 600.0, 2400.0):
            self.peak = self.peak or self.rng.uniform(12.0, 45.0)
            lel = self.peak * self.rng.uniform(0.8, 1.1)
            return Step({"gas_lel": round(lel, 1)}, 30.0)
        self.peak = 0.0
        lel = abs(self.rng.gauss(0.4, 0.3))
        return Step(
            {"gas_lel": round(lel, 2)}, min(self.INTERVAL, self.rare.seconds_to_change(t) + 0.01)
        )


class Door:
    """Entrance doors: opened by passing residents; now and then propped open."""

    HEARTBEAT = 900.0
    PEAK_PER_HOUR = 60.0

    def __init__(self, dev: SimDevice, ctx: FeedContext, start: float) -> None:
        self.rng = ctx.rng("door", dev.id)
        self.rare = _Rare(ctx, dev, start, DOOR_PROPPED_PER_DAY)
        self.open_until = 0.0
        self.last_report = -1e18
        self.was_open = False
        self.busy = 4.0 if dev.building is None else 1.0  # community gates are busier

    def _next_opening(self, t: float) -> float:
        per_s = max(self.PEAK_PER_HOUR * self.busy * climate.activity(t), 0.5) / 3600.0
        return self.rng.expovariate(per_s)

    def step(self, t: float) -> Step:
        if self.rare.state(t, 300.0, 1800.0):
            is_open = True
            nxt = self.rare.seconds_to_change(t) + 0.01
        elif t < self.open_until:
            is_open = True
            nxt = self.open_until - t
        else:
            is_open = False
            gap = self._next_opening(t)
            if gap < self.HEARTBEAT:
                self.open_until = t + gap + self.rng.uniform(4.0, 20.0)
            nxt = min(gap, self.HEARTBEAT, self.rare.seconds_to_change(t) + 0.01)
        changed = is_open != self.was_open
        due = t - self.last_report >= self.HEARTBEAT - 1.0
        self.was_open = is_open
        if not (changed or due):
            return Step(None, nxt)
        self.last_report = t
        return Step({"open": is_open}, nxt)
