"""History straight from the behaviours: deterministic, the devices' own interval
where asked, and coarse sampling that gives the same figures per day."""

from __future__ import annotations

import numpy as np
import pytest

from simulators.backfill import Series, history_series
from simulators.community_gen import CommunitySpec, generate_community
from simulators.model_view import SimCommunity, view_of

KINDS = frozenset({"power_meter", "pv_inverter", "parking", "ev_charger", "gate"})
START = 1_780_000_000.0 - 1_780_000_000.0 % 86400  # a UTC midnight in June 2026
DAYS = 4


@pytest.fixture(scope="module")
def community() -> SimCommunity:
    return view_of(generate_community(CommunitySpec(buildings=3, seed=2, id="bf")))


def _series(
    community: SimCommunity, full_from: float, coarse_s: float
) -> dict[tuple[str, str], Series]:
    found = history_series(community, "r", KINDS, START, START + DAYS * 86400, seed=2,
                           full_from=full_from, coarse_s=coarse_s)  # fmt: skip
    return {(s.device, s.metric): s for s in found}


def _per_day(s: Series) -> np.ndarray:
    """The counter's growth per UTC day (last value of a day minus the day before's)."""
    day = (s.ts_us // 1_000_000 - START) // 86400
    last = np.array([s.values[day == d][-1] for d in range(DAYS)])
    return np.diff(last)


def test_same_window_same_readings_and_resolution_where_asked(community: SimCommunity) -> None:
    full_from = START + (DAYS - 1) * 86400
    a = _series(community, full_from, 1800.0)
    b = _series(community, full_from, 1800.0)
    assert a.keys() == b.keys()
    assert {k for _, k in a} >= {"energy_kwh", "export_kwh", "occupancy", "entries", "sessions"}
    for key, s in a.items():
        assert np.array_equal(s.ts_us, b[key].ts_us)
        assert np.array_equal(s.values, b[key].values)
        assert np.all(np.diff(s.ts_us) > 0)
    meter = next(s for (d, m), s in a.items() if d.startswith("pm-") and m == "energy_kwh")
    old = meter.ts_us < full_from * 1e6
    assert np.all(np.diff(meter.ts_us[old]) >= 1800e6)
    assert np.diff(meter.ts_us[~old]).max() <= 61e6  # the meter's own minute


def test_coarse_sampling_gives_the_same_energy_per_day(community: SimCommunity) -> None:
    end = START + DAYS * 86400
    fine = _series(community, START, 1800.0)  # all at the devices' own intervals
    coarse = _series(community, end, 1800.0)  # all coarse
    meters = [k for k in fine if k[0].startswith("pm-") and k[1] == "energy_kwh"]
    assert meters
    for key in meters:
        f, c = _per_day(fine[key]), _per_day(coarse[key])
        assert np.allclose(c, f, rtol=0.03), (key, f, c)
    pv = [k for k in fine if k[0].startswith("pv-") and k[1] == "energy_kwh"]
    assert pv
    for key in pv:
        f, c = _per_day(fine[key]), _per_day(coarse[key])
        if np.all(f >= 0) and np.all(c >= 0):  # no counter restart in the window
            assert np.allclose(c, f, rtol=0.1, atol=1.0), (key, f, c)
