"""Where a community's devices go: which homes, storeys and outdoor spots.

Works on plain :class:`Host` descriptions so that it places devices both in a
generated site plan and in an imported real model (3D BAG buildings have no
units: household devices then sit on a storey only).

Rates are per household unless noted, chosen so that a community of about
4,000 households gets about 2,000 devices: a smoke detector in about one home in
five (the rest are not connected), leak sensors in one in eleven, gas
detectors in one in twenty, a wearable for one elderly resident per fourteen
homes, and per building a power meter, lobby sensors, entrance doors and
two lifts per high-rise section.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

# Device kinds and their metrics (docs/DESIGN.md, `twin/model/kinds.py`).
KIND_METRICS: dict[str, tuple[str, ...]] = {
    "smoke": ("smoke", "temperature"),
    "water_leak": ("leak",),
    "gas": ("gas_lel",),
    "elevator": ("fault", "door_open", "trips", "load_kg"),
    "door": ("open",),
    "env": ("temperature", "humidity"),
    "air_quality": ("pm25", "co2"),
    "power_meter": ("power_kw", "energy_kwh"),
    "wearable": ("heart_rate", "fall", "sos", "battery", "body_temperature"),
    "parking": ("occupancy", "occupied_spaces"),
    # Per-home care kit: simulators/households.py places them.
    "water_meter": ("water_m3", "flow_lpm"),
    "home_meter": ("energy_kwh", "power_kw"),
    "motion": ("motion",),
    "pv_inverter": ("power_kw", "energy_kwh", "export_kwh"),
    "ev_charger": ("charging", "power_kw", "energy_kwh", "sessions"),
    "gate": ("entries", "exits"),
    # Not in DESIGN's table: infrastructure that only reports its status.
    "gateway": (),
}

SMOKE_RATE = 0.22
LEAK_RATE = 0.09
GAS_RATE = 0.05
WEARABLE_RATE = 0.07
APARTMENT_BLOCK_HOMES = 8
MAX_BUILDING_GATEWAYS = 40  # beyond this, one site gateway serves everything


@dataclass(frozen=True, slots=True)
class Host:
    """A building as far as device placement cares."""

    id: str
    storeys: int
    basement: bool
    sections: int
    residential: bool
    units: tuple[tuple[str, int], ...] = ()  # (unit id, storey)
    homes_without_units: int = 0  # estimated when the model has no units


@dataclass(frozen=True, slots=True)
class Site:
    """The outdoor area (local metres) where gates, stations and lots go."""

    x0: float
    y0: float
    x1: float
    y1: float


def device(kind: str, id_: str, **placement: Any) -> dict[str, Any]:
    """A model-file device entry.

    >>> device("door", "door-b01-1", building="b01", storey=1)
    {'id': 'door-b01-1', 'kind': 'door', 'metrics': ['open'], 'building': 'b01', 'storey': 1}
    """
    return {"id": id_, "kind": kind, "metrics": list(KIND_METRICS[kind]), **placement}


def _homes(host: Host, rng: random.Random) -> list[dict[str, Any]]:
    """Placements of the host's homes: unit ids when known, else storeys."""
    if host.units:
        return [{"storey": s, "unit": u, "tag": u} for u, s in host.units]
    out = []
    for n in range(host.homes_without_units):
        storey = 1 + n % max(host.storeys, 1)
        out.append({"storey": storey, "tag": f"s{storey}-h{n // max(host.storeys, 1) + 1}"})
    rng.shuffle(out)
    return out


def _sample(rng: random.Random, items: list[dict[str, Any]], rate: float) -> list[dict[str, Any]]:
    return [h for h in items if rng.random() < rate]


def _shared_services(host: Host) -> list[dict[str, Any]]:
    b = host.id
    plant = -1 if host.basement else 1  # pumps and switchgear live downstairs
    out = [
        device("water_leak", f"leak-{b}-pump", building=b, storey=plant),
        device("power_meter", f"pm-{b}", building=b, storey=plant),
        device("env", f"env-{b}-lobby", building=b, storey=1),
        device("air_quality", f"aq-{b}-lobby", building=b, storey=1),
        # Rooftop PV on every apartment block (no random draw: placing it must
        # not change which homes get which devices).
        device("pv_inverter", f"pv-{b}", building=b, storey=max(host.storeys, 1)),
    ]
    if host.basement:
        out.append(device("door", f"door-{b}-b1", building=b, storey=-1))
    for s in range(1, max(host.sections, 1) + 1):
        out.append(device("door", f"door-{b}-{s}", building=b, storey=1))
        # Mid-rises of 6+ storeys got lifts in newer estates; towers two per core.
        lifts = 2 if host.storeys >= 12 else (1 if host.storeys >= 6 else 0)
        for k in range(lifts):
            out.append(device("elevator", f"lift-{b}-{s}{'ab'[k]}", building=b, storey=1))
    return out


