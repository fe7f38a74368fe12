"""The low-carbon scene's figures: energy, PV, carbon and intensity of buildings.

Inputs are each meter's usage on a grid of periods (hours, days or months),
already turned from cumulative counters into per-period amounts by
:mod:`twin.scenes.counters`. Which meter counts where:

* ``power_meter`` — a building's incoming supply from the grid (or, with no
  building, a site supply such as street lights): the building's grid energy;
* ``home_meter`` — one home's supply from the grid: the home's and its
  storey's energy; a building without a ``power_meter`` gets the sum of its
  homes (a building with one is not counted twice);
* ``pv_inverter`` — ``energy_kwh`` generated, ``export_kwh`` fed back into
  the grid; what was generated and not exported was used on site
  (self-consumption), invisible to the supply meters.

Carbon (kg CO₂e) is grid energy × the grid emission factor: by default the
national average of China's Ministry of Ecology and Environment and National
Bureau of Statistics for 2023, 0.5306 kg CO₂/kWh (announced in January 2026);
PV avoids generation × the factor. Intensity is per m² of floor area from the
twin: footprint area × above-ground storeys.

>>> ranking({"a": 10.0, "b": 30.0, "c": None})
{'b': 1, 'a': 2, 'c': None}
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np

from twin.scenes.counters import FloatArray

DEFAULT_EMISSION_FACTOR: Final = 0.5306  # kg CO2 / kWh, MEE & NBS, year 2023
EMISSION_FACTOR_SOURCE: Final = "MEE/NBS 2023 national average grid factor"

# Meter kinds and the counter metrics read from them.
SUPPLY_KINDS: Final = ("power_meter", "home_meter")
PV_KIND: Final = "pv_inverter"
ENERGY_METRIC: Final = "energy_kwh"
EXPORT_METRIC: Final = "export_kwh"


@dataclass(frozen=True, slots=True)
class Meter:
    """A meter's place in the twin and its usage per period (kWh)."""

    id: str
    kind: str
    building: str | None
    storey: int | None
    unit: str | None
    usage: FloatArray  # grid energy, or PV generation
    export: FloatArray | None = None  # PV only: fed into the grid


@dataclass(frozen=True, slots=True)
class EnergySeries:
    """Per-period figures of one building or the whole community (kWh, kg)."""

    grid_kwh: FloatArray
    pv_kwh: FloatArray
    self_consumed_kwh: FloatArray | None  # None: no PV meter reports its export
    carbon_kg: FloatArray
    avoided_kg: FloatArray

    def totals(self) -> dict[str, float | None]:
        """Sums over the periods, and the share of PV used on site.

        >>> s = energy_series(np.array([1.0, 3.0]), np.array([0.0, 2.0]), np.array([0.0, 0.5]), 0.5)
        >>> s.totals()  # doctest: +NORMALIZE_WHITESPACE
        {'grid_kwh': 4.0, 'pv_kwh': 2.0, 'self_consumed_kwh': 1.5,
         'self_consumption_rate': 0.75, 'carbon_kg': 2.0, 'avoided_kg': 1.0}
        """
        pv = float(self.pv_kwh.sum())
        own = None if self.self_consumed_kwh is None else float(self.self_consumed_kwh.sum())
        return {
            "grid_kwh": float(self.grid_kwh.sum()),
            "pv_kwh": pv,
            "self_consumed_kwh": own,
            "self_consumption_rate": None if own is None or pv <= 0 else own / pv,
            "carbon_kg": float(self.carbon_kg.sum()),
            "avoided_kg": float(self.avoided_kg.sum()),
        }


def energy_series(
    grid: FloatArray, pv: FloatArray, export: FloatArray | None, factor: float
) -> EnergySeries:
    """Carbon and self-consumption from grid energy, PV generation and export.

    Self-consumption is generation minus export per period, never below zero
    (an export counter read late can run ahead of generation for a period).

    >>> s = energy_series(np.array([2.0]), np.array([1.0]), np.array([1.5]), 0.5306)
    >>> s.self_consumed_kwh, round(float(s.carbon_kg[0]), 4), round(float(s.avoided_kg[0]), 4)
    (array([0.]), 1.0612, 0.5306)
    """
    if factor < 0:
        raise ValueError("the emission factor must be ≥ 0")
    own = None if export is None else np.maximum(0.0, pv - export)
    return EnergySeries(grid, pv, own, grid * factor, pv * factor)


def _sum(arrays: Iterable[FloatArray], count: int) -> FloatArray:
    out = np.zeros(count, dtype=np.float64)
    for a in arrays:
        out += a
    return out


def grid_energy_by_building(meters: Sequence[Meter], count: int) -> dict[str | None, FloatArray]:
    """Grid energy per building (None: supply meters outside any building).

    >>> one = np.ones(2)
    >>> ms = [Meter("pm", "power_meter", "b1", -1, None, one * 10),
    ...       Meter("h1", "home_meter", "b1", 2, "101", one),
    ...       Meter("h2", "home_meter", "b2", 1, "1", one * 2),
    ...       Meter("pub", "power_meter", None, None, None, one * 3)]
    >>> {b: v.tolist() for b, v in grid_energy_by_building(ms, 2).items()}
    {'b1': [10.0, 10.0], None: [3.0, 3.0], 'b2': [2.0, 2.0]}
    """
    mains: dict[str | None, list[FloatArray]] = {}
    homes: dict[str | None, list[FloatArray]] = {}
    for m in meters:
        if m.kind == "power_meter":
            mains.setdefault(m.building, []).append(m.usage)
        elif m.kind == "home_meter":
            homes.setdefault(m.building, []).append(m.usage)
    out = {b: _sum(v, count) for b, v in mains.items()}
    for b, v in homes.items():
        if b not in out:
            out[b] = _sum(v, count)
    return out


