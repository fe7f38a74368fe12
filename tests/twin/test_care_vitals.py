"""Elderly care's vital signs in the default rules: falls and SOS critical with an
incident, heart rate and body temperature out of range with hysteresis."""

from __future__ import annotations

from twin.model.kinds import scene_of
from twin.rules.engine import DeviceRef, ReadingBatch, RuleEngine, default_rules

HR, FALL, SOS, TEMP = 1, 2, 3, 4
METRICS = {HR: "heart_rate", FALL: "fall", SOS: "sos", TEMP: "body_temperature"}


def engine() -> RuleEngine:
    return RuleEngine(
        default_rules(), devices=[DeviceRef(7, "lanting", "wear-1", "wearable")], metrics=METRICS
    )


def run(
    e: RuleEngine, metric: int, *values: float, at: float = 1000.0
) -> list[tuple[str, str, str, float]]:
    rows = [(7, metric, at + i, v) for i, v in enumerate(values)]
    return [
        (x.kind, x.rule_id, x.severity, x.ts - at) for x in e.step(ReadingBatch.from_rows(rows))
    ]


def test_body_temperature_fever_band_and_escalation() -> None:
    e = engine()
    # 37.2 nothing; 37.4 fever (minor); 37.1 in the band: stays; 39.3 major; 36.9 clears.
    assert run(e, TEMP, 37.2, 37.4, 37.1, 39.3, 38.0, 36.9) == [
        ("raised", "body_temperature_high", "minor", 1.0),
        ("updated", "body_temperature_high", "major", 3.0),
        ("cleared", "body_temperature_high", "major", 5.0),
    ]
    assert run(e, TEMP, 34.8, 35.3, 35.6, at=2000.0) == [
        ("raised", "body_temperature_low", "major", 0.0),
        ("cleared", "body_temperature_low", "major", 2.0),
    ]


def test_heart_rate_hysteresis() -> None:
    e = engine()
    assert run(e, HR, 118, 125, 112, 109, 44, 48, 51) == [
        ("raised", "heart_rate_high", "major", 1.0),
        ("cleared", "heart_rate_high", "major", 3.0),
        ("raised", "heart_rate_low", "major", 4.0),
        ("cleared", "heart_rate_low", "major", 6.0),
    ]


def test_fall_and_sos_are_critical_and_open_incidents() -> None:
    e = engine()
    events = e.step(ReadingBatch.from_rows([(7, FALL, 1.0, 1.0), (7, SOS, 2.0, 1.0)]))
    assert [(x.rule_id, x.severity, e.opens_incident(x)) for x in events] == [
        ("fall", "critical", "fall"),
        ("sos", "critical", "sos"),
    ]


def test_home_devices_belong_to_their_scenes() -> None:
    assert [scene_of(k) for k in ("water_meter", "motion", "home_meter", "wearable")] == [
        "elderly",
        "elderly",
        "energy",
        "elderly",
    ]
