"""The simulated clock of an accelerated run, which never runs ahead of real time.

The ingestor dead-letters timestamps more than 5 minutes in the future of
its own clock, so simulated time must never pass real time. An accelerated
run therefore starts in the past and catches up: simulated time is
``sim_start + (real - real_start) * speed``, capped at the real time. With a
duration ``D`` (real seconds) and speed ``K`` the default start is
``real_start - D * (K - 1)``: the run covers ``D * K`` simulated seconds and
reaches "now" exactly when it ends. Without a duration (run until stopped)
the default start is now, so a sped-up run is capped from the first moment
and runs in real time (give ``--start`` to replay a past day quickly first).

>>> c = plan_clock(real_now=1000.0, speed=60.0, duration=10.0)
>>> c.sim_start, c.sim_at(1000.0), c.sim_at(1005.0), c.sim_at(1010.0), c.sim_end
(410.0, 410.0, 710.0, 1010.0, 1010.0)
>>> c.real_at(710.0)
1005.0
>>> all(c.sim_at(r) <= r for r in (1000.0, 1003.3, 1009.9, 2000.0))
True
"""

from __future__ import annotations

from dataclasses import dataclass


class ClockError(ValueError):
    """Clock parameters that cannot work."""


@dataclass(frozen=True, slots=True)
class SimClock:
    real_start: float  # epoch seconds
    sim_start: float  # epoch seconds
    speed: float
    sim_end: float | None  # None: run until stopped

    def sim_at(self, real: float) -> float:
        """Simulated time at real time ``real`` (never after ``real``)."""
        return min(self.sim_start + (real - self.real_start) * self.speed, real)

    def real_at(self, sim: float) -> float:
        """The first real time at which the simulated clock shows ``sim``."""
        return max(self.real_start + (sim - self.sim_start) / self.speed, sim)


def plan_clock(
    real_now: float, speed: float, duration: float | None, start: float | None = None
) -> SimClock:
    """The clock of a run started at ``real_now`` (see module doc)."""
    if not speed > 0:
        raise ClockError("--speed must be positive")
    if duration is not None and not duration > 0:
        raise ClockError("--duration must be positive")
    if start is None:
        start = real_now - duration * (speed - 1.0) if duration and speed > 1 else real_now
    if start > real_now:
        raise ClockError("--start must not be in the future")
    clock = SimClock(real_now, start, speed, None)
    end = clock.sim_at(real_now + duration) if duration is not None else None
    return SimClock(real_now, start, speed, end)
