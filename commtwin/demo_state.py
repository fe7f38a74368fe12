"""What ``commtwin demo`` keeps between runs in its data directory.

A second run reuses the data: the embedded database and broker persistence
live in the data directory, and ``state.json`` remembers the cockpit key made
for each database (by a fingerprint of its URL, so pointing the demo at
another database makes a new key there) and how far the simulated clock got
(so the next run continues the simulated timeline instead of replaying it).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

STATE_FILE = "state.json"


class DemoStateError(Exception):
    """The state file exists but cannot be read back."""


@dataclass(frozen=True, slots=True)
class DemoState:
    keys: MappingProxyType[str, str] = field(default_factory=lambda: MappingProxyType({}))
    simulated_until: float | None = None
    # Incident history windows (simulated [since, until)) not yet written in full.
    history_pending: tuple[tuple[float, float], ...] = ()

    def key_for(self, database_url: str) -> str | None:
        return self.keys.get(database_fingerprint(database_url))

    def with_key(self, database_url: str, key: str) -> DemoState:
        keys = {**self.keys, database_fingerprint(database_url): key}
        return replace(self, keys=MappingProxyType(keys))

    def with_simulated_until(self, when: float) -> DemoState:
        return replace(self, simulated_until=when)

    def with_history_pending(self, windows: tuple[tuple[float, float], ...]) -> DemoState:
        return replace(self, history_pending=windows)


def database_fingerprint(url: str) -> str:
    """A short stable name for a database URL (the state file holds no URLs).

    >>> database_fingerprint("postgresql://postgres@127.0.0.1/commtwin")
    '01f6caa872233158'
    """
    return hashlib.sha256(url.encode()).hexdigest()[:16]


def simulation_start(now: float, last_stop: float | None, catch_up_s: float) -> float:
    """Where the simulated clock starts: ``catch_up_s`` before now, or where the
    last run stopped if that is later (never in the future).

    >>> simulation_start(1000.0, None, 600.0)
    400.0
    >>> simulation_start(1000.0, 900.0, 600.0)
    900.0
    >>> simulation_start(1000.0, 5000.0, 600.0)  # clock moved back: start now
    1000.0
    """
    start = now - catch_up_s
    if last_stop is not None:
        start = max(start, last_stop)
    return min(start, now)


def history_windows(
    start: float,
    last_stop: float | None,
    pending: tuple[tuple[float, float], ...],
    span: float,
) -> tuple[tuple[float, float], ...]:
    """The incident history to write before a feed starting at ``start``: what is
    still pending, then ``span`` back from ``start`` but never before where an
    earlier run's feed or history ended (no report twice). Under a minute: none.

    >>> history_windows(1000.0, None, (), 600.0)
    ((400.0, 1000.0),)
    >>> history_windows(1000.0, 900.0, (), 600.0)
    ((900.0, 1000.0),)
    >>> history_windows(1000.0, 990.0, (), 600.0)
    ()
    >>> history_windows(2000.0, None, ((400.0, 1000.0),), 600.0)
    ((400.0, 1000.0), (1400.0, 2000.0))
    >>> history_windows(1300.0, None, ((400.0, 1000.0),), 600.0)
    ((400.0, 1000.0), (1000.0, 1300.0))
    """
    since = start - span
    for floor in (last_stop, *(until for _, until in pending)):
        if floor is not None:
            since = max(since, floor)
    since = min(since, start)
    return pending + (((since, start),) if start - since >= 60.0 else ())


def clock_reached(start: float, started_at: float, stopped_at: float, speed: float) -> float:
    """How far a simulator run got: its clock is ``start + elapsed × speed``,
    capped at real time (docs/simulators.md).

    >>> clock_reached(start=0.0, started_at=100.0, stopped_at=110.0, speed=5.0)
    50.0
    >>> clock_reached(start=95.0, started_at=100.0, stopped_at=110.0, speed=5.0)
    110.0
    """
    return min(stopped_at, start + (stopped_at - started_at) * speed)


def to_json(state: DemoState) -> dict[str, Any]:
    return {
        "keys": dict(state.keys),
        "simulated_until": state.simulated_until,
        "history_pending": [list(w) for w in state.history_pending],
    }


def from_json(data: object) -> DemoState:
    """Parse the state file's content; anything unexpected is an error.

    >>> from_json({"keys": {"ab": "ctk_x"}, "simulated_until": 5}).key_for("zz") is None
    True
    >>> from_json({"history_pending": [[1, 2.5]]}).history_pending
    ((1.0, 2.5),)
    """
    if not isinstance(data, dict):
        raise DemoStateError("not a JSON object")
    keys = data.get("keys", {})
    stopped = data.get("simulated_until")
    if not isinstance(keys, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in keys.items()
    ):
        raise DemoStateError("keys must map strings to strings")
    if stopped is not None and not isinstance(stopped, int | float):
        raise DemoStateError("simulated_until must be a number")
    pending = data.get("history_pending", [])
    if not isinstance(pending, list) or not all(
        isinstance(w, list) and len(w) == 2 and all(isinstance(t, int | float) for t in w)
        for w in pending
    ):
        raise DemoStateError("history_pending must be a list of [since, until] numbers")
    return DemoState(
        MappingProxyType(dict(keys)),
        None if stopped is None else float(stopped),
        tuple((float(a), float(b)) for a, b in pending),
    )


def load_state(data_dir: Path) -> DemoState:
    path = data_dir / STATE_FILE
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        return DemoState()
    try:
        return from_json(json.loads(text))
    except (ValueError, DemoStateError) as exc:
        raise DemoStateError(f"{path}: {exc}; delete it to start afresh") from None


def save_state(data_dir: Path, state: DemoState) -> None:
    """Write atomically, readable by the owner only (it holds API keys)."""
    path = data_dir / STATE_FILE
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(to_json(state), f, indent=1)
    os.replace(tmp, path)
