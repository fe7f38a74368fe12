"""The daily check of people living alone (twin.rules.care), offline: hand-computed
times and properties of the daytime clock."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.twin.test_community_file import LANTING
from twin.community.file import community_from_json
from twin.rules.care import (
    CARE_CHECK,
    CareConfig,
    CareDevice,
    CareEngine,
    CareHome,
    care_homes,
    daytime_clock,
    daytime_moment,
)
from twin.rules.readings import ReadingBatch

H = 3600.0
DAY0 = 20_000 * 86400.0  # a UTC midnight (2024-10-04), = 08:00 in China
CST = CareConfig()  # 4 quiet daytime hours, 07:00-21:00, UTC+8
METRICS = {1: "flow_lpm", 2: "water_m3", 3: "open", 4: "motion", 5: "temperature"}
HOME = CareHome("lanting", "b01", "1-101", anchor="motion-101")
DEVICES = [CareDevice(10, 0, "water_meter"), CareDevice(11, 0, "door"), CareDevice(12, 0, "motion")]


def local(hour: float, day: int = 0) -> float:
    """Epoch seconds of ``hour`` o'clock China time on day ``day``."""
    return DAY0 + day * 86400.0 + (hour - 8.0) * H


def engine(cfg: CareConfig = CST) -> CareEngine:
    return CareEngine(cfg, [HOME], DEVICES, METRICS)


def feed(e: CareEngine, *rows: tuple[int, int, float, float]) -> list[tuple[str, float]]:
    ev = e.evaluate(ReadingBatch.from_rows(rows))
    e.apply(ev)
    return [(x.kind, x.ts) for x in ev.events]


def tick(e: CareEngine, now: float) -> list[tuple[str, float]]:
    ev = e.tick(now)
    e.apply(ev)
    return [(x.kind, x.ts) for x in ev.events]


def heartbeat(e: CareEngine, t: float) -> None:
    feed(e, (12, 4, t, 0.0))  # motion sensor alive, nothing moving


def test_quiet_evening_and_night_then_raised_at_nine_next_morning() -> None:
    e = engine()
    feed(e, (12, 4, local(19.0), 1.0))  # last motion at 19:00
    # 19:00-21:00 counts 2 h; the night nothing; 07:00-09:00 the other 2 h.
    for t in (local(23.0), local(3.0, 1), local(7.5, 1)):
        heartbeat(e, t)
        assert tick(e, t) == []
    heartbeat(e, local(8.9, 1))
    assert tick(e, local(8.95, 1)) == []
    assert tick(e, local(9.2, 1)) == [("raised", local(9.0, 1))]
    assert tick(e, local(10.0, 1)) == []  # raised once
    [home] = e.active_homes()
    assert home.anchor == "motion-101"
    # The door opens at 10:30: cleared then, whatever else the batch holds.
    assert feed(e, (11, 3, local(10.75, 1), 0.0), (11, 3, local(10.5, 1), 1.0)) == [
        ("cleared", local(10.5, 1))
    ]
    assert e.active_homes() == []


def test_event_carries_the_care_rule_and_critical_severity() -> None:
    e = engine(CareConfig(quiet_hours=1.0))
    feed(e, (10, 1, local(9.0), 3.0))
    heartbeat(e, local(10.1))
    [event] = e.tick(local(10.2)).events
    assert (event.rule_id, event.severity, event.device, event.community) == (
        CARE_CHECK,
        "critical",
        "motion-101",
        "lanting",
    )
    assert "1 daytime hours" in event.message


def test_what_counts_as_a_sign_of_life() -> None:
    cfg = CareConfig(quiet_hours=1.0)
    e = engine(cfg)
    feed(e, (10, 2, local(9.0), 100.0))  # counter seen: no use yet
    feed(e, (10, 1, local(9.5), 0.3))  # a drip, not use
    feed(e, (10, 2, local(9.6), 100.0))  # counter unchanged
    feed(e, (11, 3, local(9.7), 0.0), (12, 4, local(9.8), 0.0))  # closed, still
    feed(e, (99, 4, local(9.9), 1.0), (12, 5, local(9.9), 1.0))  # other device, metric
    assert tick(e, local(10.05)) == [("raised", local(10.0))]
    # The counter going up is water drawn (both rows in one batch, out of order).
    assert feed(e, (10, 2, local(10.4), 100.02), (10, 2, local(10.3), 100.0)) == [
        ("cleared", local(10.4))
    ]


def test_silent_devices_or_a_home_never_heard_from_raise_nothing() -> None:
    e = engine(CareConfig(quiet_hours=1.0, alive_hours=2.0))
    assert tick(e, local(15.0)) == []  # never heard from
    feed(e, (12, 4, local(9.0), 0.0))
    assert tick(e, local(11.5)) == []  # quiet 2.5 h, but nothing reported since 09:00
    heartbeat(e, local(11.6))
    assert tick(e, local(11.7)) == [("raised", local(10.0))]  # dated when it was due


def test_evaluation_changes_nothing_until_applied() -> None:
    e = engine(CareConfig(quiet_hours=1.0))
    ev = e.evaluate(ReadingBatch.from_rows([(12, 4, local(9.0), 0.0)]))
    assert e.tick(local(10.5)).events == ()  # not applied: never seen
    e.apply(ev)
    with pytest.raises(RuntimeError, match="evaluate again"):
        e.apply(ev)
    assert [x.kind for x in e.tick(local(10.5)).events] == ["raised"]


