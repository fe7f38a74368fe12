"""Who lives in the generated homes, and the care devices their homes get.

Shares follow an urban Zhejiang community: the oldest resident is 60 or over
in about 40 % of homes (China's 2020 census counts a fifth of people as 60+,
and they are spread over more homes than that); about one elderly home in
eight lives alone (独居), more often the older the resident. Care levels
follow GB/T 42195-2022's ability levels (0 intact … 4 total loss), rising
with age. A home with a wearable is an elderly home.

Care devices (``twin/model/kinds.py``): every home whose resident lives alone and
is watched by the daily check (``twin.rules.care``) gets a water meter and a
home electricity meter, and a motion sensor where the resident is 80+ or has a
care level (a fall is likeliest there); of the other homes a few have a
connected home meter or water meter (most homes' meters are read by the
utilities, not by the community platform). Households and care devices draw
from their own random generator, so the rest of the community is unchanged.

>>> units = {"b01": [("1-101", 1), ("1-102", 1)], "b02": [("2-101", 1)]}
>>> homes = plan_households(units, elderly={("b01", "1-102")}, seed=3)
>>> sorted(homes) == [("b01", "1-101"), ("b01", "1-102"), ("b02", "2-101")]
True
>>> homes[("b01", "1-102")]["age_band"] != "<60"
True
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from typing import Any

from twin.model.households import household_from_json

AGE_SHARES: tuple[tuple[str, float], ...] = (
    ("<60", 0.60),
    ("60-69", 0.20),
    ("70-79", 0.13),
    ("80+", 0.07),
)
LIVING_ALONE: Mapping[str, float] = {"<60": 0.10, "60-69": 0.08, "70-79": 0.14, "80+": 0.25}
CARE_LEVELS: Mapping[str, tuple[float, ...]] = {
    "<60": (0.99, 0.01, 0.0, 0.0, 0.0),
    "60-69": (0.90, 0.07, 0.02, 0.01, 0.0),
    "70-79": (0.78, 0.14, 0.05, 0.02, 0.01),
    "80+": (0.55, 0.25, 0.12, 0.06, 0.02),
}
OTHER_HOME_METER_RATE = 0.03
OTHER_WATER_METER_RATE = 0.015
CARE_METRICS: Mapping[str, tuple[str, ...]] = {
    "water_meter": ("water_m3", "flow_lpm"),
    "home_meter": ("energy_kwh", "power_kw"),
    "motion": ("motion",),
}
_PREFIX = {"water_meter": "wm", "home_meter": "hm", "motion": "motion"}

Home = tuple[str, str]  # building id, unit id


def plan_households(
    units: Mapping[str, Iterable[tuple[str, int]]], elderly: set[Home], seed: int
) -> dict[Home, dict[str, Any]]:
    """A household (model-file object) for every unit; ``elderly`` homes are 60+."""
    rng = random.Random(f"households/{seed}")
    bands = [b for b, _ in AGE_SHARES]
    weights = [w for _, w in AGE_SHARES]
    out: dict[Home, dict[str, Any]] = {}
    for building in sorted(units):
        for unit, _storey in units[building]:
            home = (building, unit)
            if home in elderly:
                band = rng.choices(bands[1:], weights=weights[1:])[0]
            else:
                band = rng.choices(bands, weights=weights)[0]
            alone = rng.random() < LIVING_ALONE[band]
            level = rng.choices(range(5), weights=CARE_LEVELS[band])[0]
            out[home] = {"living_alone": alone, "age_band": band, "care_level": level}
    return out


def care_devices(
    households: Mapping[Home, Mapping[str, Any]], storeys: Mapping[Home, int], seed: int
) -> list[dict[str, Any]]:
    """Model-file devices of the homes' care kit (see the module doc)."""
    rng = random.Random(f"care-devices/{seed}")
    out: list[dict[str, Any]] = []
    for home in sorted(households):
        checked = household_from_json(households[home], f"unit {home[1]}").needs_daily_check
        if checked:
            # Motion sensors where a fall is likeliest: the oldest, or impaired.
            at_risk = households[home].get("age_band") == "80+" or households[home].get(
                "care_level", 0
            )
            kinds = ["water_meter", *(["motion"] if at_risk else []), "home_meter"]
        else:
            kinds = [
                k
                for k, rate in (
                    ("water_meter", OTHER_WATER_METER_RATE),
                    ("home_meter", OTHER_HOME_METER_RATE),
                )
                if rng.random() < rate
            ]
        building, unit = home
        for kind in kinds:
            out.append(
                {
                    "id": f"{_PREFIX[kind]}-{building}-{unit}",
                    "kind": kind,
                    "metrics": list(CARE_METRICS[kind]),
                    "building": building,
                    "storey": storeys[home],
                    "unit": unit,
                }
            )
    return out


def care_devices_without_units(
    hosts: Iterable[tuple[str, int, int]], seed: int
) -> list[dict[str, Any]]:
    """Meters for a real city model's homes, which have no units (hence no known
    household and no daily check): ``hosts`` are ``(building, storeys, homes)``,
    homes are tagged like ``simulators.device_plan``'s (``s<storey>-h<n>``)."""
    rng = random.Random(f"care-devices/{seed}")
    out: list[dict[str, Any]] = []
    for building, storeys, homes in hosts:
        per = max(storeys, 1)
        for n in range(homes):
            storey = 1 + n % per
            tag = f"s{storey}-h{n // per + 1}"
            for kind, rate in (
                ("water_meter", OTHER_WATER_METER_RATE),
                ("home_meter", OTHER_HOME_METER_RATE),
            ):
                if rng.random() < rate:
                    out.append(
                        {
                            "id": f"{_PREFIX[kind]}-{building}-{tag}",
                            "kind": kind,
                            "metrics": list(CARE_METRICS[kind]),
                            "building": building,
                            "storey": storey,
                        }
                    )
    return out
