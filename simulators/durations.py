"""Durations and start times as people type them on the command line.

>>> parse_duration("90"), parse_duration("5m"), parse_duration("1.5h"), parse_duration("2d")
(90.0, 300.0, 5400.0, 172800.0)
>>> parse_start("-6h", now=100000.0)
78400.0
>>> parse_start("2026-11-28T10:00:00+08:00", now=0.0)
1795831200.0
"""

from __future__ import annotations

import re
from datetime import datetime

_UNITS = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")


class DurationError(ValueError):
    """Text that is not a duration or a time."""


def parse_duration(text: str) -> float:
    m = _DURATION.match(text)
    if m is None:
        raise DurationError(f"{text!r} is not a duration (e.g. 90, 90s, 5m, 2h, 1d)")
    return float(m.group(1)) * _UNITS[m.group(2)]


def parse_start(text: str, now: float) -> float:
    """``-6h`` (before now) or an ISO 8601 time with an offset, as epoch seconds."""
    if text.startswith("-"):
        return now - parse_duration(text[1:])
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise DurationError(f"{text!r} is neither -DURATION nor an ISO 8601 time") from None
    if dt.tzinfo is None:
        raise DurationError(f"{text!r} needs a UTC offset (e.g. +08:00 or Z)")
    return dt.timestamp()
