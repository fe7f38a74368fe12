"""Retry delays: exponential backoff with full jitter, pure (the random draw is an argument).

Used for MQTT reconnects and for database retries. "Full jitter" spreads the
reconnects of many ingestors after a broker or database restart.

>>> b = Backoff(initial=0.5, maximum=30.0)
>>> [b.delay(attempt, 1.0) for attempt in range(8)]
[0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
>>> b.delay(3, 0.25)  # a quarter of the way from half the cap (2.0) to the cap (4.0)
2.5
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Backoff:
    initial: float = 0.5
    maximum: float = 30.0
    factor: float = 2.0
    floor_ratio: float = 0.5  # never retry sooner than this fraction of the cap

    def __post_init__(self) -> None:
        if not 0 < self.initial <= self.maximum or self.factor < 1:
            raise ValueError("backoff needs 0 < initial <= maximum and factor >= 1")

    def cap(self, attempt: int) -> float:
        """Largest delay before retry number ``attempt`` (0-based)."""
        # min() before the power would overflow on very long outages.
        exponent = min(attempt, 64)
        return float(min(self.maximum, self.initial * self.factor**exponent))

    def delay(self, attempt: int, rand: float) -> float:
        """Delay before retry ``attempt``, for ``rand`` drawn uniformly from [0, 1]."""
        cap = self.cap(attempt)
        floor = cap * self.floor_ratio
        return floor + (cap - floor) * min(max(rand, 0.0), 1.0)