def pv_by_building(
    meters: Sequence[Meter], count: int
) -> dict[str | None, tuple[FloatArray, FloatArray | None]]:
    """PV generation and export per building (export None unless every inverter reports it)."""
    gen: dict[str | None, list[FloatArray]] = {}
    exp: dict[str | None, list[FloatArray | None]] = {}
    for m in meters:
        if m.kind == PV_KIND:
            gen.setdefault(m.building, []).append(m.usage)
            exp.setdefault(m.building, []).append(m.export)
    out: dict[str | None, tuple[FloatArray, FloatArray | None]] = {}
    for b, g in gen.items():
        ex = exp[b]
        known = [e for e in ex if e is not None]
        out[b] = (_sum(g, count), _sum(known, count) if len(known) == len(ex) else None)
    return out


def community_series(meters: Sequence[Meter], count: int, factor: float) -> EnergySeries:
    """The community's figures: every building's and the site's supply, all PV."""
    grid = _sum(grid_energy_by_building(meters, count).values(), count)
    pv = pv_by_building(meters, count)
    gen = _sum((g for g, _ in pv.values()), count)
    exports = [e for _, e in pv.values() if e is not None]
    export = _sum(exports, count) if pv and len(exports) == len(pv) else None
    return energy_series(grid, gen, export, factor)


def building_series(
    meters: Sequence[Meter], building: str, count: int, factor: float
) -> EnergySeries:
    """One building's figures (its meters only)."""
    mine = [m for m in meters if m.building == building]
    grid = grid_energy_by_building(mine, count).get(building, np.zeros(count))
    gen, export = pv_by_building(mine, count).get(building, (np.zeros(count), None))
    return energy_series(grid, gen, export, factor)


def by_storey(meters: Sequence[Meter], count: int) -> dict[int, FloatArray]:
    """Home meters' energy per storey (shared supplies have no storey of their own).

    >>> one = np.ones(1)
    >>> ms = [Meter("a", "home_meter", "b", 2, "201", one),
    ...       Meter("b", "home_meter", "b", 2, "202", one),
    ...       Meter("c", "home_meter", "b", 3, "301", one * 4),
    ...       Meter("pm", "power_meter", "b", -1, None, one)]
    >>> {k: v.tolist() for k, v in by_storey(ms, 1).items()}
    {2: [2.0], 3: [4.0]}
    """
    groups: dict[int, list[FloatArray]] = {}
    for m in meters:
        if m.kind == "home_meter" and m.storey is not None:
            groups.setdefault(m.storey, []).append(m.usage)
    return {s: _sum(v, count) for s, v in sorted(groups.items())}


def polygon_area(footprint: Mapping[str, Any]) -> float:
    """Area (m²) of a GeoJSON Polygon or MultiPolygon in local metres, holes removed.

    >>> polygon_area({"type": "Polygon", "coordinates": [[[0, 0], [30, 0], [30, 12], [0, 12]]]})
    360.0
    >>> square = [[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]]
    >>> hole = [[2, 2], [2, 4], [4, 4], [4, 2], [2, 2]]
    >>> polygon_area({"type": "MultiPolygon", "coordinates": [[square, hole], [square]]})
    196.0
    """
    kind = footprint.get("type")
    coords = footprint.get("coordinates") or []
    polygons = [coords] if kind == "Polygon" else coords if kind == "MultiPolygon" else []
    total = 0.0
    for rings in polygons:
        for n, ring in enumerate(rings):
            xy = np.asarray(ring, dtype=np.float64)[:, :2]
            if len(xy) < 3:
                continue
            x, y = xy[:, 0], xy[:, 1]
            area = abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))) / 2.0
            total += area if n == 0 else -area
    return total


def floor_area(footprint: Mapping[str, Any], storeys_above_ground: int) -> float | None:
    """Gross floor area: footprint × above-ground storeys; None when unknown.

    >>> floor_area({"type": "Polygon", "coordinates": [[[0, 0], [30, 0], [30, 12], [0, 12]]]}, 18)
    6480.0
    >>> floor_area({"type": "Polygon", "coordinates": []}, 3) is None
    True
    """
    area = polygon_area(footprint) * max(storeys_above_ground, 1)
    return area if area > 0 else None


def intensity(amount: float, area: float | None) -> float | None:
    """``amount`` per m²; None without a floor area.

    >>> intensity(648.0, 6480.0), intensity(1.0, None)
    (0.1, None)
    """
    return None if area is None or area <= 0 else amount / area


def ranking(values: Mapping[str, float | None]) -> dict[str, int | None]:
    """Rank 1 = the highest value (the most energy per m²); ties by id; None unranked."""
    known = sorted(
        ((k, v) for k, v in values.items() if v is not None), key=lambda kv: (-kv[1], kv[0])
    )
    out: dict[str, int | None] = {k: n for n, (k, _) in enumerate(known, start=1)}
    out.update({k: None for k, v in values.items() if v is None})
    return out
