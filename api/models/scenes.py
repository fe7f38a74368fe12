"""Scene trends (``GET …/scenes/…``): aggregates per period, never a device's readings.

Every trend names its periods (`periods`: the start of each local hour, day
or month, oldest first, the last one still filling) and gives each series as
one value per period.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import ConfigDict, Field

from api.models.common import ApiModel

Span = Literal["24h", "30d", "12mo"]
Series = list[float | None]


class TrendBase(ApiModel):
    model_config = ConfigDict(extra="forbid", validate_by_name=True, serialize_by_alias=True)

    community: str
    unit: Literal["hour", "day", "month"]
    start: datetime = Field(alias="from")
    end: datetime = Field(alias="to")
    periods: list[datetime]


class EmissionFactor(ApiModel):
    kg_co2e_per_kwh: float
    source: str


class EnergySeries(ApiModel):
    grid_kwh: Series
    pv_kwh: Series
    self_consumed_kwh: Series | None  # null: no PV inverter reports its export
    carbon_kg: Series
    avoided_kg: Series


class EnergyTotals(ApiModel):
    grid_kwh: float | None
    pv_kwh: float | None
    self_consumed_kwh: float | None
    self_consumption_rate: float | None
    carbon_kg: float | None
    avoided_kg: float | None


class BuildingEnergy(EnergyTotals):
    id: str
    name: str | None
    floor_area_m2: float | None
    kwh_per_m2: float | None
    kg_co2e_per_m2: float | None
    rank: int | None  # 1 = most energy per m²
    series: EnergySeries | None = None  # in a building's own trend


class StoreyEnergy(ApiModel):
    index: int
    grid_kwh: float | None
    series: Series


class HomeEnergy(ApiModel):
    unit: str | None
    storey: int | None
    grid_kwh: float | None


class EnergyTrend(TrendBase):
    building: str | None
    emission_factor: EmissionFactor
    meters: int
    series: EnergySeries
    totals: EnergyTotals
    buildings: list[BuildingEnergy]
    storeys: list[StoreyEnergy] | None = None
    homes: list[HomeEnergy] | None = None


class LotTrend(ApiModel):
    id: str
    capacity: int | None
    occupancy: Series  # mean share of spaces taken, 0–1


class ChargersTrend(ApiModel):
    total: int
    available: int
    charging: int
    out_of_service: int
    availability: Series  # mean share of chargers free
    sessions: Series
    energy_kwh: Series


class GatesTrend(ApiModel):
    count: int
    entries: Series
    exits: Series


class TrafficTrend(TrendBase):
    lots: list[LotTrend]
    chargers: ChargersTrend
    gates: GatesTrend


class AlarmTrend(TrendBase):
    building: str | None
    scene: str
    by_severity: dict[str, list[int]]
    total: list[int]


class GovernanceTrend(TrendBase):
    building: str | None
    reported: list[int]
    closed: list[int]
