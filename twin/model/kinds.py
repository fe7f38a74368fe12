"""Device kinds known to commtwin: their metrics and the cockpit scene they belong to.

Telemetry is schemaless, so a kind not listed here is still stored and shown;
it just has no default alarm rules and belongs to no scene (its alarms and
offline state only colour the overall status, not a scene tab).

>>> scene_of("smoke"), scene_of("wearable"), scene_of("robot-vacuum"), scene_of(None)
('safety', 'elderly', None, None)
>>> is_boolean_metric("smoke", "smoke"), is_boolean_metric("smoke", "temperature")
(True, False)
>>> KINDS["parking"].metric("occupancy").unit
'ratio'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

# The cockpit's tabs, in the order the /live snapshot lists them.
SCENES: tuple[str, ...] = ("safety", "elderly", "energy", "traffic", "governance")


@dataclass(frozen=True)
class Metric:
    """One metric a kind reports. Booleans travel as 1.0 / 0.0."""

    name: str
    boolean: bool = False
    unit: str | None = None


@dataclass(frozen=True)
class DeviceKind:
    name: str
    scene: str
    metrics: tuple[Metric, ...]
    mobile: bool = False

    def metric(self, name: str) -> Metric | None:
        for m in self.metrics:
            if m.name == name:
                return m
        return None

    @property
    def metric_names(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.metrics)


def _kind(name: str, scene: str, *metrics: Metric, mobile: bool = False) -> DeviceKind:
    return DeviceKind(name=name, scene=scene, metrics=metrics, mobile=mobile)


_BOOL = True
KINDS: Mapping[str, DeviceKind] = MappingProxyType(
    {
        k.name: k
        for k in (
            _kind(
                "smoke",
                "safety",
                Metric("smoke", _BOOL),
                Metric("temperature", unit="°C"),
            ),
            _kind("water_leak", "safety", Metric("leak", _BOOL)),
            _kind("gas", "safety", Metric("gas_lel", unit="%LEL")),
            _kind(
                "elevator",
                "safety",
                Metric("fault", _BOOL),
                Metric("door_open", _BOOL),
                Metric("trips", unit="count"),
                Metric("load_kg", unit="kg"),
            ),
            _kind("door", "safety", Metric("open", _BOOL)),
            _kind(
                "env",
                "safety",
                Metric("temperature", unit="°C"),
                Metric("humidity", unit="%"),
            ),
            _kind(
                "air_quality",
                "safety",
                Metric("pm25", unit="µg/m³"),
                Metric("co2", unit="ppm"),
            ),
            _kind(
                "power_meter",
                "energy",
                Metric("power_kw", unit="kW"),
                Metric("energy_kwh", unit="kWh"),
            ),
            _kind(
                "wearable",
                "elderly",
                Metric("heart_rate", unit="bpm"),
                Metric("fall", _BOOL),
                Metric("sos", _BOOL),
                Metric("battery", unit="%"),
                Metric("body_temperature", unit="°C"),
                mobile=True,
            ),
            # Per-home devices (elderly care, twin/rules/care.py; low carbon reads
            # home_meter). Counters are cumulative (water_m3, energy_kwh): usage is
            # the difference of readings. A home's door is the `door` kind placed in
            # its unit; motion reports a detection as 1 and a periodic 0 heartbeat.
            _kind(
                "water_meter",
                "elderly",
                Metric("water_m3", unit="m³"),
                Metric("flow_lpm", unit="L/min"),
            ),
            _kind(
                "home_meter",
                "energy",
                Metric("energy_kwh", unit="kWh"),
                Metric("power_kw", unit="kW"),
            ),
            _kind("motion", "elderly", Metric("motion", _BOOL)),
            _kind(
                "parking",
                "traffic",
                Metric("occupancy", unit="ratio"),
                Metric("occupied_spaces", unit="count"),
            ),
            # Low-carbon and traffic devices (twin/scenes/energy.py, twin/scenes/traffic.py):
            # the counters are cumulative; a restart to zero is allowed.
            _kind(
                "pv_inverter",
                "energy",
                Metric("power_kw", unit="kW"),
                Metric("energy_kwh", unit="kWh"),
                Metric("export_kwh", unit="kWh"),
            ),
            _kind(
                "ev_charger",
                "traffic",
                Metric("charging", _BOOL),
                Metric("power_kw", unit="kW"),
                Metric("energy_kwh", unit="kWh"),
                Metric("sessions", unit="count"),
            ),
            _kind(
                "gate",
                "traffic",
                Metric("entries", unit="count"),
                Metric("exits", unit="count"),
            ),
        )
    }
)


def device_kind(name: str | None) -> DeviceKind | None:
    return KINDS.get(name) if name is not None else None


def scene_of(kind: str | None) -> str | None:
    """The cockpit scene of a device kind; None for kinds commtwin does not know."""
    known = device_kind(kind)
    return known.scene if known is not None else None


def is_boolean_metric(kind: str | None, metric: str) -> bool:
    known = device_kind(kind)
    m = known.metric(metric) if known is not None else None
    return m is not None and m.boolean