def test_state_survives_a_rebuild_and_active_alarms_restore() -> None:
    e = engine(CareConfig(quiet_hours=1.0))
    feed(e, (12, 4, local(9.0), 1.0), (12, 4, local(9.9), 0.0))
    again = CareEngine(CareConfig(quiet_hours=1.0), [HOME], DEVICES, METRICS)
    again.restore(e.state())
    assert [x.ts for x in again.tick(local(10.5)).events] == [local(10.0)]
    restarted = CareEngine(
        CareConfig(quiet_hours=1.0),
        [HOME],
        DEVICES,
        METRICS,
        active=[("lanting", "motion-101")],
        last_activity={("lanting", "b01", "1-101"): local(8.0)},
    )
    assert restarted.active_homes() == [HOME]
    assert [
        x.kind
        for x in restarted.evaluate(ReadingBatch.from_rows([(12, 4, local(9.0), 1.0)])).events
    ] == ["cleared"]


def test_care_homes_pick_living_alone_elders_and_an_elderly_anchor() -> None:
    data = copy.deepcopy(LANTING)
    units = data["buildings"][0]["units"]
    units[0]["household"] = {"living_alone": True, "age_band": "80+"}
    units[1]["household"] = {"living_alone": False, "age_band": "80+"}
    community = community_from_json(data)
    rows = [
        (1, "door-101", "door", "b01", "1-101"),
        (2, "wm-101", "water_meter", "b01", "1-101"),
        (3, "hm-101", "home_meter", "b01", "1-101"),  # not a sign of life
        (4, "wm-301", "water_meter", "b01", "1-301"),  # family home: no daily check
        (5, "door-b01-1", "door", "b01", None),  # the entrance, no home
    ]
    homes, devices = care_homes(community, rows)
    assert homes == [CareHome(community.id, "b01", "1-101", anchor="wm-101")]
    assert sorted((d.key, d.kind) for d in devices) == [(1, "door"), (2, "water_meter")]


def test_config_refuses_an_empty_day() -> None:
    with pytest.raises(ValueError, match="day_start_h < day_end_h"):
        CareConfig(day_start_h=21, day_end_h=7)
    with pytest.raises(ValueError, match="positive"):
        CareConfig(quiet_hours=0)


CONFIGS = st.builds(
    lambda s, length, off: CareConfig(day_start_h=s, day_end_h=min(24.0, s + length),
                                      utc_offset_h=off),
    st.floats(0, 20), st.floats(1, 24), st.sampled_from([-5.0, 0.0, 1.0, 8.0, 9.5]),
)  # fmt: skip
TIMES = st.floats(1.6e9, 1.9e9)


@given(cfg=CONFIGS, t=TIMES, dt=st.floats(0, 5 * 86400.0))
def test_daytime_clock_is_monotone_and_counts_the_window_daily(
    cfg: CareConfig, t: float, dt: float
) -> None:
    a, b = float(daytime_clock(t, cfg)), float(daytime_clock(t + dt, cfg))
    assert b >= a - 1e-6
    assert b - a <= dt + 1e-6
    day = float(daytime_clock(t + 86400.0, cfg)) - a
    assert math.isclose(day, (cfg.day_end_h - cfg.day_start_h) * H, abs_tol=1e-3)


@given(cfg=CONFIGS, t=TIMES)
def test_daytime_moment_inverts_the_clock(cfg: CareConfig, t: float) -> None:
    c = daytime_clock(t, cfg)
    m = float(daytime_moment(c, cfg))
    assert m <= t + 1e-3  # the first moment the clock shows c
    assert math.isclose(float(daytime_clock(m, cfg)), float(c), abs_tol=1e-3)


@given(
    last=st.floats(0, 3 * 86400.0),
    quiet=st.floats(0.5, 10.0),
    now=st.floats(0, 4 * 86400.0),
)
def test_raised_exactly_when_quiet_daytime_reaches_the_limit(
    last: float, quiet: float, now: float
) -> None:
    cfg = CareConfig(quiet_hours=quiet, alive_hours=1e6)
    e = engine(cfg)
    t0, t = DAY0 + last, DAY0 + last + now
    feed(e, (12, 4, t0, 1.0))
    events = e.tick(t).events
    quiet_s = float(daytime_clock(t, cfg) - daytime_clock(t0, cfg))
    if quiet_s < quiet * H - 1e-3:
        assert events == ()
    elif quiet_s > quiet * H + 1e-3:
        [ev] = events
        assert t0 < ev.ts <= t + 1e-3
        reached = float(daytime_clock(ev.ts, cfg) - daytime_clock(t0, cfg))
        assert math.isclose(reached, quiet * H, abs_tol=1e-2)
        local_h = ((ev.ts + 8 * H) % 86400.0) / H
        assert 7.0 <= local_h <= 21.0 + 1e-6


def test_vector_shapes() -> None:
    ts = np.array([local(6.0), local(12.0), local(22.0)])
    assert (daytime_clock(ts, CST) - daytime_clock(local(0.0), CST)).tolist() == [
        0.0,
        5 * H,
        14 * H,
    ]