def place_in_building(host: Host, rng: random.Random) -> list[dict[str, Any]]:
    b = host.id
    out: list[dict[str, Any]] = []
    homes = _homes(host, rng) if host.residential else []

    def at(home: dict[str, Any]) -> dict[str, Any]:
        where: dict[str, Any] = {"building": b, "storey": home["storey"]}
        if "unit" in home:
            where["unit"] = home["unit"]
        return where

    for home in _sample(rng, homes, SMOKE_RATE):
        out.append(device("smoke", f"smoke-{b}-{home['tag']}", **at(home)))
    for home in _sample(rng, homes, LEAK_RATE):
        out.append(device("water_leak", f"leak-{b}-{home['tag']}", **at(home)))
    for home in _sample(rng, homes, GAS_RATE):
        out.append(device("gas", f"gas-{b}-{home['tag']}", **at(home)))

    # Shared building services only in apartment blocks and public buildings,
    # not in the single-family houses of a real city model.
    if len(homes) >= APARTMENT_BLOCK_HOMES or not host.residential:
        out.extend(_shared_services(host))
    for n, home in enumerate(_sample(rng, homes, WEARABLE_RATE), start=1):
        out.append(
            device("wearable", f"wear-{b}-{n:02d}", mobile=True, **at(home))
            | {"attributes": {"resident": "elderly"}}
        )
    return out


def place_outdoors(site: Site, rng: random.Random, parking_lots: int = 6) -> list[dict[str, Any]]:
    """Gates, outdoor stations and surface parking lots at fixed positions."""
    w, d = site.x1 - site.x0, site.y1 - site.y0

    def pos(fx: float, fy: float, z: float = 0.0) -> dict[str, float]:
        return {"x": round(site.x0 + fx * w, 2), "y": round(site.y0 + fy * d, 2), "z": z}

    out = [
        device("door", "gate-south", position=pos(0.5, 0.01)),
        device("door", "gate-north", position=pos(0.5, 0.99)),
        device("env", "env-garden", position=pos(0.5, 0.5, 1.5)),
        device("env", "env-west", position=pos(0.03, 0.5, 1.5)),
        device("env", "env-east", position=pos(0.97, 0.5, 1.5)),
        device("air_quality", "aq-garden", position=pos(0.48, 0.52, 2.0)),
        device("air_quality", "aq-gate", position=pos(0.52, 0.03, 2.0)),
        device("power_meter", "pm-public", position=pos(0.05, 0.02, 0.0)),
    ]
    for n in range(parking_lots):
        side = "west" if n % 2 == 0 else "east"
        fy = 0.15 + 0.7 * (n // 2) / max(1, (parking_lots - 1) // 2)
        fx = 0.02 if side == "west" else 0.98
        capacity = rng.choice((40, 60, 80, 120))
        out.append(
            device("parking", f"parking-{side}-{n // 2 + 1}", position=pos(fx, fy))
            | {"attributes": {"capacity": capacity}}
        )
        for k in (1, 2):  # two EV chargers at each lot's end
            out.append(
                device("ev_charger", f"ev-{side}-{n // 2 + 1}-{k}", position=pos(fx, fy + 0.01 * k))
            )
    spaces = sum(d["attributes"]["capacity"] for d in out if d["kind"] == "parking")
    for name, fy in (("south", 0.02), ("north", 0.98)):  # vehicle barriers by the gates
        out.append(
            device("gate", f"vgate-{name}", position=pos(0.56, fy))
            | {"attributes": {"capacity": spaces // 2}}
        )
    return out


def plan_devices(hosts: list[Host], site: Site, rng: random.Random) -> list[dict[str, Any]]:
    """Gateways first, then every building's devices, then the outdoor ones."""
    gw_at = {"x": round(site.x0 + 5, 2), "y": round(site.y0 + 5, 2), "z": 0.0}
    devices: list[dict[str, Any]] = gateways(hosts, gw_at)
    for host in hosts:
        devices.extend(place_in_building(host, rng))
    devices.extend(place_outdoors(site, rng))
    return devices


def gateways(hosts: list[Host], site_position: dict[str, float]) -> list[dict[str, Any]]:
    """One gateway per building (few buildings) or one for the whole site."""
    out = [device("gateway", "gw-site", position=site_position)]
    if len(hosts) <= MAX_BUILDING_GATEWAYS:
        out += [device("gateway", f"gw-{h.id}", building=h.id, storey=1) for h in hosts]
    return out
