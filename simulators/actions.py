"""What the pure feed asks the I/O shell to do, each at a simulated time.

The realistic feed is a lazy, time-ordered stream of these actions (see
:mod:`simulators.scenario`); the shell paces them against the simulated
clock and performs them over MQTT. ``via`` names the connection: a gateway
id, ``lte`` (devices with their own cellular link), ``app`` (the residents'
and workers' app backend) or ``bad`` (malformed input, own connection).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Category = Literal["telemetry", "status", "incident", "other"]


@dataclass(frozen=True, slots=True)
class Publish:
    at: float  # simulated epoch seconds
    via: str
    topic: str
    payload: bytes
    retain: bool = False
    category: Category = "telemetry"
    readings: int = 1  # telemetry readings carried (a gateway batch holds many)


@dataclass(frozen=True, slots=True)
class Link:
    """A gateway's connection drops (the broker then publishes its last will) or returns."""

    at: float
    via: str
    up: bool


@dataclass(frozen=True, slots=True)
class BadSlot:
    """Room for one malformed message; the shell builds it against the real clock."""

    at: float
    n: int  # which bad case (cycles through every kind)


Action = Publish | Link | BadSlot


def at_of(action: Action) -> float:
    return action.at
