"""Closed-loop KPIs over a period (``twin.incidents.kpis``)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import ConfigDict, Field

from api.models.common import ApiModel

GroupBy = Literal["grid", "building", "category"]


class KpiGroup(ApiModel):
    """KPIs of incidents reported in the period, for one group (``key`` null: the
    whole community in ``total``, or incidents without a grid/building/category)."""

    key: str | None
    reported: int
    closed: int
    cancelled: int
    open: int
    closed_loop_rate: float | None = Field(
        ge=0, le=1, description="closed ÷ (reported − cancelled); null when nothing counts"
    )
    respond_median_s: float | None = Field(description="reported → first accepted")
    respond_p90_s: float | None
    close_median_s: float | None = Field(description="reported → closed")
    close_p90_s: float | None
    overdue: int = Field(description="missed a respond or resolve deadline, as of `as_of`")
    reopened: int
    reopen_rate: float | None = Field(ge=0, le=1, description="reopened ÷ ever resolved")
    satisfaction_mean: float | None = Field(ge=1, le=5)
    satisfaction_count: int


class KpisPublic(ApiModel):
    model_config = ConfigDict(extra="forbid", validate_by_name=True, serialize_by_alias=True)

    community: str
    start: datetime = Field(alias="from", description="inclusive: reported at or after")
    end: datetime = Field(alias="to", description="exclusive")
    as_of: datetime
    by: GroupBy | None
    total: KpiGroup
    groups: list[KpiGroup] = Field(description="one per key when `by` is given, null key last")


class SatisfactionPublic(ApiModel):
    key: str | None = Field(default=None, description="the grid (null: outside every grid)")
    mean: float | None = Field(ge=1, le=5, description="mean rating 1–5; null without any")
    count: int


class SatisfactionKpisPublic(ApiModel):
    """Ratings residents gave when they confirmed (closed) incidents, by closing time."""

    community: str
    as_of: datetime
    timezone: str = Field(description="the day of `today` is in this zone")
    today: SatisfactionPublic
    last_30_days: SatisfactionPublic
    by_grid: list[SatisfactionPublic] = Field(description="over the 30 days, null key last")
