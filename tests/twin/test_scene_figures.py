"""Counters across restarts and gaps, carbon, intensity, occupancy: hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from twin.scenes.counters import CounterInputError, counter_usage, total_usage
from twin.scenes.energy import (
    DEFAULT_EMISSION_FACTOR,
    Meter,
    building_series,
    by_storey,
    community_series,
    floor_area,
    intensity,
    ranking,
)
from twin.scenes.traffic import ChargerNow, availability, chargers_now, mean_per_slot


def test_meter_day_with_a_restart_and_an_outage() -> None:
    # Hourly rollups of one meter: (slot, last, max, min). Slot -1 is the hour
    # before the window. Hour 2: the meter was swapped after reading 107.0
    # and counted 0 .. 1.5 again; hours 4-5 it was offline; hour 6 read 7.5.
    rows = [
        (-1, 100.0, 100.0, 99.0),
        (0, 102.0, 102.0, 100.4),
        (1, 105.0, 105.0, 102.3),
        (2, 1.5, 107.0, 0.0),  # 107 - 105 = 2 before the swap, 1.5 after
        (3, 3.0, 3.0, 1.8),
        (6, 7.5, 7.5, 6.0),  # 4.5 over hours 4, 5, 6
        (7, 8.0, 8.0, 7.6),
    ]
    usage = total_usage(rows, 8)
    assert usage.tolist() == [2.0, 3.0, 3.5, 1.5, 1.5, 1.5, 1.5, 0.5]
    assert float(usage.sum()) == pytest.approx(15.0)


def test_counter_never_negative_when_it_runs_backwards_without_a_max() -> None:
    # A restart read only after it (max == last): nothing before it is known.
    assert counter_usage([0, 1], [50.0, 2.0], [50.0, 2.0], [49.0, 0.5], 2).tolist() == [1.0, 2.0]


def test_counter_rejects_unordered_or_out_of_grid_slots() -> None:
    with pytest.raises(CounterInputError, match="increasing"):
        counter_usage([1, 1], [1.0, 2.0], [1.0, 2.0], [1.0, 2.0], 3)
    with pytest.raises(CounterInputError, match="beyond"):
        counter_usage([0, 3], [1.0, 2.0], [1.0, 2.0], [1.0, 2.0], 3)


@given(
    steps=st.lists(st.floats(0.0, 50.0, allow_nan=False), min_size=2, max_size=40),
    restarts=st.lists(st.booleans(), min_size=40, max_size=40),
    present=st.lists(st.booleans(), min_size=40, max_size=40),
)
def test_counter_usage_is_never_negative_and_conserves_growth(
    steps: list[float], restarts: list[bool], present: list[bool]
) -> None:
    """Without restarts the usage adds up to the counter's growth; with them never < 0."""
    value, rows, plain = 1000.0, [], True
    for i, step in enumerate(steps):
        if restarts[i] and i > 0:
            value, plain = 0.0, False
        low = value
        value += step
        if present[i] or i == 0 or i == len(steps) - 1:
            rows.append((i, value, value, low))
    usage = total_usage(rows, len(steps))
    assert (usage >= 0).all()
    if plain:
        assert float(usage.sum()) == pytest.approx(value - rows[0][3], abs=1e-6)


def _m(
    id_: str, kind: str, where: tuple[str | None, int | None], values: list[float],
    *, export: list[float] | None = None,
) -> Meter:  # fmt: skip
    exp = None if export is None else np.array(export)
    return Meter(id_, kind, where[0], where[1], None, np.array(values), exp)


