"""Randomised checks of the rule engine: batching does not change the outcome, a
rebuild from active alarms continues like the original, and threshold rules
agree with a plain reference written out row by row."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from twin.rules.engine import (
    ActiveAlarm,
    AlarmEvent,
    DeviceRef,
    LastReading,
    ReadingBatch,
    RuleEngine,
    default_rules,
)

METRICS = {1: "smoke", 2: "temperature", 3: "gas_lel", 4: "open", 5: "heart_rate", 6: "pm25"}
# Values either side of each default threshold and inside its hysteresis band.
VALUES = {
    1: [0.0, 1.0],
    2: [20.0, 38.0, 42.0, 46.0, 60.0],
    3: [0.0, 7.0, 12.0, 30.0],
    4: [0.0, 1.0],
    5: [40.0, 47.0, 70.0, 115.0, 130.0],
    6: [50.0, 70.0, 100.0, 200.0],
}
KIND_METRICS = {"smoke": [1, 2], "env": [2], "gas": [3], "door": [4], "wearable": [5],
                "air_quality": [6]}  # fmt: skip
DEVICES = [
    DeviceRef(k, "c", f"{kind}-{k}", kind)
    for k, kind in enumerate(["smoke", "smoke", "env", "gas", "door", "door", "wearable",
                              "air_quality"], start=1)
]  # fmt: skip
T0 = 1_800_000_000.0


@dataclass(frozen=True)
class Tick:
    now: float


Op = tuple[int, int, float, float] | Tick


@st.composite
def operations(draw: st.DrawFn) -> list[Op]:
    ops: list[Op] = []
    t = T0
    for _ in range(draw(st.integers(1, 80))):
        t += draw(st.sampled_from([0.0, 1.0, 30.0, 61.0, 200.0, 700.0, 4000.0]))
        if draw(st.integers(0, 9)) == 0:
            ops.append(Tick(t + draw(st.sampled_from([0.0, 100.0, 400.0]))))
            continue
        dev = draw(st.sampled_from(DEVICES))
        metric = draw(st.sampled_from(KIND_METRICS[dev.kind or ""]))
        ops.append((dev.key, metric, t, draw(st.sampled_from(VALUES[metric]))))
    return ops


def canon(events: list[AlarmEvent]) -> list[tuple[object, ...]]:
    return sorted(
        (e.ts, e.device, e.rule_id, e.kind, e.severity, e.value, e.message) for e in events
    )


def run(engine: RuleEngine, ops: list[Op], cuts: set[int]) -> list[AlarmEvent]:
    """Feed ``ops``: readings in batches split at ``cuts`` and at every tick."""
    events: list[AlarmEvent] = []
    pending: list[tuple[int, int, float, float]] = []

    def flush() -> None:
        if pending:
            events.extend(engine.step(ReadingBatch.from_rows(pending)))
            pending.clear()

    for i, op in enumerate(ops):
        if isinstance(op, Tick):
            flush()
            events.extend(engine.step_tick(op.now))
        else:
            if i in cuts:
                flush()
            pending.append(op)
    flush()
    return events


def fresh() -> RuleEngine:
    return RuleEngine(default_rules(), devices=DEVICES, metrics=METRICS)


@settings(max_examples=150, deadline=None)
@given(ops=operations(), cuts=st.sets(st.integers(0, 80)))
def test_batching_does_not_change_the_outcome(ops: list[Op], cuts: set[int]) -> None:
    one_by_one, batched, whole = fresh(), fresh(), fresh()
    expected = canon(run(one_by_one, ops, set(range(len(ops)))))
    assert canon(run(batched, ops, cuts)) == expected
    assert canon(run(whole, ops, set())) == expected
    assert batched.active() == one_by_one.active() == whole.active()


@settings(max_examples=100, deadline=None)
@given(ops=operations(), split=st.integers(0, 80))
def test_rebuilt_engine_continues_like_the_original(ops: list[Op], split: int) -> None:
    head, tail = ops[:split], ops[split:]
    original = fresh()
    run(original, head, set())
    # What the database holds: active alarms, latest readings, last seen times.
    active = [ActiveAlarm(c, d, r, sev, T0) for (c, d, r), sev in original.active().items()]
    readings = [op for op in head if not isinstance(op, Tick)]
    latest: dict[tuple[int, int], tuple[float, float]] = {}
    for dev, metric, ts, value in readings:
        if (dev, metric) not in latest or ts > latest[(dev, metric)][0]:
            latest[(dev, metric)] = (ts, value)
    last = [LastReading(d, m, ts, v) for (d, m), (ts, v) in latest.items()]
    rebuilt = RuleEngine(
        default_rules(), devices=DEVICES, metrics=METRICS, active=active, last=last
    )
    assert rebuilt.active() == original.active()
    assert rebuilt.orphans == ()

    # The database does not keep when a duration condition began (the rebuild
    # takes the latest reading's time, which may be later), nor the exact start
    # of no-data alarms: compare without times, and without the duration rule.
    def outcome(events: list[AlarmEvent]) -> list[tuple[str, str, str]]:
        return sorted((e.device, e.rule_id, e.kind) for e in events if e.rule_id != DURATION)

    assert outcome(run(rebuilt, tail, set())) == outcome(run(original, tail, set()))
    assert without_duration(rebuilt.active()) == without_duration(original.active())


DURATION = "door_left_open"


def without_duration(active: dict[tuple[str, str, str], str]) -> dict[tuple[str, str, str], str]:
    return {k: v for k, v in active.items() if k[2] != DURATION}


def reference_threshold(values: list[float], levels: list[float], clear: float) -> list[str]:
    """gt rule with escalation levels, written the obvious way."""
    out: list[str] = []
    level = 0
    for v in values:
        crossed = sum(v > t for t in levels)
        if level == 0 and crossed:
            out.append(f"raised{crossed}")
            level = crossed
        elif level and v <= clear:
            out.append("cleared")
            level = 0
        elif level and crossed > level:
            out.append(f"updated{crossed}")
            level = crossed
    return out


@settings(max_examples=200, deadline=None)
@given(values=st.lists(st.sampled_from([10.0, 40.0, 42.0, 45.0, 50.0, 57.0, 60.0]), max_size=60))
def test_threshold_rule_matches_reference(values: list[float]) -> None:
    engine = RuleEngine(
        default_rules(), devices=[DeviceRef(1, "c", "env", "env")], metrics={2: "temperature"}
    )
    # One reading an hour: far apart, so the rate-of-rise rule stays quiet.
    rows = [(1, 2, T0 + 3600.0 * i, v) for i, v in enumerate(values)]
    events = [
        e for e in engine.step(ReadingBatch.from_rows(rows)) if e.rule_id == "temperature_high"
    ]
    rank = {"major": 1, "critical": 2}
    got = [e.kind + (str(rank[e.severity]) if e.kind != "cleared" else "") for e in events]
    assert got == reference_threshold(values, [45.0, 57.0], 40.0)
