"""commtwin's default alarm rules for the device kinds in `twin.model.kinds`.

Written in the same JSON form as a rules file (and parsed by the same code), so
``commtwin`` users can copy any of them into their own file and change it.
Thresholds follow common practice and are meant to be tuned per community:
heat detectors fire at 57 °C and rate-of-rise ones at about 8 °C/min; gas
detectors alarm low at 10 % LEL and high at 25 % LEL; PM2.5 above 75 µg/m³ is
"lightly polluted" and above 150 "heavily" in China's AQI bands; indoor CO2
above 1000 ppm breaks GB/T 18883.

>>> rules = default_rules()
>>> rules.incident_category("smoke"), rules.incident_category("door_left_open")
('fire', None)
>>> sorted({r.type for r in rules.rules})
['duration', 'equals', 'no_data', 'rate', 'threshold']
"""

from __future__ import annotations

from functools import cache
from typing import Any

from twin.rules.config import RuleSet, parse_rules

_SAFETY_SENSORS = ["smoke", "water_leak", "gas"]
_OTHER_KNOWN = ["elevator", "door", "env", "air_quality", "power_meter", "wearable", "parking"]
# Per-home devices of elderly care (twin/rules/care.py watches their activity).
_OTHER_KNOWN += ["water_meter", "home_meter", "motion"]
# Low-carbon and traffic devices (issue 13): only silence is watched by default.
_OTHER_KNOWN += ["pv_inverter", "ev_charger", "gate"]

DEFAULT_RULES: tuple[dict[str, Any], ...] = (
    # --- fire, leaks, gas: critical, each opens an incident
    {"id": "smoke", "kind": "smoke", "metric": "smoke", "type": "equals", "value": True,
     "severity": "critical", "message": "smoke detected", "clear_message": "smoke cleared",
     "incident": "fire"},
    {"id": "temperature_high", "kind": ["smoke", "env"], "metric": "temperature",
     "type": "threshold", "op": "gt", "value": 45, "clear": 40, "severity": "major",
     "escalate": [{"value": 57, "severity": "critical"}],
     "message": "temperature {value:.1f} °C"},
    {"id": "temperature_rise", "kind": ["smoke", "env"], "metric": "temperature",
     "type": "rate", "op": "gt", "value": 8, "clear": 2, "per_s": 60, "max_gap_s": 600,
     "severity": "major", "message": "temperature rising {value:.1f} °C/min"},
    {"id": "water_leak", "kind": "water_leak", "metric": "leak", "type": "equals",
     "value": True, "severity": "critical", "message": "water leak detected",
     "incident": "water_leak"},
    {"id": "gas", "kind": "gas", "metric": "gas_lel", "type": "threshold", "op": "ge",
     "value": 10, "clear": 5, "severity": "major",
     "escalate": [{"value": 25, "severity": "critical"}],
     "message": "gas {value:.0f} % LEL", "incident": "gas_leak"},
    # --- lifts and doors
    {"id": "elevator_fault", "kind": "elevator", "metric": "fault", "type": "equals",
     "value": True, "severity": "major", "message": "elevator fault"},
    {"id": "elevator_door_open", "kind": "elevator", "metric": "door_open",
     "type": "duration", "op": "eq", "value": True, "for_s": 120, "severity": "minor",
     "message": "elevator door open for {for_s:.0f} s"},
    {"id": "door_left_open", "kind": "door", "metric": "open", "type": "duration",
     "op": "eq", "value": True, "for_s": 300, "severity": "warning",
     "message": "door left open for {for_s:.0f} s"},
    # --- air quality
    {"id": "pm25_high", "kind": "air_quality", "metric": "pm25", "type": "threshold",
     "op": "gt", "value": 75, "clear": 60, "severity": "warning",
     "escalate": [{"value": 150, "severity": "minor"}],
     "message": "PM2.5 {value:.0f} µg/m³"},
    {"id": "co2_high", "kind": "air_quality", "metric": "co2", "type": "threshold",
     "op": "gt", "value": 1000, "clear": 900, "severity": "warning",
     "escalate": [{"value": 2000, "severity": "minor"}],
     "message": "CO2 {value:.0f} ppm"},
    # --- energy
    # A power_meter meters a whole building's supply: a high-rise draws 100-300 kW
    # at the evening peak; 500 kW nears a typical 630 kVA feeder's limit.
    {"id": "power_overload", "kind": "power_meter", "metric": "power_kw",
     "type": "threshold", "op": "gt", "value": 500, "clear": 450, "severity": "major",
     "message": "power {value:.1f} kW above {threshold:.0f} kW"},
    # --- elderly care: falls and SOS open incidents
    {"id": "fall", "kind": "wearable", "metric": "fall", "type": "equals", "value": True,
     "severity": "critical", "message": "fall detected", "incident": "fall"},
    {"id": "sos", "kind": "wearable", "metric": "sos", "type": "equals", "value": True,
     "severity": "critical", "message": "SOS pressed", "incident": "sos"},
    {"id": "heart_rate_high", "kind": "wearable", "metric": "heart_rate",
     "type": "threshold", "op": "gt", "value": 120, "clear": 110, "severity": "major",
     "message": "heart rate {value:.0f} bpm"},
    {"id": "heart_rate_low", "kind": "wearable", "metric": "heart_rate",
     "type": "threshold", "op": "lt", "value": 45, "clear": 50, "severity": "major",
     "message": "heart rate {value:.0f} bpm"},
    # Body temperature at the wrist: fever from 37.3 °C (China's clinical
    # definition) with a band against flapping; below 35 °C is hypothermia.
    {"id": "body_temperature_high", "kind": "wearable", "metric": "body_temperature",
     "type": "threshold", "op": "ge", "value": 37.3, "clear": 37.0, "severity": "minor",
     "escalate": [{"value": 39.0, "severity": "major"}],
     "message": "body temperature {value:.1f} °C"},
    {"id": "body_temperature_low", "kind": "wearable", "metric": "body_temperature",
     "type": "threshold", "op": "lt", "value": 35.0, "clear": 35.5, "severity": "major",
     "message": "body temperature {value:.1f} °C"},
    {"id": "wearable_battery_low", "kind": "wearable", "metric": "battery",
     "type": "threshold", "op": "lt", "value": 15, "clear": 20, "severity": "warning",
     "message": "wearable battery {value:.0f} %"},
    # --- traffic
    {"id": "parking_full", "kind": "parking", "metric": "occupancy", "type": "threshold",
     "op": "ge", "value": 0.95, "clear": 0.85, "severity": "warning",
     "message": "parking {value:.0%} occupied"},
    # --- silence: a life-safety sensor that stops reporting matters more
    {"id": "no_data_safety", "kind": _SAFETY_SENSORS, "type": "no_data", "minutes": 60,
     "severity": "minor", "message": "no data for {minutes:.0f} min"},
    {"id": "no_data", "kind": _OTHER_KNOWN, "type": "no_data", "minutes": 60,
     "severity": "warning", "message": "no data for {minutes:.0f} min"},
)  # fmt: skip


@cache
def default_rules() -> RuleSet:
    return parse_rules(DEFAULT_RULES)


def critical_incident_category(rule_id: str, rules: RuleSet | None = None) -> str | None:
    """The incident category a critical alarm of ``rule_id`` opens (defaults: fire,
    water_leak, gas_leak, fall, sos), or None.

    >>> critical_incident_category("sos"), critical_incident_category("co2_high")
    ('sos', None)
    """
    return (rules or default_rules()).incident_category(rule_id)
