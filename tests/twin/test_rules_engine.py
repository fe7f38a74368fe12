"""The rule engine on hand-made readings: each rule type raises, updates and clears."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from twin.rules.engine import (
    ActiveAlarm,
    AlarmEvent,
    DeviceRef,
    LastReading,
    ReadingBatch,
    RuleEngine,
    StaleEvaluationError,
    default_rules,
    load_rules,
)

METRICS = {1: "smoke", 2: "temperature", 3: "leak", 4: "gas_lel", 5: "open", 6: "heart_rate",
           7: "fall", 8: "occupancy", 9: "door_open", 10: "humidity", 11: "pm25"}  # fmt: skip
KEY = {name: key for key, name in METRICS.items()}
DEVICES = [
    DeviceRef(1, "lanting", "smoke-1", "smoke"),
    DeviceRef(2, "lanting", "env-1", "env"),
    DeviceRef(3, "lanting", "gas-1", "gas"),
    DeviceRef(4, "lanting", "door-1", "door"),
    DeviceRef(5, "lanting", "wear-1", "wearable"),
    DeviceRef(6, "xihu", "smoke-9", "smoke"),
    DeviceRef(7, "lanting", "lift-1", "elevator"),
    DeviceRef(8, "lanting", "mystery-1", None),
]
T0 = 1_800_000_000.0


def engine(**kwargs: Any) -> RuleEngine:
    return RuleEngine(default_rules(), devices=DEVICES, metrics=METRICS, **kwargs)


def batch(*rows: tuple[int, str, float, float]) -> ReadingBatch:
    return ReadingBatch.from_rows((d, KEY[m], T0 + t, v) for d, m, t, v in rows)


def summary(events: list[AlarmEvent]) -> list[tuple[str, str, str, str, float]]:
    return [(e.kind, e.device, e.rule_id, e.severity, e.ts - T0) for e in events]


def test_equality_rule_raises_and_clears_with_context() -> None:
    e = engine()
    events = e.step(batch((1, "smoke", 0, 0.0), (1, "smoke", 5, 1.0), (6, "smoke", 5, 1.0)))
    assert summary(events) == [
        ("raised", "smoke-1", "smoke", "critical", 5),
        ("raised", "smoke-9", "smoke", "critical", 5),
    ]
    first = events[0]
    assert (first.community, first.metric, first.value, first.message) == (
        "lanting", "smoke", 1.0, "smoke detected",
    )  # fmt: skip
    assert events[1].community == "xihu"
    # still smoky: nothing new; then clear with the rule's clear message
    assert e.step(batch((1, "smoke", 10, 1.0))) == []
    cleared = e.step(batch((1, "smoke", 20, 0.0)))
    assert summary(cleared) == [("cleared", "smoke-1", "smoke", "critical", 20)]
    assert cleared[0].message == "smoke cleared"
    assert e.active() == {("xihu", "smoke-9", "smoke"): "critical"}


def test_threshold_hysteresis_and_escalation() -> None:
    e = engine()
    readings = [30, 46, 43, 39.9, 41, 46, 58, 50, 44, 40, 38]
    events = e.step(batch(*[(2, "temperature", 60.0 * i, v) for i, v in enumerate(readings)]))
    # 46 raises (major); 43 stays in the band; 39.9 clears (<= 40); 41 is in the
    # band, no raise; 46 raises again; 58 escalates to critical; 50 does not step
    # down; 40 clears.
    high = [e for e in events if e.rule_id == "temperature_high"]
    assert {e.rule_id for e in events} == {"temperature_high", "temperature_rise"}
    assert [(k, sev, v) for k, _, _, sev, v in summary(high)] == [
        ("raised", "major", 60.0),
        ("cleared", "major", 180.0),
        ("raised", "major", 300.0),
        ("updated", "critical", 360.0),
        ("cleared", "critical", 540.0),
    ]
    assert high[0].message == "temperature 46.0 °C"
    assert high[-1].message == "cleared: temperature 40.0 °C"


def test_lower_threshold_rule() -> None:
    e = engine()
    events = e.step(batch((5, "heart_rate", 0, 70), (5, "heart_rate", 10, 44),
                          (5, "heart_rate", 20, 48), (5, "heart_rate", 30, 50)))  # fmt: skip
    assert [(k, r, t) for k, _, r, _, t in summary(events)] == [
        ("raised", "heart_rate_low", 10),
        ("cleared", "heart_rate_low", 30),
    ]


def test_rate_of_change_uses_the_previous_reading_of_the_same_device() -> None:
    e = engine()
    # Across batches: the rate of the first row of a batch uses the stored reading.
    assert e.step(batch((2, "temperature", 0, 20.0), (1, "temperature", 0, 20.0))) == []
    events = e.step(batch((2, "temperature", 60, 30.0), (1, "temperature", 60, 24.0)))
    assert summary(events) == [("raised", "env-1", "temperature_rise", "major", 60)]
    assert events[0].value == pytest.approx(10.0)  # °C per minute
    assert events[0].message == "temperature rising 10.0 °C/min"
    # 31 °C two minutes later: 0.5 °C/min <= 2 clears
    assert summary(e.step(batch((2, "temperature", 180, 31.0)))) == [
        ("cleared", "env-1", "temperature_rise", "major", 180)
    ]
    # A gap beyond max_gap_s (600 s) says nothing about the rate.
    assert e.step(batch((2, "temperature", 1200, 44.0))) == []


def test_duration_rule_raised_by_reading_or_by_tick() -> None:
    e = engine()
    assert e.step(batch((4, "open", 0, 1.0), (4, "open", 100, 1.0))) == []
    assert e.step_tick(T0 + 299) == []
    raised = e.step_tick(T0 + 400)
    assert summary(raised) == [("raised", "door-1", "door_left_open", "warning", 300)]
    assert raised[0].message == "door left open for 300 s"
    assert e.step_tick(T0 + 500) == []  # raised once
    assert summary(e.step(batch((4, "open", 600, 0.0)))) == [
        ("cleared", "door-1", "door_left_open", "warning", 600)
    ]
    # Opened, then a reading past the limit raises it (at the moment the limit was reached).
    events = e.step(batch((4, "open", 700, 1.0), (4, "open", 1100, 1.0)))
    assert summary(events) == [("raised", "door-1", "door_left_open", "warning", 1000)]


def test_duration_held_long_enough_between_two_readings_raises_then_clears() -> None:
    e = engine()
    events = e.step(batch((4, "open", 0, 1.0), (4, "open", 400, 0.0)))
    assert [(k, t) for k, _, _, _, t in summary(events)] == [("raised", 300), ("cleared", 400)]
    assert e.active() == {}


def test_no_data_is_raised_by_the_tick_and_cleared_by_any_reading() -> None:
    e = engine()
    e.step(batch((1, "smoke", 0, 0.0), (2, "humidity", 10, 50.0), (8, "humidity", 0, 1.0)))
    assert e.step_tick(T0 + 3599) == []
    assert summary(e.step_tick(T0 + 3605)) == [
        ("raised", "smoke-1", "no_data_safety", "minor", 3600)
    ]
    got = e.step_tick(T0 + 3700)
    assert summary(got) == [("raised", "env-1", "no_data", "warning", 3610)]
    assert got[0].value is None
    assert got[0].message == "no data for 60 min"
    assert got[0].metric is None
    assert e.step_tick(T0 + 3800) == []
    # the device of unknown kind gets no default no-data rule
    assert ("lanting", "mystery-1", "no_data") not in e.active()
    # a reading of a metric no rule watches still ends the silence
    assert summary(e.step(batch((2, "humidity", 4000, 51.0)))) == [
        ("cleared", "env-1", "no_data", "warning", 4000)
    ]
    # late data older than the alarm clears it at the alarm's own time
    assert summary(e.step(batch((1, "temperature", 1000, 21.0)))) == [
        ("cleared", "smoke-1", "no_data_safety", "minor", 3600)
    ]


def test_stale_and_duplicate_readings_are_ignored() -> None:
    e = engine()
    e.step(batch((1, "smoke", 10, 0.0)))
    # a redelivered/late reading older than the newest one cannot raise
    assert e.step(batch((1, "smoke", 5, 1.0))) == []
    # two readings with the same time: the first to arrive counts
    assert e.step(batch((1, "smoke", 20, 0.0), (1, "smoke", 20, 1.0))) == []
    assert len(e.step(batch((1, "smoke", 21, 1.0), (1, "smoke", 21, 0.0)))) == 1


def test_unknown_devices_metrics_and_kinds_are_ignored() -> None:
    e = engine()
    rows = ReadingBatch.from_rows([(99, 1, T0, 1.0), (1, 999, T0, 1.0), (8, 1, T0, 1.0)])
    assert e.step(rows) == []
    assert e.step(ReadingBatch.empty()) == []


def test_evaluate_changes_nothing_until_applied() -> None:
    e = engine()
    first = e.evaluate(batch((1, "smoke", 0, 1.0)))
    again = e.evaluate(batch((1, "smoke", 0, 1.0)))
    assert summary(list(first.events)) == summary(list(again.events))  # as if rolled back
    assert e.active() == {}
    e.apply(first)
    assert e.active() == {("lanting", "smoke-1", "smoke"): "critical"}
    with pytest.raises(StaleEvaluationError, match="evaluate again"):
        e.apply(again)
    assert e.generation == 1


def test_rebuild_from_active_alarms_and_last_readings() -> None:
    live = engine()
    live.step(
        batch(
            (2, "temperature", 0, 20.0),
            (2, "temperature", 60, 50.0),
            (3, "gas_lel", 0, 30.0),
            (4, "open", 0, 1.0),
            (7, "door_open", 0, 1.0),
        )
    )
    live.step_tick(T0 + 200)
    active = live.active()
    assert active == {
        ("lanting", "env-1", "temperature_high"): "major",
        ("lanting", "env-1", "temperature_rise"): "major",
        ("lanting", "gas-1", "gas"): "critical",
        ("lanting", "lift-1", "elevator_door_open"): "minor",
    }
    rows = [ActiveAlarm(c, d, r, sev, T0) for (c, d, r), sev in active.items()]
    rows.append(ActiveAlarm("lanting", "gone-device", "smoke", "critical", T0))
    rows.append(ActiveAlarm("lanting", "smoke-1", "retired-rule", "minor", T0))
    last = [LastReading(2, KEY["temperature"], T0 + 60, 50.0), LastReading(4, KEY["open"], T0, 1.0)]
    devices = [d if d.key != 4 else DeviceRef(4, "lanting", "door-1", "door", T0) for d in DEVICES]
    rebuilt = RuleEngine(default_rules(), devices=devices, metrics=METRICS, active=rows, last=last)
    assert rebuilt.active() == active
    assert {(o.device, o.rule_id) for o in rebuilt.orphans} == {
        ("gone-device", "smoke"),
        ("smoke-1", "retired-rule"),
    }
    # both continue identically: the door (open since T0 per the last reading)
    # is raised by the tick; the rate rule resumes from the stored reading.
    more = batch((2, "temperature", 120, 51.0), (3, "gas_lel", 60, 12.0))
    assert summary(rebuilt.step(more)) == summary(live.step(more))
    assert summary(rebuilt.step_tick(T0 + 400)) == summary(live.step_tick(T0 + 400))
    assert rebuilt.active() == live.active()


def test_escalated_alarm_rebuilds_at_its_level() -> None:
    rows = [ActiveAlarm("lanting", "gas-1", "gas", "critical", T0)]
    e = engine(active=rows)
    # 20 % LEL is between the two levels: no step down, no new raise
    assert e.step(batch((3, "gas_lel", 10, 20.0))) == []
    assert summary(e.step(batch((3, "gas_lel", 20, 4.0)))) == [
        ("cleared", "gas-1", "gas", "critical", 20)
    ]


def test_registering_devices_and_metrics_later() -> None:
    e = RuleEngine(default_rules())
    assert e.step(ReadingBatch.from_rows([(42, 7, T0, 1.0)])) == []
    e.register_device(DeviceRef(42, "lanting", "leak-1", "water_leak"))
    e.register_metric(7, "leak")
    events = e.step(ReadingBatch.from_rows([(42, 7, T0 + 1, 1.0)]))
    assert summary(events) == [("raised", "leak-1", "water_leak", "critical", 1)]
    assert e.opens_incident(events[0]) == "water_leak"
    # many more devices than the initial capacity
    for key in range(100, 300):
        e.register_device(DeviceRef(key, "lanting", f"leak-{key}", "water_leak"))
    keys = np.arange(100, 300)
    wet = ReadingBatch(keys, np.full(200, 7), np.full(200, T0 + 2), np.ones(200))
    assert len(e.step(wet)) == 200
    # a device whose kind becomes known later gets that kind's rules
    e.register_device(DeviceRef(42, "lanting", "leak-1", "smoke"))
    e.register_metric(8, "smoke")
    assert len(e.step(ReadingBatch.from_rows([(42, 8, T0 + 3, 1.0)]))) == 1


def test_opens_incident_only_for_critical_raises_and_escalations() -> None:
    e = engine()
    gas = e.step(batch((3, "gas_lel", 0, 12.0), (3, "gas_lel", 10, 30.0), (3, "gas_lel", 20, 1)))
    assert [(ev.kind, ev.severity, e.opens_incident(ev)) for ev in gas] == [
        ("raised", "major", None),
        ("updated", "critical", "gas_leak"),
        ("cleared", "critical", None),
    ]


def test_custom_rules_for_any_kind() -> None:
    rules = load_rules([
        {"id": "silent", "kind": "*", "type": "no_data", "minutes": 1, "severity": "warning",
         "message": "{device} silent for {minutes:.0f} min"},
        {"id": "humid", "kind": "*", "metric": "humidity", "type": "threshold", "op": "ge",
         "value": 90, "severity": "minor", "message": "{kind} {device}: {value}% > {threshold}"},
    ])  # fmt: skip
    e = RuleEngine(rules, devices=DEVICES, metrics=METRICS)
    got = e.step(batch((8, "humidity", 0, 95.0)))
    assert [ev.message for ev in got] == [" mystery-1: 95.0% > 90.0"]
    ticked = e.step_tick(T0 + 60)
    assert [ev.message for ev in ticked] == ["mystery-1 silent for 1 min"]


def test_batch_shape_errors() -> None:
    with pytest.raises(ValueError, match="four 1-D arrays of one length"):
        ReadingBatch(np.zeros(2), np.zeros(3), np.zeros(2), np.zeros(2))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="finite epoch seconds"):
        ReadingBatch.from_rows([(1, 1, float("nan"), 1.0)])
    both = ReadingBatch.concat([batch((1, "smoke", 0, 1.0)), batch((2, "humidity", 0, 1.0))])
    assert len(both) == 2
    assert both.device_key.tolist() == [1, 2]
