"""The realistic feed of a whole community as one lazy, time-ordered stream.

Everything here is pure and deterministic: the same model, seed, start and
options give the same actions, whatever the pacing of the shell that
performs them. Each device, gateway and the residents get random generators
of their own (seeded by seed and id), so adding a device changes no other
device's life.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from simulators import wire
from simulators.actions import Action, BadSlot, at_of
from simulators.behaviour import (
    Behaviour,
    FeedContext,
    OutageSchedule,
    Step,
    drive,
    gateway_stream,
    through_gateway,
)
from simulators.behaviour_building import AirQuality, Elevator, Env, Parking, PowerMeter
from simulators.behaviour_home import HomeMeter, Motion, WaterMeter
from simulators.behaviour_safety import Door, Gas, Smoke, WaterLeak
from simulators.behaviour_site import EvCharger, Gate, PvInverter
from simulators.behaviour_wearable import Wearable
from simulators.grid_workers import GridWorkers
from simulators.model_view import SimCommunity, SimDevice
from simulators.residents import IncidentFlow

BEHAVIOURS: dict[str, Callable[[SimDevice, FeedContext, float], Behaviour]] = {
    "smoke": Smoke,
    "water_leak": WaterLeak,
    "gas": Gas,
    "door": Door,
    "elevator": Elevator,
    "env": Env,
    "air_quality": AirQuality,
    "power_meter": PowerMeter,
    "wearable": Wearable,
    "parking": Parking,
    "pv_inverter": PvInverter,
    "ev_charger": EvCharger,
    "gate": Gate,
    "water_meter": WaterMeter,
    "home_meter": HomeMeter,
    "motion": Motion,
}


class Generic:
    """Kinds the simulator does not know: a slow random walk of each metric."""

    def __init__(self, dev: SimDevice, ctx: FeedContext, start: float) -> None:
        self.rng = ctx.rng("generic", dev.id)
        self.metrics = dev.metrics
        self.values = {m: self.rng.uniform(0.0, 100.0) for m in dev.metrics}

    def step(self, t: float) -> Step:
        if not self.metrics:
            return Step(None, 3600.0)
        for m in self.metrics:
            self.values[m] = max(0.0, self.values[m] + self.rng.gauss(0.0, 1.0))
        return Step({m: round(v, 2) for m, v in self.values.items()}, 300.0)


@dataclass(frozen=True, slots=True)
class FeedOptions:
    seed: int = 1
    event_rate: float = 1.0  # multiplies every rare event, outages included
    incidents_per_day: float | None = None  # default: from the number of households
    dispatcher: bool = False  # publish 'dispatched' instead of relying on auto-dispatch
    outages: bool = True  # gateways drop now and then (last will)
    offline: bool = True  # devices go offline now and then
    bad_fraction: float = 0.0  # share of malformed messages mixed in
    kinds: frozenset[str] | None = None  # only these device kinds (None: all)
    incident_history_s: float = 0.0  # residents' reports start this long before `start`


def feed(
    community: SimCommunity,
    w: wire.Wire,
    start: float,
    end: float | None,
    opts: FeedOptions,
    *,
    workers: GridWorkers | None = None,
) -> Iterator[Action]:
    """Every action of the community from ``start`` until ``end`` (simulated epoch s).

    ``workers``: the grid workers' desks, to share with a shell that hands them
    incidents of its own (:mod:`simulators.worker_desk`). With
    ``incident_history_s`` the residents' reports (and their whole closed
    loop) begin that long before ``start``: those first actions lie in the
    past, so the shell publishes them at once.
    """
    ctx = FeedContext(
        wire=w,
        community=community,
        seed=opts.seed,
        event_rate=opts.event_rate,
        offline_per_day=opts.event_rate / 30 if opts.offline else 0.0,
        outage_per_day=opts.event_rate / 15 if opts.outages else 0.0,
    )
    schedules = {
        g.id: OutageSchedule(ctx.rng("outage", g.id), start, ctx.outage_per_day)
        for g in community.gateways()
    }
    streams: list[Iterator[Action]] = [
        gateway_stream(g, ctx, schedules[g.id], start, end) for g in community.gateways()
    ]
    for dev in community.devices:
        if dev.kind == "gateway" or (opts.kinds is not None and dev.kind not in opts.kinds):
            continue
        behaviour = BEHAVIOURS.get(dev.kind, Generic)(dev, ctx, start)
        stream = drive(dev, behaviour, ctx, start, end)
        schedule = schedules.get(dev.gateway)
        streams.append(through_gateway(stream, schedule) if schedule else stream)
    if opts.incidents_per_day != 0:
        flow = IncidentFlow(
            ctx,
            start - max(opts.incident_history_s, 0.0),
            end,
            per_day=opts.incidents_per_day,
            dispatcher=opts.dispatcher,
            workers=workers,
        )
        streams.append(iter(flow))
    merged: Iterator[Action] = heapq.merge(*streams, key=at_of)
    if opts.bad_fraction > 0:
        merged = _mix_bad(merged, ctx, opts.bad_fraction)
    return merged


def _mix_bad(actions: Iterator[Action], ctx: FeedContext, fraction: float) -> Iterator[Action]:
    """After each action, a bad slot with the odds that make ``fraction`` of all bad."""
    if not 0 < fraction < 1:
        raise ValueError("the bad fraction must be between 0 and 1")
    rng = ctx.rng("bad")
    odds = fraction / (1 - fraction)
    counter = itertools.count()
    for action in actions:
        yield action
        # Expected bad slots per action = odds; several are possible at high fractions.
        while rng.random() < odds / (1 + odds):
            yield BadSlot(action.at, next(counter))
