"""A home against its own 14-day hour-of-day profile (twin.rules.care_baseline), offline."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from twin.rules.care_baseline import (
    MIN_SCALE,
    BaselineConfig,
    hour_profile,
    hourly_usage,
    robust_scores,
    row_nanmedian,
    transitions,
)

DAYS = 15  # 14 days of history and today
HOURS = 24 * DAYS


def counter_rows(hourly_use: np.ndarray, start: float = 1000.0) -> tuple[np.ndarray, ...]:
    """Rollup rows (series, hour, last_value) of cumulative counters with these uses."""
    n, h = hourly_use.shape
    levels = start + np.cumsum(hourly_use, axis=1)
    series, hour = np.divmod(np.arange(n * h), h)
    return series.astype(np.int64), hour.astype(np.int64), levels.ravel()


def test_cook_at_eleven_flagged_only_where_it_is_a_habit() -> None:
    """Two homes, 15 days of hourly water use (m³); today (the last day) neither
    draws water at 11:00. Home 0 always cooks then (30 L ± 2), home 1 never."""
    rng = np.random.default_rng(7)
    use = np.full((2, HOURS), 0.002)  # a couple of litres an hour otherwise
    eleven = np.arange(DAYS) * 24 + 11
    use[0, eleven] = 0.030 + rng.uniform(-0.002, 0.002, DAYS)
    use[:, eleven[-1]] = 0.0
    s, h, last = counter_rows(use)
    usage = hourly_usage(s, h, last, (2, HOURS))
    now, hist = hour_profile(usage, eleven[-1])
    scores = robust_scores(now, hist, min_scale=MIN_SCALE["water_m3"])
    up, _ = transitions(scores.z, np.zeros(2, dtype=np.bool_), BaselineConfig())
    assert up.tolist() == [True, False]
    # Home 1: always 2 L at 11:00, today 0: (0 - 0.002) / 0.005 floor = -0.4.
    assert round(float(scores.z[1]), 6) == -0.4
    assert -6.4 < float(scores.z[0]) < -5.6  # 30 L below, over the 5 L floor
    assert scores.days.tolist() == [14, 14]


def test_hand_computed_score_with_an_odd_day_in_the_history() -> None:
    # kWh at 19:00 on 14 days: mostly 1.0-1.2, one party night at 4.0.
    hist = np.array([[1.0, 1.1, 1.2, 1.0, 1.1, 4.0, 1.1, 1.0, 1.2, 1.1, 1.0, 1.1, 1.2, 1.1]])
    scores = robust_scores(np.array([0.2]), hist, min_scale=MIN_SCALE["energy_kwh"])
    # sorted: 1.0 x4, 1.1 x6, 1.2 x3, 4.0 -> median 1.1; |dev|: 0 x6, 0.1 x7, 2.9 -> MAD 0.1
    assert np.allclose(scores.median, [1.1])
    assert np.allclose(scores.scale, [0.14826])
    assert np.allclose(scores.z, [(0.2 - 1.1) / 0.14826])  # -6.07: flagged
    assert bool(transitions(scores.z, np.array([False]), BaselineConfig())[0][0])


def test_too_little_history_or_no_reading_gives_no_score() -> None:
    hist = np.full((3, 14), np.nan)
    hist[0, :6] = 1.0  # 6 comparable days < 7
    hist[1, :7] = 1.0
    hist[2, :] = 1.0
    scores = robust_scores(np.array([0.0, 0.0, np.nan]), hist, min_scale=0.05)
    assert np.isnan(scores.z[0])
    assert scores.z[1] == -20.0
    assert np.isnan(scores.z[2])


def test_counter_reset_and_gaps_never_give_negative_or_invented_use() -> None:
    s = np.zeros(5, dtype=np.int64)
    h = np.array([0, 1, 2, 3, 5])
    last = np.array([500.0, 501.5, 0.4, 1.0, 2.0])  # meter replaced at hour 2; hour 4 missing
    use = hourly_usage(s, h, last, (1, 6))
    assert np.isnan(use[0, [0, 2, 4, 5]]).all()
    assert np.allclose(use[0, [1, 3]], [1.5, 0.6])


def test_hysteresis_band() -> None:
    cfg = BaselineConfig(raise_z=3.5, clear_z=2.0)
    active = np.array([False, False, True, True])
    z = np.array([3.0, -3.6, -2.1, 1.9])
    up, down = transitions(z, active, cfg)
    assert up.tolist() == [False, True, False, False]
    assert down.tolist() == [False, False, False, True]


FINITE = st.floats(0, 10, allow_nan=False)


@given(hnp.arrays(np.float64, st.tuples(st.integers(1, 5), st.integers(1, 14)),
                  elements=st.one_of(FINITE, st.just(np.nan))))  # fmt: skip
def test_row_nanmedian_matches_numpy(a: np.ndarray) -> None:
    got = row_nanmedian(a)
    for row, m in zip(a, got, strict=True):
        vals = row[~np.isnan(row)]
        if vals.size:
            assert np.isclose(m, np.median(vals))
        else:
            assert np.isnan(m)


@given(
    hist=hnp.arrays(np.float64, (4, 14), elements=FINITE),
    shift=st.floats(-5, 5),
    factor=st.floats(0.5, 4),
)
def test_scores_are_shift_invariant_and_scale_equivariant(
    hist: np.ndarray, shift: float, factor: float
) -> None:
    value = hist[:, 3] + 0.5
    base = robust_scores(value, hist, min_scale=1e-9)
    shifted = robust_scores(value + shift, hist + shift, min_scale=1e-9)
    scaled = robust_scores(value * factor, hist * factor, min_scale=1e-9 * factor)
    assert np.allclose(base.z, shifted.z, rtol=1e-6, atol=1e-3)
    assert np.allclose(base.z, scaled.z, rtol=1e-6, atol=1e-3)


@given(
    habit=hnp.arrays(np.float64, (3, 14), elements=st.floats(0, 0.1)),
    within=hnp.arrays(np.float64, 3, elements=st.floats(-1, 1)),
)
def test_a_day_within_one_mad_of_the_habit_is_never_flagged(
    habit: np.ndarray, within: np.ndarray
) -> None:
    """Today at most one MAD from the median scores at most 1 / 1.4826 < clear_z."""
    median = np.median(habit, axis=1)
    mad = np.median(np.abs(habit - median[:, None]), axis=1)
    scores = robust_scores(median + within * mad, habit, min_scale=MIN_SCALE["water_m3"])
    assert (np.abs(scores.z) <= 1 / 1.4826 + 1e-9).all()
    cfg = BaselineConfig()
    assert not transitions(scores.z, np.zeros(3, dtype=np.bool_), cfg)[0].any()
    assert transitions(scores.z, np.ones(3, dtype=np.bool_), cfg)[1].all()  # and clears


@given(days=st.integers(1, 14), target=st.integers(0, HOURS - 1))
def test_hour_profile_takes_the_same_hour_of_earlier_days(days: int, target: int) -> None:
    usage = np.arange(HOURS, dtype=np.float64)[None, :]
    now, hist = hour_profile(usage, target, days)
    assert now.tolist() == [float(target)]
    expected = [target - 24 * k if target - 24 * k >= 0 else np.nan for k in range(1, days + 1)]
    assert np.allclose(hist[0], expected, equal_nan=True)
