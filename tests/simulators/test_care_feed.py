"""The simulated homes against the twin's care rules, offline: a normal day passes the
daily check, an unwell day raises care_check, and a home's cooking hour is a habit the
baseline knows."""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pytest

from simulators import climate
from simulators.behaviour import FeedContext
from simulators.behaviour_home import Habits, HomeMeter, Motion, WaterMeter, plan_day
from simulators.community_gen import CommunitySpec, generate_community
from simulators.model_view import SimCommunity, SimDevice, view_of
from simulators.wire import Wire
from twin.model.households import household_from_json
from twin.rules.care import CareConfig, CareDevice, CareEngine, CareHome
from twin.rules.care_baseline import MIN_SCALE, hour_profile, hourly_usage, robust_scores
from twin.rules.readings import ReadingBatch

DAY0 = 20_400  # a local day number (2025-11-08)


@pytest.fixture(scope="module")
def model() -> dict[str, Any]:
    return generate_community(CommunitySpec(buildings=4, seed=3))


@pytest.fixture(scope="module")
def community(model: dict[str, Any]) -> SimCommunity:
    return view_of(model)


def checked_homes(model: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (b["id"], u["id"])
        for b in model["buildings"]
        for u in b.get("units", [])
        if household_from_json(u["household"], "u").needs_daily_check
    ]


def devices_of(community: SimCommunity, home: tuple[str, str]) -> dict[str, SimDevice]:
    return {d.kind: d for d in community.devices if (d.building, d.unit) == home}


def midnight(day: int) -> float:
    return day * climate.DAY - climate.UTC_OFFSET_S


def run(behaviour: Any, start: float, end: float) -> list[tuple[float, dict[str, Any]]]:
    out, t = [], start
    while t < end:
        s = behaviour.step(t)
        if s.values is not None:
            out.append((t, s.values))
        t += max(s.next_in, 0.001)
    return out


def test_every_living_alone_elder_has_water_and_electricity_meters(
    model: dict[str, Any], community: SimCommunity
) -> None:
    homes = checked_homes(model)
    assert homes
    for home in homes:
        kinds = set(devices_of(community, home))
        assert {"water_meter", "home_meter"} <= kinds


def _engine_day(
    ctx: FeedContext, home: tuple[str, str], devs: dict[str, SimDevice], day: int
) -> list[float]:
    """When the daily check raises over one simulated day of the home's devices."""
    keys = {"water_meter": 1, "motion": 2}
    care = [CareDevice(keys[k], 0, k) for k in keys if k in devs]
    engine = CareEngine(
        CareConfig(),
        [CareHome("lanting", home[0], home[1], anchor="x")],
        care,
        {10: "water_m3", 11: "flow_lpm", 12: "motion"},
    )
    start = midnight(day)
    rows = []
    for kind, key in keys.items():
        if kind not in devs:
            continue
        cls = WaterMeter if kind == "water_meter" else Motion
        for t, values in run(cls(devs[kind], ctx, start), start, start + climate.DAY):
            for name, v in values.items():
                metric = {"water_m3": 10, "flow_lpm": 11, "motion": 12}[name]
                rows.append((key, metric, t, float(v)))
    rows.sort(key=lambda r: r[2])
    raised: list[float] = []
    for i in range(0, len(rows), 50):  # batches, with a tick after each
        engine.apply(engine.evaluate(ReadingBatch.from_rows(rows[i : i + 50])))
        ev = engine.tick(rows[min(i + 49, len(rows) - 1)][2])
        raised += [e.ts for e in ev.events]
        engine.apply(ev)
    return raised


def test_normal_days_pass_the_daily_check_and_an_unwell_day_raises_it(
    model: dict[str, Any], community: SimCommunity
) -> None:
    ctx = FeedContext(Wire("commtwin/v1", "lanting"), community, seed=3, event_rate=40.0)
    home = checked_homes(model)[0]
    devs = devices_of(community, home)
    name = f"{home[0]}/{home[1]}"
    days = [plan_day(ctx, name, d) for d in range(DAY0, DAY0 + 60)]
    normal = next(DAY0 + i for i, d in enumerate(days) if math.isinf(d.still_from))
    unwell = next(DAY0 + i for i, d in enumerate(days) if not math.isinf(d.still_from))
    assert _engine_day(ctx, home, devs, normal) == []
    [raised] = _engine_day(ctx, home, devs, unwell)
    still = days[unwell - DAY0].still_from
    # Four daytime hours after the last sign of life (07:00-21:00 counts).
    assert still < raised <= still + 4 * 3600 + 10 * 3600


def test_the_cooking_hour_is_a_habit_the_baseline_knows(
    model: dict[str, Any], community: SimCommunity
) -> None:
    ctx = FeedContext(Wire("commtwin/v1", "lanting"), community, seed=3, event_rate=0.0)
    meters = [d for d in community.devices if d.kind == "water_meter" and d.unit]
    start, days = midnight(DAY0), 15
    hours = days * 24
    levels = np.full((len(meters), hours), np.nan)
    for i, dev in enumerate(meters):
        for t, values in run(WaterMeter(dev, ctx, start), start, start + days * climate.DAY):
            levels[i, int((t - start) // 3600)] = values["water_m3"]  # the hour's last reading
    rows, cols = np.nonzero(~np.isnan(levels))
    usage = hourly_usage(rows, cols, levels[rows, cols], levels.shape)
    assert (np.nan_to_num(usage) >= 0).all()
    # Today at 11:00 (local) every home skips cooking: a habit-cook is flagged, others not.
    target = (days - 1) * 24 + 11
    cooks = np.array([_cooks_lunch(ctx, d) for d in meters])
    value, history = hour_profile(usage, target)
    skipped = np.where(cooks, 0.0, value)  # what a skipped lunch leaves at 11:00
    z = robust_scores(skipped, history, min_scale=MIN_SCALE["water_m3"]).z
    assert cooks.any()
    assert (~cooks).any()
    assert (np.abs(z[~cooks]) < 3.5).mean() >= 0.9
    assert (z[cooks] <= -3.5).mean() >= 0.6


def _cooks_lunch(ctx: FeedContext, dev: SimDevice) -> bool:
    return Habits.of(ctx.rng("home-habits", f"{dev.building}/{dev.unit}")).cooks_lunch


def test_meters_count_up_and_report_mean_flow_and_power(community: SimCommunity) -> None:
    ctx = FeedContext(Wire("commtwin/v1", "lanting"), community, seed=3)
    dev = next(d for d in community.devices if d.kind == "home_meter")
    start = midnight(DAY0)
    readings = run(HomeMeter(dev, ctx, start), start, start + climate.DAY)
    energy = [v["energy_kwh"] for _, v in readings]
    assert all(b >= a for a, b in itertools.pairwise(energy))
    assert 1.0 < energy[-1] - energy[0] < 20.0  # kWh a day for one home
    assert len(readings) == 288  # every 5 minutes
