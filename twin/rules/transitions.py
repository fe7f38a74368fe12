"""Vectorised rule conditions and the few per-row state transitions they cause.

Every function here is pure: it reads arrays of one rule's rows (sorted by
device slot, then time) and that rule's state, and returns alarm events plus
the new state of the slots that changed. Only rows of devices whose state
changes somewhere in the batch go through Python; the rest stay in numpy.

>>> from twin.rules.config import parse_rule
>>> rule = parse_rule({"id": "hot", "kind": "env", "metric": "t", "type": "threshold",
...                    "op": "gt", "value": 40, "clear": 35, "severity": "major",
...                    "message": "hot", "escalate": [{"value": 50, "severity": "critical"}]})
>>> lvl, clr = levels_and_clear(rule, np.array([30.0, 38.0, 45.0, 55.0, np.nan]))
>>> lvl.tolist(), clr.tolist()
([0, 0, 1, 2, 0], [True, False, False, False, False])
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from twin.rules.config import Rule
from twin.rules.readings import AlarmEvent, EventKind, Floats, Int64s

Bools = npt.NDArray[np.bool_]
Levels = npt.NDArray[np.int8]

_COMPLEMENT = {"gt": "le", "ge": "lt", "lt": "ge", "le": "gt"}


def compare(op: str, x: Floats, threshold: float) -> Bools:
    """``x op threshold``; NaN compares false for every op."""
    if op == "gt":
        return np.greater(x, threshold)
    if op == "ge":
        return np.greater_equal(x, threshold)
    if op == "lt":
        return np.less(x, threshold)
    if op == "le":
        return np.less_equal(x, threshold)
    return np.equal(x, threshold)


def levels_and_clear(rule: Rule, x: Floats) -> tuple[Levels, Bools]:
    """Per row: how many of the rule's levels are crossed (0 = none), and whether
    the clear condition holds. Between the two (the hysteresis band) neither."""
    level = np.zeros(x.shape, dtype=np.int8)
    for lv in rule.levels:
        level += compare(rule.op, x, lv.threshold)
    if rule.op == "eq":
        clear = np.not_equal(x, rule.threshold) & ~np.isnan(x)
    else:
        assert rule.clear is not None
        clear = compare(_COMPLEMENT[rule.op], x, rule.clear)
    return level, clear


def rates(
    rule: Rule, *, slots: Int64s, ts: Floats, value: Floats, prev_ts: Floats, prev_value: Floats
) -> Floats:
    """Change per ``rule.per_s`` seconds against the previous reading of the same
    device (rows sorted by slot then time; ``prev_*`` hold, per slot, the last
    reading before this batch). NaN where the rate is unknown."""
    first = np.ones(slots.shape, dtype=np.bool_)
    first[1:] = slots[1:] != slots[:-1]
    pt = np.empty_like(ts)
    pv = np.empty_like(value)
    pt[1:] = ts[:-1]
    pv[1:] = value[:-1]
    pt[first] = prev_ts[slots[first]]
    pv[first] = prev_value[slots[first]]
    dt = ts - pt
    ok = dt > 0
    if rule.max_gap_s is not None:
        ok &= dt <= rule.max_gap_s
    safe_dt = np.where(ok, dt, 1.0)
    return np.where(ok, (value - pv) / safe_dt * rule.per_s, np.nan)


@dataclass(frozen=True)
class Devices:
    """Per slot: community, device id and kind, for event messages."""

    community: Sequence[str]
    id: Sequence[str]
    kind: Sequence[str | None]


@dataclass
class Outcome:
    """Events and new per-slot state of one rule, from one batch or tick."""

    rule: Rule
    devices: Devices
    events: list[AlarmEvent] = field(default_factory=list)
    slots: list[int] = field(default_factory=list)
    levels: list[int] = field(default_factory=list)
    since: list[float] = field(default_factory=list)

    def set(self, slot: int, level: int, since: float = math.nan) -> None:
        self.slots.append(slot)
        self.levels.append(level)
        self.since.append(since)

    def emit(self, kind: EventKind, slot: int, level: int, value: float | None, ts: float) -> None:
        rule, devices = self.rule, self.devices
        lv = rule.levels[max(level, 1) - 1]
        device, device_kind = devices.id[slot], devices.kind[slot] or ""
        text = rule.render(
            rule.message,
            value=value,
            device=device,
            kind=device_kind,
            severity=lv.severity,
            threshold=lv.threshold,
        )
        if kind == "cleared":
            text = (
                rule.render(rule.clear_message, value=value, device=device, kind=device_kind)
                if rule.clear_message
                else f"cleared: {text}"
            )
        self.events.append(
            AlarmEvent(
                kind=kind,
                community=devices.community[slot],
                device=device,
                rule_id=rule.id,
                metric=rule.metric,
                severity=lv.severity,
                value=value,
                ts=ts,
                message=text,
            )
        )


def _touched(slots: Int64s, candidate: Bools) -> Bools:
    """Rows of every device that has at least one candidate row."""
    return np.isin(slots, np.unique(slots[candidate]))


def level_transitions(
    rule: Rule,
    *,
    devices: Devices,
    slots: Int64s,
    ts: Floats,
    x: Floats,
    state: Levels,
) -> Outcome:
    """Threshold, equality and rate rules: raise, escalate (never step down), clear."""
    out = Outcome(rule, devices)
    level, clear = levels_and_clear(rule, x)
    current = state[slots]
    # A device's first change is always from its stored state, so a device with
    # no candidate row has no transition at all in this batch.
    candidate = (level > current) | (clear & (current > 0))
    if not candidate.any():
        return out
    rows = _touched(slots, candidate)
    s_prev, cur = -1, 0
    for s, t, v, lv, cl in zip(
        slots[rows].tolist(),
        ts[rows].tolist(),
        x[rows].tolist(),
        level[rows].tolist(),
        clear[rows].tolist(),
        strict=True,
    ):
        if s != s_prev:
            if s_prev >= 0:
                out.set(s_prev, cur)
            s_prev, cur = s, int(state[s])
        if cur == 0:
            if lv > 0:
                out.emit("raised", s, lv, v, t)
                cur = lv
        elif cl:
            out.emit("cleared", s, cur, v, t)
            cur = 0
        elif lv > cur:
            out.emit("updated", s, lv, v, t)
            cur = lv
    out.set(s_prev, cur)
    return out


def duration_transitions(
    rule: Rule,
    *,
    devices: Devices,
    slots: Int64s,
    ts: Floats,
    x: Floats,
    state: Levels,
    since: Floats,
) -> Outcome:
    """Duration rules: remember when the condition began; raise once it has held
    for ``for_s`` (at that moment, not at the reading); clear when it stops."""
    out = Outcome(rule, devices)
    level, clear = levels_and_clear(rule, x)
    held = since[slots]
    holding = ~np.isnan(held)
    current = state[slots]
    candidate = (
        ((level > 0) & ~holding)
        | (clear & (holding | (current > 0)))
        | ((current == 0) & holding & (ts - held >= rule.for_s))
    )
    if not candidate.any():
        return out
    rows = _touched(slots, candidate)
    s_prev, cur, start = -1, 0, math.nan
    for s, t, v, lv, cl in zip(
        slots[rows].tolist(),
        ts[rows].tolist(),
        x[rows].tolist(),
        level[rows].tolist(),
        clear[rows].tolist(),
        strict=True,
    ):
        if s != s_prev:
            if s_prev >= 0:
                out.set(s_prev, cur, start)
            s_prev, cur, start = s, int(state[s]), float(since[s])
        if math.isnan(start) and lv > 0:
            start = t
        # Held long enough before this reading (even if this one ends it).
        if not math.isnan(start) and cur == 0 and t - start >= rule.for_s:
            out.emit("raised", s, 1, v, start + rule.for_s)
            cur = 1
        if cl and (cur > 0 or not math.isnan(start)):
            if cur > 0:
                out.emit("cleared", s, cur, v, t)
            cur, start = 0, math.nan
    out.set(s_prev, cur, start)
    return out


def duration_due(
    rule: Rule, *, devices: Devices, state: Levels, since: Floats, last_value: Floats, now: float
) -> Outcome:
    """Duration alarms the clock raises: the condition still holds, no reading since."""
    out = Outcome(rule, devices)
    due = np.flatnonzero((state == 0) & ~np.isnan(since) & (now - since >= rule.for_s))
    for s in due.tolist():
        start = float(since[s])
        out.emit("raised", s, 1, float(last_value[s]), start + rule.for_s)
        out.set(s, 1, start)
    return out


def no_data_due(
    rule: Rule, *, devices: Devices, state: Levels, last: Floats, applies: Bools, now: float
) -> Outcome:
    """No-data alarms the clock raises, dated when the silence reached the limit
    (that time is kept as the alarm's ``since``)."""
    out = Outcome(rule, devices)
    due = np.flatnonzero(applies & (state == 0) & ~np.isnan(last) & (now - last >= rule.for_s))
    for s in due.tolist():
        raised = float(last[s]) + rule.for_s
        out.emit("raised", s, 1, None, raised)
        out.set(s, 1, raised)
    return out


def no_data_clears(
    rule: Rule, *, devices: Devices, slots: Int64s, ts: Floats, state: Levels, since: Floats
) -> Outcome:
    """A reading ends a no-data alarm. Late data older than the alarm clears it
    at the alarm's own time, so an alarm never ends before it began."""
    out = Outcome(rule, devices)
    hit = state[slots] > 0
    if not hit.any():
        return out
    first: dict[int, float] = {}
    for s, t in zip(slots[hit].tolist(), ts[hit].tolist(), strict=True):
        if t < first.get(s, math.inf):
            first[s] = t
    for s, t in sorted(first.items()):
        raised = float(since[s])
        out.emit("cleared", s, 1, None, t if not t < raised else raised)
        out.set(s, 0)
    return out
