"""Hangzhou's climate and daily rhythm as smooth functions of time.

All functions take epoch seconds (UTC) and are pure. Hangzhou is UTC+8 with
hot humid summers (July mean ~29 °C), cool damp winters (January ~4.5 °C),
a daily swing of about 7 °C peaking mid-afternoon, and winter PM2.5 about
twice the summer level.

>>> t = 1784000000.0  # 2026-07-14 03:33 UTC = 11:33 in Hangzhou
>>> round(local_hour(t), 2), 25 < outdoor_temperature(t) < 36
(11.56, True)
>>> outdoor_temperature(1768000000.0) < 12  # 2026-01-10
True
"""

from __future__ import annotations

import math
import time

UTC_OFFSET_S = 8 * 3600
DAY = 86400.0


def local_hour(t: float) -> float:
    """Hour of the day in Hangzhou, 0 <= h < 24."""
    return ((t + UTC_OFFSET_S) % DAY) / 3600.0


def local_day(t: float) -> int:
    """Days since the epoch in Hangzhou local time (a stable per-day seed)."""
    return int((t + UTC_OFFSET_S) // DAY)


def is_weekend(t: float) -> bool:
    # 1970-01-01 was a Thursday: day 2 is Saturday.
    return local_day(t) % 7 in (2, 3)


def day_of_year(t: float) -> int:
    return time.gmtime(t + UTC_OFFSET_S).tm_yday


def _bump(h: float, centre: float, width: float) -> float:
    """A smooth bump of height 1 around ``centre`` o'clock (wraps midnight)."""
    d = min(abs(h - centre), 24 - abs(h - centre))
    return math.exp(-0.5 * (d / width) ** 2)


def season(t: float) -> float:
    """-1 in mid-January .. +1 in mid-July."""
    return math.sin(2 * math.pi * (day_of_year(t) - 105) / 365.25)


def outdoor_temperature(t: float) -> float:
    mean = 17.0 + 12.0 * season(t)
    daily = 3.5 * math.cos(2 * math.pi * (local_hour(t) - 14.5) / 24)
    return mean + daily


def outdoor_humidity(t: float) -> float:
    """Relative humidity in %: damp nights, drier afternoons, humid summers."""
    base = 74.0 + 6.0 * season(t)
    daily = -12.0 * math.cos(2 * math.pi * (local_hour(t) - 14.5) / 24)
    return min(98.0, max(30.0, base + daily))


def indoor_temperature(t: float) -> float:
    """Homes without central heating follow outside, damped; AC caps summer."""
    return min(28.5, 11.0 + 0.5 * outdoor_temperature(t))


def background_pm25(t: float) -> float:
    """µg/m³: about 50 in winter, 22 in summer, worse at night and morning rush."""
    seasonal = 36.0 - 14.0 * season(t)
    h = local_hour(t)
    return seasonal * (0.85 + 0.25 * _bump(h, 8, 2) + 0.2 * _bump(h, 23, 3))


def activity(t: float) -> float:
    """How busy residents are, 0..1: morning and evening peaks, quiet nights."""
    h = local_hour(t)
    weekend = is_weekend(t)
    morning = _bump(h, 9.5 if weekend else 7.8, 1.0)
    evening = _bump(h, 18.5, 1.5)
    day = 0.35 if 9 < h < 17 else 0.0
    night = 0.03 if (h < 5.5 or h > 23.5) else 0.1
    return min(1.0, max(night, morning, evening, day + 0.15 * _bump(h, 12, 1)))


def household_power_kw(t: float) -> float:
    """Mean electrical load of one home: base, meal peaks, AC or heaters."""
    h = local_hour(t)
    base = 0.22 + 0.5 * _bump(h, 7.3, 0.8) + 0.35 * _bump(h, 11.8, 0.8) + 1.0 * _bump(h, 19.8, 1.8)
    temp = outdoor_temperature(t)
    cooling = max(0.0, temp - 26.0) * 0.12 * (0.5 + _bump(h, 22, 4))
    heating = max(0.0, 10.0 - temp) * 0.06 * (0.4 + _bump(h, 20.5, 2.5))
    return base + cooling + heating


def parking_occupancy(t: float) -> float:
    """Share of residents' spaces taken: full at night, half empty on workdays."""
    h = local_hour(t)
    if is_weekend(t):
        return 0.88 - 0.18 * _bump(h, 14, 3.5)
    leave = 1 / (1 + math.exp(-(h - 8.0) * 2.2))
    back = 1 / (1 + math.exp(-(h - 18.3) * 1.6))
    return 0.93 - 0.5 * leave + 0.48 * back