def test_community_energy_carbon_and_self_consumption() -> None:
    meters = [
        _m("pm-b1", "power_meter", ("b1", -1), [100.0, 120.0]),
        _m("h-b1-1", "home_meter", ("b1", 1), [2.0, 3.0]),  # inside pm-b1: not added
        _m("h-b2-1", "home_meter", ("b2", 1), [4.0, 6.0]),
        _m("h-b2-2", "home_meter", ("b2", 2), [1.0, 1.0]),
        _m("pm-public", "power_meter", (None, None), [10.0, 0.0]),
        _m("pv-b1", "pv_inverter", ("b1", 18), [20.0, 30.0], export=[5.0, 40.0]),
    ]
    s = community_series(meters, 2, 0.5)
    assert s.grid_kwh.tolist() == [115.0, 127.0]
    assert s.pv_kwh.tolist() == [20.0, 30.0]
    # 20 - 5 = 15 used on site; an export ahead of generation counts as 0.
    assert s.self_consumed_kwh is not None
    assert s.self_consumed_kwh.tolist() == [15.0, 0.0]
    assert s.carbon_kg.tolist() == [57.5, 63.5]
    t = s.totals()
    assert t["self_consumption_rate"] == pytest.approx(15.0 / 50.0)
    assert t["avoided_kg"] == pytest.approx(25.0)
    b2 = building_series(meters, "b2", 2, DEFAULT_EMISSION_FACTOR)
    assert b2.grid_kwh.tolist() == [5.0, 7.0]
    assert b2.self_consumed_kwh is None  # no PV there
    assert float(b2.carbon_kg.sum()) == pytest.approx(12.0 * 0.5306)
    assert {k: v.tolist() for k, v in by_storey(meters, 2).items()} == {
        1: [6.0, 9.0],
        2: [1.0, 1.0],
    }


def test_pv_export_unknown_when_an_inverter_lacks_it() -> None:
    meters = [
        _m("pv1", "pv_inverter", ("b1", 9), [1.0], export=[0.5]),
        _m("pv2", "pv_inverter", ("b1", 9), [1.0]),
    ]
    assert community_series(meters, 1, 0.5).self_consumed_kwh is None


def test_intensity_and_ranking_of_buildings() -> None:
    # 30 m × 12 m × 18 storeys = 6480 m²; 20 m × 10 m × 6 = 1200 m².
    tower = floor_area(
        {"type": "Polygon", "coordinates": [[[0, 0], [30, 0], [30, 12], [0, 12], [0, 0]]]}, 18
    )
    low = floor_area(
        {"type": "Polygon", "coordinates": [[[0, 0], [20, 0], [20, 10], [0, 10], [0, 0]]]}, 6
    )
    assert (tower, low) == (6480.0, 1200.0)
    per_m2 = {
        "tower": intensity(3240.0, tower),
        "low": intensity(720.0, low),
        "shed": intensity(5.0, None),
    }
    assert per_m2 == {"tower": 0.5, "low": 0.6, "shed": None}
    assert ranking(per_m2) == {"low": 1, "tower": 2, "shed": None}


def test_parking_occupancy_and_chargers() -> None:
    # Lot readings per hour as rollups (v_sum, n): 0.5 avg in hour 0, none in 1.
    assert mean_per_slot([0, 2, 5], [2.0, 2.7, 1.0], [4, 3, 1], 3) == [
        0.5,
        None,
        pytest.approx(0.9),
    ]
    # Two chargers: busy all of hour 0 / free; hour 1 half busy / not heard.
    assert availability([[1.0, 0.5], [0.0, None]], 2) == [0.5, 0.5]
    now = chargers_now([ChargerNow(True, 1.0), ChargerNow(True, 0.0), ChargerNow(None, 0.0)])
    assert now == {"total": 3, "available": 2, "charging": 1, "out_of_service": 0}


def test_gate_counts_per_hour_from_counters_across_a_reset() -> None:
    # entries counter: 40 at the hour before; 55; reset after 58 then 0..3.
    rows = [(-1, 40.0, 40.0, 38.0), (0, 55.0, 55.0, 41.0), (1, 3.0, 58.0, 0.0)]
    assert total_usage(rows, 2).tolist() == [15.0, 6.0]
